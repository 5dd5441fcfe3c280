# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wiring between AnsibleModule and the pipeline: the one way modules run. (Each kind's argument spec
is in its handler's file, _kinds/<kind>.py, so a module's payload carries only its own kind.)"""

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
