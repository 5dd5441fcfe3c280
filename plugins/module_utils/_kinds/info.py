# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vif_info: facts of every kind in a namespace, read-only (facts.gather), and optionally the
reflective relay of some lower devices."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
from ansible_collections.hostnet.vif.plugins.module_utils import _facts as facts
from ansible_collections.hostnet.vif.plugins.module_utils import _relay as relay
from ansible_collections.hostnet.vif.plugins.module_utils._apply import HostLock
from ansible_collections.hostnet.vif.plugins.module_utils._model import check_ifname, check_seconds
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import module_options
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler


@dataclasses.dataclass
class InfoTask:
    params: dict
    lock_timeout: float


class InfoHandler(Handler):
    read_only = True
    takes_lock = False  # it writes nothing; one dump is a consistent view

    def argument_spec(self):
        # lock_timeout as every module has it (the reflective_relay probe takes the host lock)
        return module_options(
            lower={'type': 'str'},
            kinds={'type': 'list', 'elements': 'str', 'choices': list(facts.KINDS), 'default': list(facts.KINDS)},
            reflective_relay={'type': 'list', 'elements': 'str'},
            probe_in_check_mode={'type': 'bool', 'default': False},
        )

    def build(self, params):
        lock_timeout = params.get('lock_timeout')  # taken only for the reflective_relay probe
        lock_timeout = check_seconds(120 if lock_timeout is None else lock_timeout, 'lock_timeout', 0, 86400)
        if params.get('lower') is not None:
            check_ifname(params['lower'], 'lower')
        for position, lower in enumerate(params.get('reflective_relay') or []):  # before the first netlink request
            check_ifname(lower, 'reflective_relay[%d]' % position)
        return InfoTask(params, lock_timeout)

    def observe(self, kernel, netns, task, check_mode):
        params = task.params
        vif = facts.gather(kernel, netns, params.get('kinds') or facts.KINDS, params.get('lower'))
        if params.get('reflective_relay'):
            # opt-in: the probe creates temporary links (never in the user's namespace)
            with HostLock(task.lock_timeout):
                vif['reflective_relay'] = relay.run_relays(kernel, netns, {
                    'lowers': params['reflective_relay'], 'expect': 'any', 'method': 'auto',
                    'probe_in_check_mode': params.get('probe_in_check_mode')}, check_mode)
        return {'changed': False, 'vif': vif}


INFO = InfoHandler()
