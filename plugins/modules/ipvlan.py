#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ipvlan
short_description: Manage ipvlan links (modes l2, l3, l3s; flags bridge, private, vepa)
version_added: 0.2.0
description:
  - Creates, changes and deletes ipvlan links on a lower device, one per task or many (O(links)).
  - An ipvlan is a virtual interface stacked on a lower device that, unlike macvlan, has no MAC address of its
    own - it uses the lower device's, so an uplink or cloud port that accepts one MAC address still carries many
    endpoints. The lower device hands traffic to the links by IP address.
  - O(mode) and O(flag) belong to the lower device and are shared by every ipvlan and ipvtap link on it; the
    module refuses a task that would change them under a link it does not list.
  - Validates everything before touching the kernel, plans the changes (shown by check mode and C(--diff)),
    applies them all or none, and reads them back before reporting success. A second run with the same
    arguments changes nothing.
author:
  - hostnet.vif contributors (@hostnet)
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.ipvlan
  - hostnet.vif.task
options:
  links:
    description:
      - Several links in one task, each a dictionary of per-link options.
      - Top-level O(lower), O(mode), O(flag), O(mtu), O(state), O(admin_state) serve as defaults for entries
        that do not set them, their own defaults included.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name:
        description: Interface name of the link (each entry needs one).
        type: str
      lower:
        description: The lower device (default O(lower)).
        type: str
      mode:
        description: V(l2), V(l3) or V(l3s) (default O(mode)); every link on one lower device has the same one.
        type: str
        choices: [l2, l3, l3s]
      flag:
        description:
          - V(bridge), V(private) or V(vepa) (default O(flag)); every link on one lower device has the same one.
        type: str
        choices: [bridge, private, vepa]
      mtu:
        description: MTU of the link (default O(mtu)).
        type: int
      state:
        description: V(present) or V(absent) (default O(state)).
        type: str
        choices: [present, absent]
      admin_state:
        description: V(up) or V(down) (default O(admin_state)).
        type: str
        choices: [up, down]
seealso:
  - module: hostnet.vif.ipvtap
  - module: hostnet.vif.macvlan
  - module: hostnet.vif.reflective_relay
  - ref: ansible_collections.hostnet.vif.docsite.modes
    description: ipvlan modes and flags, and how they differ from macvlan.
'''

EXAMPLES = r'''
- name: Two containers' endpoints on eth1 that reach each other inside the host
  hostnet.vif.ipvlan:
    lower: eth1
    mode: l2
    flag: bridge
    links:
      - name: iv0
      - name: iv1

- name: Routed endpoints (l3) that never talk to each other, and nothing else of this kind on eth1
  hostnet.vif.ipvlan:
    lower: eth1
    mode: l3
    flag: private
    purge: true
    links:
      - name: iv-a
      - name: iv-b
        mtu: 1400

- name: Inside a network namespace
  hostnet.vif.ipvlan:
    name: iv0
    lower: veth0
    mode: l2
    netns: tenant-a

- name: Remove a link
  hostnet.vif.ipvlan:
    name: iv1
    state: absent
'''

RETURN = r'''
actions:
  description: The changes made (or, in check mode, that would be made), one C(ip)-style line each.
  returned: always
  type: list
  elements: str
  sample: ["ip link add link eth1 name iv0 type ipvlan mode l2 bridge; ip link set iv0 up"]
links:
  description: The links the task declares present, as the kernel reports them after the task
    (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: iv0, kind: ipvlan, index: 9, lower: eth1, mode: l2, flag: bridge, mac: "52:54:00:12:34:56", mtu: 1500,
       admin_state: up, oper_state: up, netns: null}
  contains:
    name: {description: "Interface name.", type: str, returned: always, sample: iv0}
    kind: {description: "V(ipvlan).", type: str, returned: always, sample: ipvlan}
    index: {description: "Interface index in its namespace (not known for a link check mode would create).", type: int,
            returned: always, sample: 9}
    lower: {description: "Lower device.", type: str, returned: always, sample: eth1}
    mode: {description: "Mode (the lower device's).", type: str, returned: always, sample: l2}
    flag: {description: "Flag (the lower device's) - bridge, private or vepa.", type: str, returned: always,
           sample: bridge}
    mac: {description: "MAC address (the lower device's).", type: str, returned: always, sample: "52:54:00:12:34:56"}
    mtu: {description: "MTU.", type: int, returned: always, sample: 1500}
    admin_state: {description: "V(up) or V(down).", type: str, returned: always, sample: up}
    oper_state: {description: "Operational state as the kernel reports it (up, down, lowerlayerdown...).",
                 type: str, returned: always, sample: up}
    netns: {description: "Namespace, or null for the module's own.", type: str, returned: always, sample: tenant-a}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.ipvl import IPVLAN


def main():
    module = VifModule(argument_spec=IPVLAN.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('name', 'links')])
    run(module, IPVLAN)


if __name__ == '__main__':
    main()
