# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reflective relay: observed per lower device, never changed (module_utils/_relay.py holds the
probe and LLDP)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils import _relay as relay
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler


class RelayHandler(Handler):
    read_only = True

    def build(self, params):
        relay.build_relay_specs(params)  # before the first netlink request (run_relays builds the same specs)
        return params

    def observe(self, kernel, netns, task, check_mode):
        """Fails where an observation contradicts ``expect``."""
        return {'changed': False, 'relays': relay.run_relays(kernel, netns, task, check_mode)}


RELAY = RelayHandler()
