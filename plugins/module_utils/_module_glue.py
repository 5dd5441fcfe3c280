# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wiring between AnsibleModule and the pipeline: argument specs and the one way modules run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils._apply import StopSignals
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils._pipeline import run as run_pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import hairpin, ipvl, macv, sriov, tap
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import argument_spec

_TASK = dict(
    netns=dict(type='str'),
    lock_timeout=dict(type='float', default=120),
)


def link_argument_spec(kind):
    """macvlan / macvtap / ipvlan / ipvtap: a link's fields at the top level and as links: entries (its table)."""
    spec = argument_spec((ipvl if kind in ipvl.HANDLERS else macv).fields(kind), 'links')
    spec.update(_TASK)
    spec['purge'] = dict(type='bool', default=False)
    return spec


def hairpin_argument_spec():
    spec = argument_spec(hairpin.PORT_FIELDS, 'ports')
    spec.update(_TASK)
    return spec


def tap_argument_spec():
    spec = argument_spec(tap.TAP_FIELDS, 'taps')
    spec.update(_TASK)
    return spec


def info_argument_spec():
    kinds = ['macvlan', 'macvtap', 'ipvlan', 'ipvtap', 'tap', 'bridge_port', 'sriov']
    # lock_timeout too, so module_defaults for the collection's action group fits every module
    # (the reflective_relay probe takes the host lock).
    spec = dict(_TASK)
    spec.update(lower=dict(type='str'),
                kinds=dict(type='list', elements='str', choices=kinds, default=kinds),
                reflective_relay=dict(type='list', elements='str'),
                probe_in_check_mode=dict(type='bool', default=False))
    return spec


def sriov_argument_spec():
    spec = argument_spec(sriov.PF_FIELDS, 'pfs')
    spec.update(_TASK)
    spec.update(
        wait_timeout=dict(type='float', default=60),
        persist_dir=dict(type='path', default='/etc/systemd/network'),
    )
    return spec


def relay_argument_spec():
    spec = dict(_TASK)
    spec.update(
        lower=dict(type='str'),
        # entries: a device name, or a dict with name, expect, method (checked by relay.build_relay_specs)
        lowers=dict(type='list', elements='raw'),
        expect=dict(type='str', choices=['required', 'forbidden', 'any'], default='any'),
        method=dict(type='str', choices=['probe', 'lldp', 'auto'], default='auto'),
        frames=dict(type='int', default=5),
        timeout=dict(type='float', default=1.0),
        probe_in_check_mode=dict(type='bool', default=False),
    )
    return spec


class VifModule(AnsibleModule):
    """AnsibleModule whose refusal of a list entry names the entry and the value: Ansible's own
    message says "found in 'links'" but not which of a thousand entries."""

    def __init__(self, **kwargs):
        self._validating = True
        super().__init__(**kwargs)
        self._validating = False

    def _load_params(self):
        super()._load_params()
        self._as_given = dict(self.params)  # validation replaces list values with checked copies

    def fail_json(self, msg, **kwargs):
        if getattr(self, '_validating', False):
            found = bad_entry(self.argument_spec, getattr(self, '_as_given', {}))
            if found:
                msg, kwargs = found[0], dict(kwargs, field=found[1], value=found[2])
        super().fail_json(msg=msg, **kwargs)


def bad_entry(spec, params, where=''):
    """(message, field, value) for the first entry value of a list option with suboptions that
    Ansible's own validation refuses, or None."""
    for key, rules in spec.items():
        entries, options = params.get(key), rules.get('options')
        if options is None or entries is None:
            continue
        if not isinstance(entries, list):  # Ansible splits text into a list, and key=value text into a dict
            errors = ArgumentSpecValidator({key: {'type': 'list', 'elements': 'dict'}}).validate(
                {key: entries}).error_messages
            if errors:
                return ("%s%s=%r is invalid: expected a list of dictionaries (%s)" % (where, key, entries, errors[0]),
                        where + key, entries)
            continue
        for position, entry in enumerate(entries):
            at = '%s%s[%d]' % (where, key, position)
            if not isinstance(entry, dict):
                return "%s=%r is invalid: each entry must be a dictionary of options" % (at, entry), at, entry
            for field, value in entry.items():
                if field not in options:
                    return ("%s: unknown option %s; valid options: %s" % (at, field, ', '.join(sorted(options))),
                            at, field)
                if options[field].get('options') is not None and isinstance(value, list):
                    continue  # its entries are named one by one below
                errors = ArgumentSpecValidator({field: options[field]}).validate({field: value}).error_messages
                if errors:
                    return ("%s.%s=%r is invalid: %s" % (at, field, value, errors[0]), '%s.%s' % (at, field), value)
            nested = bad_entry(options, entry, at + '.')
            if nested:
                return nested
    return None


def _give_up(msg):
    """The last resort of a stopped run whose kernel step never ended (StopSignals' grace): the
    failure goes out as the module's result and the process ends at once, releasing the host lock.
    No exception: raised inside pyroute2's event loop it would be lost, and the wait with it."""
    sys.stdout.write(json.dumps({'failed': True, 'msg': msg}) + '\n')
    sys.stdout.flush()
    os._exit(1)


def run(module, handler):
    """Run the pipeline with a module's handler and exit: fail_json with the error's fields on VifError."""
    if not kern.HAS_PYROUTE2:
        module.fail_json(msg=missing_required_lib('pyroute2'), exception=str(kern.PYROUTE2_IMPORT_ERROR))
    StopSignals.on_deadline = _give_up
    try:
        result = run_pipeline(handler, module.params, check_mode=module.check_mode, diff=module._diff)
    except VifError as exc:
        module.fail_json(**exc.to_result())
    except KeyboardInterrupt:  # SIGINT before the run held the host: nothing was changed
        module.fail_json(msg='interrupted by SIGINT before anything was changed')
    module.exit_json(**result)
