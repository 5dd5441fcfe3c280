#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: ipvtap
short_description: Manage ipvtap links (ipvlan with a character device for QEMU) and their character devices
version_added: 0.2.0
description:
  - Creates, changes and deletes ipvtap links, one per task or many (O(links)). An ipvtap is an ipvlan whose
    frames a user-space program (usually QEMU) reads and writes through the character device C(/dev/tapN),
    as for macvtap; it uses its lower device's MAC address, which suits uplinks that accept only one MAC
    address per port.
  - The character device is part of the link; O(owner), O(group) and O(device_mode) are applied to it and
    verified, and re-applied when the link has to be recreated. Its major:minor is read from sysfs inside the
    link's own namespace; when C(/dev/tapN) belongs to another namespace's device, the module makes
    C(/dev/hostnet-vif/NETNS/NAME) and returns that path (as M(hostnet.vif.macvtap) does).
  - Same guarantees as M(hostnet.vif.ipvlan) - validation first, plan, check mode and C(--diff),
    all or nothing, read back, idempotent.
author:
  - hostnet.vif contributors (@hostnet)
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.ipvlan
  - hostnet.vif.task
  - hostnet.vif.ipvlan.device
options:
  links:
    description:
      - Several links in one task, each a dictionary of per-link options.
      - Top-level O(lower), O(mode), O(flag), O(mtu), O(state), O(admin_state), O(owner), O(group) and
        O(device_mode) serve as defaults for entries that do not set them, their own defaults included.
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
      owner:
        description: Owner of the link's character device (default O(owner)).
        type: str
      group:
        description: Group of the character device (default O(group)).
        type: str
      device_mode:
        description: Permission bits of the character device (default O(device_mode)).
        type: raw
seealso:
  - module: hostnet.vif.ipvlan
  - module: hostnet.vif.macvtap
  - ref: ansible_collections.hostnet.vif.docsite.modes
    description: ipvlan modes and flags, and how they differ from macvlan.
'''

EXAMPLES = r'''
- name: An ipvtap for a VM run by the libvirt-qemu user
  hostnet.vif.ipvtap:
    name: vm1-ivt
    lower: eth1
    mode: l2
    flag: bridge
    owner: libvirt-qemu
    group: kvm
    device_mode: '0660'
  register: ivt

- name: Hand the device to QEMU
  ansible.builtin.debug:
    msg: "-netdev tap,id=n0,fd=3 3<>{{ ivt.links[0].device.path }}"
'''

RETURN = r'''
actions:
  description: The changes made (or, in check mode, that would be made), one C(ip)-style line each.
  returned: always
  type: list
  elements: str
  sample: ["ip link add link eth1 name vm1-ivt type ipvtap mode l2 bridge; ip link set vm1-ivt up",
           "chown 64055:104 && chmod 0660 <character device of vm1-ivt>"]
links:
  description: The links the task declares present, as the kernel reports them after the task
    (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: vm1-ivt, kind: ipvtap, index: 9, lower: eth1, mode: l2, flag: bridge, mac: "52:54:00:12:34:56", mtu: 1500,
       admin_state: up, oper_state: up, netns: null,
       device: {path: /dev/tap9, major_minor: "245:1", owner: 64055, group: 104, mode: "0660"}}
  contains:
    name: {description: "Interface name.", type: str, returned: always, sample: vm1-ivt}
    kind: {description: "V(ipvtap).", type: str, returned: always, sample: ipvtap}
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
    device:
      description: The character device.
      returned: always
      type: dict
      sample: {path: /dev/tap9, major_minor: "245:1", owner: 64055, group: 104, mode: "0660"}
      contains:
        path: {description: "Path of the device node to open.", type: str, returned: always, sample: /dev/tap9}
        major_minor: {description: "Device number as read from sysfs.", type: str, returned: always, sample: "245:1"}
        owner: {description: "Owner uid.", type: int, returned: always, sample: 64055}
        group: {description: "Group gid.", type: int, returned: always, sample: 104}
        mode: {description: "Permission bits.", type: str, returned: always, sample: "0660"}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.ipvl import IPVTAP


def main():
    module = VifModule(argument_spec=IPVTAP.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('name', 'links')])
    run(module, IPVTAP)


if __name__ == '__main__':
    main()
