#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: macvlan
short_description: Manage macvlan links in every mode (vepa, bridge, private, passthru, source)
version_added: 0.1.0
description:
  - Creates, changes and deletes macvlan links on a lower device, one per task or many (O(links)).
  - A macvlan is a virtual interface with its own MAC address stacked on a lower device; what links on the
    same lower device can reach of each other depends on the O(mode).
  - Validates everything before touching the kernel, plans the changes (shown by check mode and C(--diff)),
    applies them all or none, and reads them back before reporting success. A second run with the same
    arguments changes nothing.
author:
  - hostnet.vif contributors (@hostnet)
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.links
  - hostnet.vif.links.entries
  - hostnet.vif.task
seealso:
  - module: hostnet.vif.macvtap
  - module: hostnet.vif.hairpin
  - module: hostnet.vif.reflective_relay
  - ref: ansible_collections.hostnet.vif.docsite.modes
    description: What each mode does, which endpoints reach each other, and when to use it.
'''

EXAMPLES = r'''
- name: A bridge-mode macvlan for the host to reach its guests
  hostnet.vif.macvlan:
    name: mv-host
    lower: eth1
    mode: bridge

- name: Three VEPA endpoints on eth1, and nothing else of this kind on eth1
  hostnet.vif.macvlan:
    lower: eth1
    mode: vepa
    purge: true
    links:
      - name: mv0
        mac: 02:00:00:00:01:00
      - name: mv1
      - name: mv2
        mtu: 1400

- name: Accept frames only from two known senders
  hostnet.vif.macvlan:
    name: mv-src
    lower: eth1
    mode: source
    source_macs:
      - 02:00:00:00:aa:01
      - 02:00:00:00:aa:02

- name: Inside a network namespace
  hostnet.vif.macvlan:
    name: mv0
    lower: veth0
    mode: private
    netns: tenant-a

- name: Remove a link
  hostnet.vif.macvlan:
    name: mv2
    state: absent
'''

RETURN = r'''
actions:
  description: The changes made (or, in check mode, that would be made), one C(ip)-style line each.
  returned: always
  type: list
  elements: str
  sample: ["ip link add link eth1 name mv0 type macvlan mode bridge; ip link set mv0 up"]
links:
  description: The links the task declares present, as the kernel reports them after the task
    (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: mv0, kind: macvlan, index: 7, lower: eth1, mode: bridge, mac: "02:00:00:00:01:00", mtu: 1500,
       admin_state: up, oper_state: up, nopromisc: false, source_macs: [], netns: null}
  contains:
    name: {description: "Interface name.", type: str, returned: always, sample: mv0}
    kind: {description: "V(macvlan).", type: str, returned: always, sample: macvlan}
    index: {description: "Interface index in its namespace (not known for a link check mode would create).", type: int,
            returned: always, sample: 7}
    lower: {description: "Lower device.", type: str, returned: always, sample: eth1}
    mode: {description: "Mode.", type: str, returned: always, sample: bridge}
    mac: {description: "MAC address.", type: str, returned: always, sample: "02:00:00:00:01:00"}
    mtu: {description: "MTU.", type: int, returned: always, sample: 1500}
    admin_state: {description: "V(up) or V(down).", type: str, returned: always, sample: up}
    oper_state: {description: "Operational state as the kernel reports it (up, down, lowerlayerdown...).",
                 type: str, returned: always, sample: up}
    nopromisc: {description: "Whether the passthru nopromisc flag is set.", type: bool, returned: always,
                sample: false}
    source_macs: {description: "Allowed source MACs (mode source; empty in the other modes).", type: list,
                  elements: str, returned: always, sample: ["02:00:00:00:aa:01", "02:00:00:00:aa:02"]}
    netns: {description: "Namespace, or null for the module's own.", type: str, returned: always, sample: tenant-a}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.macv import MACVLAN


def main():
    module = VifModule(argument_spec=MACVLAN.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('name', 'links')])
    run(module, MACVLAN)


if __name__ == '__main__':
    main()
