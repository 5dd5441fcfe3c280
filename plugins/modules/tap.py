#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tap
short_description: Manage persistent tap and tun devices
version_added: 0.1.0
description:
  - Creates, changes and deletes persistent tap (Ethernet frames) and tun (IP packets) devices, one per task or
    many (O(taps)), as a VM host needs them for QEMU, optionally as ports of a Linux bridge.
  - Same guarantees as M(hostnet.vif.macvlan) - validation first (names over 15 bytes are an error, never
    truncated), plan, check mode and C(--diff), all or nothing with undo, read back, idempotent, host lock.
  - Owner, group, O(vnet_hdr), O(packet_info), MTU, MAC, bridge and up/down change in place (the device is attached
    with C(TUNSETIFF) and its new flags, as QEMU does). O(mode) and O(multi_queue) are fixed when a device is made
    (the kernel refuses to attach with another), so changing one deletes and recreates the device with the same
    interface index, owner, MTU, MAC and bridge; the plan says so.
  - Devices are made with the C(/dev/net/tun) ioctls (what C(ip tuntap add) does); everything else is netlink.
author:
  - hostnet.vif contributors (@hostnet)
options:
  name:
    description: Device name (1 to 15 bytes). Mutually exclusive with O(taps).
    type: str
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
  mode:
    description:
      - V(tap) (Ethernet frames, the VM case) or V(tun) (IP packets).
      - When omitted, V(tap) for a new device and left as it is on an existing one (the same holds for
        O(multi_queue), O(vnet_hdr) and O(packet_info), which are off for a new device). So these options have
        no fixed default, and a O(taps) entry that leaves one out takes the top-level value, or none.
      - Changing it recreates the device. A V(tun) device cannot be a bridge port and has no MAC address.
    type: str
    choices: [tap, tun]
  owner:
    description: User (name or uid) allowed to attach to the device; not managed when omitted.
    type: str
  group:
    description: Group (name or gid) allowed to attach; not managed when omitted.
    type: str
  multi_queue:
    description:
      - Multi-queue device (C(IFF_MULTI_QUEUE)); changing it recreates the device.
      - When omitted, off for a new device and left as it is on an existing one.
    type: bool
  vnet_hdr:
    description:
      - Frames carry a virtio-net header (C(IFF_VNET_HDR)), as QEMU's virtio-net uses.
      - When omitted, off for a new device and left as it is on an existing one.
    type: bool
  packet_info:
    description:
      - Frames carry the 4-byte packet-information header. When omitted, off for a new device, as C(ip tuntap)
        makes devices (pyroute2's own default would be on; this module always says what it wants), and left as
        it is on an existing one.
    type: bool
  bridge:
    description:
      - Linux bridge the device is a port of. An empty string takes it out of any bridge; not managed when omitted.
      - A bridge that does not exist, or a device that is not a bridge, is an error.
    type: str
  mtu:
    description: MTU; not managed when omitted.
    type: int
  mac:
    description: Unicast MAC address (tap only); not managed when omitted.
    type: str
  admin_state:
    description: V(up) or V(down).
    type: str
    choices: [up, down]
    default: up
  taps:
    description:
      - Several devices, each a dictionary of the per-device options above; top-level values, their own
        defaults included, serve as defaults for entries. An error in an entry names it (C(taps[2].mtu)) and
        the value.
    type: list
    elements: dict
    suboptions:
      name: {description: "Interface name, as O(name).", type: str}
      state: {description: "As O(state).", type: str, choices: [present, absent]}
      mode: {description: "As O(mode).", type: str, choices: [tap, tun]}
      owner: {description: "As O(owner).", type: str}
      group: {description: "As O(group).", type: str}
      multi_queue: {description: "As O(multi_queue).", type: bool}
      vnet_hdr: {description: "As O(vnet_hdr).", type: bool}
      packet_info: {description: "As O(packet_info).", type: bool}
      bridge: {description: "As O(bridge).", type: str}
      mtu: {description: "As O(mtu).", type: int}
      mac: {description: "As O(mac).", type: str}
      admin_state: {description: "As O(admin_state).", type: str, choices: [up, down]}
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.task
attributes:
  check_mode:
    support: full
    details: Reports the plan without changing anything.
  diff_mode:
    support: full
    details: Shows each touched device before and after, one line each.
  idempotent:
    support: full
  platform:
    details: A kernel with C(tun) (C(/dev/net/tun)).
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
notes:
  - An owner or group, once set, can be changed but not removed (the kernel has no call to unset them); an undo
    that must unset one recreates the device as it was.
  - Attaching to change O(owner), O(group), O(vnet_hdr) or O(packet_info) fails with a clear message while a
    process such as QEMU holds a single-queue device open.
  - Devices live in the kernel only and do not survive a reboot.
seealso:
  - module: hostnet.vif.vif_info
  - module: hostnet.vif.macvtap
  - ref: ansible_collections.hostnet.vif.docsite.macvtap_ownership
    description: Handing tap and macvtap devices to a QEMU that does not run as root.
'''

EXAMPLES = r'''
- name: Three VM NICs as ports of br0, for QEMU running as libvirt-qemu
  hostnet.vif.tap:
    owner: libvirt-qemu
    group: kvm
    vnet_hdr: true
    multi_queue: true
    bridge: br0
    taps:
      - name: vnet0
      - name: vnet1
      - name: vnet2
        mtu: 9000

- name: A tun device for a VPN daemon
  hostnet.vif.tap:
    name: tun-vpn
    mode: tun
    owner: openvpn
'''

RETURN = r'''
actions:
  description: The changes made (or, in check mode, that would be made), one line each.
  returned: always
  type: list
  elements: str
  sample: ["ip tuntap add dev vnet0 mode tap user 107 vnet_hdr; ip link set vnet0 master br0 up"]
taps:
  description: The devices the task declares present, as the kernel reports them after the task (the records
    M(hostnet.vif.vif_info) returns).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: vnet0, index: 12, type: tap, owner: 64055, group: 104, multi_queue: true, vnet_hdr: true,
       packet_info: false, persistent: true, queues: null, bridge: br0, mac: "02:00:00:00:30:00", mtu: 1500,
       admin_state: up, oper_state: down, netns: null}
  contains:
    name: {description: Device name., type: str, returned: always, sample: vnet0}
    index: {description: Interface index in its namespace., type: int, returned: always, sample: 12}
    type: {description: "V(tap) or V(tun).", type: str, returned: always, sample: tap}
    owner: {description: "Owner uid (null: any user).", type: int, returned: always, sample: 64055}
    group: {description: "Group gid (null: not set).", type: int, returned: always, sample: 104}
    multi_queue: {description: Multi-queue flag., type: bool, returned: always, sample: true}
    vnet_hdr: {description: Virtio-net header flag., type: bool, returned: always, sample: true}
    packet_info: {description: Packet-information header flag., type: bool, returned: always, sample: false}
    persistent: {description: Whether the device outlives the process that made it., type: bool, returned: always,
                 sample: true}
    queues: {description: "Number of queues attached, where the kernel reports it (null otherwise).", type: int,
             returned: always, sample: null}
    bridge: {description: "Bridge it is a port of, or null.", type: str, returned: always, sample: br0}
    mtu: {description: MTU., type: int, returned: always, sample: 1500}
    mac: {description: "MAC address (null for tun).", type: str, returned: always, sample: "02:00:00:00:30:00"}
    admin_state: {description: "V(up) or V(down).", type: str, returned: always, sample: up}
    oper_state: {description: "Operational state (down until a program attaches to the device).", type: str,
                 returned: always, sample: down}
    netns: {description: "Namespace, or null for the module's own.", type: str, returned: always, sample: null}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.tap import TAP


def main():
    module = VifModule(argument_spec=TAP.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('name', 'taps')])
    run(module, TAP)


if __name__ == '__main__':
    main()
