# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reflective relay: observed per lower device, never changed (module_utils/_relay.py holds the
probe and LLDP)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils import _relay as relay
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import module_options
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler


class RelayHandler(Handler):
    read_only = True

    def argument_spec(self):
        # lowers: entries are a device name or a dictionary (name, expect, method), so they stay 'raw' (Ansible's
        # suboptions need dictionaries) and _relay.build_relay_specs checks them
        return module_options(
            lower={'type': 'str'},
            lowers={'type': 'list', 'elements': 'raw'},
            expect={'type': 'str', 'choices': ['required', 'forbidden', 'any'], 'default': 'any'},
            method={'type': 'str', 'choices': ['probe', 'lldp', 'auto'], 'default': 'auto'},
            frames={'type': 'int', 'default': 5},
            timeout={'type': 'float', 'default': 1.0},
            probe_in_check_mode={'type': 'bool', 'default': False},
        )

    def build(self, params):
        relay.build_relay_specs(params)  # before the first netlink request (run_relays builds the same specs)
        return params

    def observe(self, kernel, netns, task, check_mode):
        """Fails where an observation contradicts ``expect``."""
        return {'changed': False, 'relays': relay.run_relays(kernel, netns, task, check_mode)}


RELAY = RelayHandler()
