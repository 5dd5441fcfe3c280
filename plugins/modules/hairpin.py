#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: hairpin
short_description: Turn hairpin mode on or off for Linux bridge ports
version_added: 0.1.0
description:
  - Sets hairpin mode (C(IFLA_BRPORT_MODE), C(ip link set PORT type bridge_slave hairpin on)) on ports of a
    Linux bridge. With hairpin on, the bridge may send a frame back out of the port it arrived on - the
    software form of the reflective relay that VEPA mode expects of the external switch.
  - One port per task (O(name)) or many (O(ports)); validation first, check mode and C(--diff),
    all or nothing, read back.
author:
  - hostnet.vif contributors (@hostnet)
options:
  name:
    description: A bridge port. Mutually exclusive with O(ports).
    type: str
  hairpin:
    description:
      - Hairpin on (V(true)) or off (V(false)) for O(name), and the default for O(ports) entries.
    type: bool
    default: true
  ports:
    description: Several ports, each a dictionary with O(ports[].name) and optional O(ports[].hairpin).
    type: list
    elements: dict
    suboptions:
      name:
        description: The bridge port.
        type: str
        required: true
      hairpin:
        description: On or off for this port; the top-level O(hairpin) when omitted.
        type: bool
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.task
attributes:
  check_mode:
    support: full
    details: Reports the plan without changing anything.
  diff_mode:
    support: full
    details: Shows each touched port before and after.
  idempotent:
    support: full
  platform:
    details: Ports of a Linux bridge (C(bridge) in the kernel).
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
seealso:
  - module: hostnet.vif.macvlan
  - module: hostnet.vif.reflective_relay
  - ref: ansible_collections.hostnet.vif.docsite.reflective_relay
    description: Hairpin and reflective relay, what VEPA mode needs from the switch, and how it is proven.
'''

EXAMPLES = r'''
- name: Let the lab switch reflect frames back to the host's port
  hostnet.vif.hairpin:
    name: sw-host0
    hairpin: true
    netns: lab-switch

- name: Hairpin on for every VM port of br0 but one
  hostnet.vif.hairpin:
    hairpin: true
    ports:
      - name: vnet0
      - name: vnet1
      - name: vnet2
        hairpin: false
'''

RETURN = r'''
actions:
  description: The changes made, or that check mode would make, C(ip)-style.
  returned: always
  type: list
  elements: str
  sample: ["ip link set vnet0 type bridge_slave hairpin on"]
ports:
  description: The ports, with their bridge and hairpin state after the task.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "vnet0", "bridge": "br0", "hairpin": true, "netns": null}]
  contains:
    name: {description: "Port name.", type: str, returned: always, sample: vnet0}
    bridge: {description: "The bridge the port belongs to.", type: str, returned: always, sample: br0}
    hairpin: {description: "Hairpin state.", type: bool, returned: always, sample: true}
    netns: {description: "Namespace, or null.", type: str, returned: always, sample: lab-switch}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.hairpin import HAIRPIN


def main():
    module = VifModule(argument_spec=HAIRPIN.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('name', 'ports')], required_one_of=[('name', 'ports')])
    run(module, HAIRPIN)


if __name__ == '__main__':
    main()
