# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each option of a kind declared once, as one ``Field`` line in the kind's table.

From a table come: the module's argument spec (top-level options with their defaults, and the list
entries' ``options`` without defaults, so an entry that leaves a value out inherits the top-level
one), which options only an entry may carry, the check and normal form of each value, which
fields the kernel changes in place and which need the object recreated, and which fields the
read-back compares. Rules that join several fields (a flag that only one mode takes) and rules
against the kernel stay in the kind's handler."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils._errors import invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import to_bool, whole_number

IN_PLACE = 'in place'
RECREATE = 'recreate'


class Field:
    """One option.

    ``check(value, field, obj)`` returns the normal form of a given value or raises VifError;
    ``default`` is what a missing value becomes (also the documented default); ``entry``: list
    entries take it; ``per_entry``: with a list, only entries may set it (a top-level value would
    give every object the same one); ``change``: IN_PLACE, RECREATE, or None for what is not a
    property of the object (its name, state); ``verify``: the read-back compares it; ``options``:
    the table of a list of dictionaries' entries; ``required``: an entry must give it."""

    def __init__(self, name, type='str', check=None, default=None, choices=None, elements=None,
                 entry=True, per_entry=False, change=None, verify=None, options=None, required=False):
        self.name = name
        self.type = type
        self.check = check
        self.default = default
        self.choices = choices
        self.elements = elements
        self.entry = entry
        self.per_entry = per_entry
        self.change = change
        self.verify = change is not None if verify is None else verify
        self.options = options
        self.required = required

    def rules(self, in_entry=False):
        """This field as AnsibleModule argument-spec rules: at the top level with its default, in a
        list entry without (the entry inherits the top-level value) and with ``required``."""
        rules = {'type': self.type}
        if self.elements:
            rules['elements'] = self.elements
        if self.choices:
            rules['choices'] = list(self.choices)
        if not in_entry and self.default is not None:
            rules['default'] = self.default
        if in_entry and self.required:
            rules['required'] = True
        if self.options is not None:
            rules['options'] = dict((f.name, f.rules(in_entry=True)) for f in self.options)
        return rules

    def normalise(self, value, obj=None, field=None):
        """The value's normal form (the default when it is None); VifError naming the field if bad."""
        if value is None:
            return self.default  # the table's defaults are in normal form
        field = field or self.name
        if self.type == 'bool':
            value = to_bool(value, field, obj)
        elif self.type == 'list' and not isinstance(value, (list, tuple)):
            raise invalid(field, value, "expected a list", obj)
        elif self.choices is not None and value not in self.choices:
            raise invalid(field, value, "expected %s" % _one_of(self.choices), obj)
        elif self.type == 'str' and self.check is None and not isinstance(value, str):
            raise invalid(field, value, "expected a string", obj)  # a check says what it expects itself
        return self.check(value, field, obj) if self.check else value


def whole(low, high):
    """The check of a whole number from low to high."""
    def check(value, field, obj):
        return whole_number(value, field, low, high, obj)
    return check


def _one_of(choices):
    if len(choices) == 2:
        return '%s or %s' % tuple(choices)
    return 'one of %s' % ', '.join(choices)


def argument_spec(fields, list_key=None):
    """Top-level options from ``fields``; with ``list_key``, also the list whose entries take them."""
    spec = dict((f.name, f.rules()) for f in fields)
    if list_key:
        spec[list_key] = {'type': 'list', 'elements': 'dict',
                          'options': dict((f.name, f.rules(in_entry=True)) for f in fields if f.entry)}
    return spec


# What every module takes beside its kind's options (module_defaults for the action group fit all).
TASK_OPTIONS = (
    ('netns', {'type': 'str'}),
    ('lock_timeout', {'type': 'float', 'default': 120}),
)


def module_options(fields=(), list_key=None, **more):
    """A module's whole argument spec: its kind's fields (and their list, with ``list_key``), the
    options every module takes, and ``more``. A new dict each call: AnsibleModule may change it."""
    spec = argument_spec(fields, list_key)
    spec.update((name, dict(rules)) for name, rules in TASK_OPTIONS)
    spec.update(more)
    return spec


def names(fields, **having):
    """The names of the fields whose attributes have the given values, in table order."""
    return tuple(f.name for f in fields if all(getattr(f, k) == v for k, v in having.items()))


def normalise(fields, entry, obj=None, skip=()):
    """Every field of ``fields`` (but ``skip``) from ``entry``, checked and in normal form."""
    out = {}
    for field in fields:  # a plain loop: this runs once per entry, thousands of times in a big task
        if field.name not in skip:
            value = entry.get(field.name)
            out[field.name] = field.default if value is None else field.normalise(value, obj)
    return out
