# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wiring between AnsibleModule and the pipeline: argument specs and the one way modules run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import sys

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils._apply import StopSignals
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils._pipeline import run as run_pipeline

_PER_LINK = dict(
    name=dict(type='str'),
    lower=dict(type='str'),
    # These defaults are what model._link_spec puts in place of a missing value, so links: entries
    # that inherit them (model.task_entries) get the same link as before.
    mode=dict(type='str', choices=['vepa', 'bridge', 'private', 'passthru', 'source'], default='vepa'),
    mac=dict(type='str'),
    mtu=dict(type='int'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    admin_state=dict(type='str', choices=['up', 'down'], default='up'),
    source_macs=dict(type='list', elements='str'),
    nopromisc=dict(type='bool', default=False),
)
_DEVICE = dict(
    owner=dict(type='str'),
    group=dict(type='str'),
    device_mode=dict(type='raw'),
)
_TASK = dict(
    netns=dict(type='str'),
    lock_timeout=dict(type='float', default=120),
)


def link_argument_spec(kind):
    per_link = dict(_PER_LINK)
    if kind == 'macvtap':
        per_link.update(_DEVICE)
    spec = dict(per_link)
    spec.update(_TASK)
    spec['purge'] = dict(type='bool', default=False)
    # Entries are checked by model.build_link_specs (keys, types, values), which also lets them
    # inherit top-level values; AnsibleModule suboption defaults would defeat that inheritance.
    spec['links'] = dict(type='list', elements='dict')
    return spec


def hairpin_argument_spec():
    spec = dict(_TASK)
    spec.update(
        name=dict(type='str'),
        hairpin=dict(type='bool', default=True),  # model.build_hairpin_specs' own default for ports entries
        ports=dict(type='list', elements='dict',
                   options=dict(name=dict(type='str', required=True), hairpin=dict(type='bool'))),
    )
    return spec


def tap_argument_spec():
    # mode and the flags have no default: omitted means "as it is" for an existing device (model._tap_spec)
    per_tap = dict(name=dict(type='str'), state=dict(type='str', choices=['present', 'absent'], default='present'),
                   mode=dict(type='str', choices=['tap', 'tun']), owner=dict(type='str'), group=dict(type='str'),
                   multi_queue=dict(type='bool'), vnet_hdr=dict(type='bool'), packet_info=dict(type='bool'),
                   bridge=dict(type='str'), mtu=dict(type='int'), mac=dict(type='str'),
                   admin_state=dict(type='str', choices=['up', 'down'], default='up'))
    spec = dict(per_tap)
    spec.update(_TASK)
    spec['taps'] = dict(type='list', elements='dict')
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
    spec = dict(_TASK)
    spec.update(
        pf=dict(type='str'),
        num_vfs=dict(type='int'),
        drivers_autoprobe=dict(type='bool'),
        allow_reset=dict(type='bool', default=False),
        # entries are checked by model.build_sriov_specs (keys, types, ranges), like links: entries
        vfs=dict(type='list', elements='dict'),
        pfs=dict(type='list', elements='dict'),
        wait_timeout=dict(type='float', default=60),
        persist=dict(type='str', choices=['none', 'systemd-networkd'], default='none'),
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
