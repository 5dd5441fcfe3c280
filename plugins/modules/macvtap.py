#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: macvtap
short_description: Manage macvtap links and their character devices
version_added: 0.1.0
description:
  - Creates, changes and deletes macvtap links, one per task or many (O(links)). A macvtap is a macvlan whose
    frames a user-space program (usually QEMU) reads and writes through the character device C(/dev/tapN).
  - The character device is part of the link; O(owner), O(group) and O(device_mode) are applied to it and
    verified, and re-applied when the link has to be recreated.
  - The device's major:minor is read from sysfs inside the link's own namespace, so it is right even when
    links in two namespaces have the same interface index. C(/dev/tapN) is named after the interface
    index, so only one namespace's link can own that name; for a link whose C(/dev/tapN) belongs to another
    namespace's device, the module makes C(/dev/hostnet-vif/NETNS/NAME) and returns that path.
  - Same guarantees as M(hostnet.vif.macvlan) - validation first, plan, check mode and C(--diff),
    all or nothing, read back, idempotent.
author:
  - hostnet.vif contributors (@hostnet)
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.links
  - hostnet.vif.task
  - hostnet.vif.links.device
notes:
  - There is no udev rule here; ownership set by this module lasts as long as the link. Recreating the
    link (for example after a reboot) needs the module to run again.
seealso:
  - module: hostnet.vif.macvlan
  - module: hostnet.vif.tap
  - ref: ansible_collections.hostnet.vif.docsite.macvtap_ownership
    description: Handing macvtap and tap devices to a QEMU that does not run as root.
  - ref: ansible_collections.hostnet.vif.docsite.modes
    description: What each mode does, which endpoints reach each other, and when to use it.
'''

EXAMPLES = r'''
- name: A macvtap in bridge mode for a VM run by the libvirt-qemu user
  hostnet.vif.macvtap:
    name: vm1-tap
    lower: eth1
    mode: bridge
    owner: libvirt-qemu
    group: kvm
    device_mode: '0660'
  register: tap

- name: Hand the device to QEMU
  ansible.builtin.debug:
    msg: "-netdev tap,id=n0,fd=3 3<>{{ tap.links[0].device.path }}"

- name: A VF given to a VM through macvtap passthru (keeps live migration possible)
  hostnet.vif.macvtap:
    name: vm2-vf0
    lower: enp3s0f0v0
    mode: passthru
    nopromisc: true
'''

RETURN = r'''
actions:
  description: The changes made (or, in check mode, that would be made), one C(ip)-style line each.
  returned: always
  type: list
  elements: str
  sample: ["ip link add link eth1 name vm1-tap type macvtap mode bridge; ip link set vm1-tap up",
           "chown 64055:104 && chmod 0660 <character device of vm1-tap>"]
links:
  description: The links the task declares present, as the kernel reports them after the task.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: vm1-tap, kind: macvtap, index: 9, lower: eth1, mode: bridge, mac: "02:00:00:00:02:00", mtu: 1500,
       admin_state: up, oper_state: up, nopromisc: false, source_macs: [], netns: null,
       device: {path: /dev/tap9, major_minor: "246:1", owner: 64055, group: 104, mode: "0660"}}
  contains:
    name: {description: "Interface name.", type: str, returned: always, sample: vm1-tap}
    kind: {description: "V(macvtap).", type: str, returned: always, sample: macvtap}
    index: {description: "Interface index in its namespace.", type: int, returned: always, sample: 9}
    lower: {description: "Lower device.", type: str, returned: always, sample: eth1}
    mode: {description: "Mode.", type: str, returned: always, sample: bridge}
    mac: {description: "MAC address.", type: str, returned: always, sample: "02:00:00:00:02:00"}
    mtu: {description: "MTU.", type: int, returned: always, sample: 1500}
    admin_state: {description: "V(up) or V(down).", type: str, returned: always, sample: up}
    oper_state: {description: "Operational state as the kernel reports it (up, down, lowerlayerdown...).",
                 type: str, returned: always, sample: up}
    nopromisc: {description: "Whether the passthru nopromisc flag is set.", type: bool, returned: always,
                sample: false}
    source_macs: {description: "Allowed source MACs (mode source; empty in the other modes).", type: list,
                  elements: str, returned: always, sample: ["02:00:00:00:aa:01"]}
    netns: {description: "Namespace, or null for the module's own.", type: str, returned: always, sample: tenant-a}
    device:
      description: The character device.
      returned: always
      type: dict
      sample: {path: /dev/tap9, major_minor: "246:1", owner: 64055, group: 104, mode: "0660"}
      contains:
        path: {description: "Path of the device node to open.", type: str, returned: always,
               sample: /dev/tap9}
        major_minor: {description: "Device number as read from sysfs.", type: str, returned: always, sample: "246:1"}
        owner: {description: "Owner uid.", type: int, returned: always, sample: 64055}
        group: {description: "Group gid.", type: int, returned: always, sample: 104}
        mode: {description: "Permission bits.", type: str, returned: always, sample: "0660"}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.macv import MACVTAP


def main():
    module = VifModule(argument_spec=MACVTAP.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('name', 'links')])
    run(module, MACVTAP)


if __name__ == '__main__':
    main()
