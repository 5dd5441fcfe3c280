# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by hostnet.vif.ipvlan and hostnet.vif.ipvtap: the per-link options at the top
level (each module documents its links entries itself), purge, attributes and notes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  name:
    description:
      - Interface name of the link (1 to 15 bytes of printable ASCII; no whitespace, C(/), C(:), C(*), C(?),
        C([), C(]), C(!), C(|), quotes or backslash).
    type: str
  lower:
    description:
      - The lower device the link sits on (a physical NIC, a VF, a veth...). Not a device that carries
        macvlan/macvtap links, nor a bridge or bond port (the kernel gives a lower device one kind of port).
      - Required for O(state=present).
    type: str
  mode:
    description:
      - The ipvlan mode, which decides at which layer the lower device's traffic is handed to the links.
      - V(l2) - links receive and send Ethernet frames; ARP and broadcast reach them (each link still has the
        lower device's MAC address, so neighbours tell the links apart only by IP address).
      - V(l3) - the lower device routes IP packets to the link that holds the destination address; no ARP or
        broadcast on the links (they are NOARP); the links' namespaces need their own routes.
      - V(l3s) - as V(l3), but the packets go through netfilter's input/output hooks in the link's namespace
        (conntrack and iptables see them).
      - V(l3) is the kernel's own default.
      - The mode is the lower device's, not the link's - every ipvlan and ipvtap on one lower device has the same
        one; the task is refused if it would change the mode of a link it does not list. Changes are made in place.
    type: str
    choices: [l2, l3, l3s]
    default: l3
  flag:
    description:
      - How links on the same lower device reach each other (the kernel's IPVLAN flags, one of three).
      - V(bridge) - directly, inside the host (the kernel's default).
      - V(private) - not at all (traffic between them is dropped).
      - V(vepa) - only through the external switch, which must reflect it back (reflective relay / hairpin), as
        for macvlan's vepa mode.
      - Like O(mode), the flag belongs to the lower device and is shared by all its ipvlan/ipvtap links;
        changes are made in place.
    type: str
    choices: [bridge, private, vepa]
    default: bridge
  mtu:
    description:
      - MTU of the link; at most the lower device's MTU. When omitted, not managed.
    type: int
  state:
    description:
      - V(present) creates or changes the link, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  admin_state:
    description:
      - Administrative state of the link (C(ip link set NAME up/down)).
    type: str
    choices: [up, down]
    default: up
  purge:
    description:
      - Also delete links of this kind on the lower devices named in the task (O(lower) and each entry's lower)
        that the task does not list. Links of other kinds and on other lower devices are left alone.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Reports the plan (actions, diff, predicted links) without changing anything.
  diff_mode:
    support: full
    details: Shows each touched link before and after, one line per link.
  idempotent:
    support: full
  platform:
    details: A kernel with C(ipvlan) (and C(ipvtap) for M(hostnet.vif.ipvtap)), built in or as modules.
requirements:
  - pyroute2 >= 0.7.2 on the managed host
notes:
  - An ipvlan link has no MAC address of its own; it uses its lower device's. There is no C(mac) option.
  - All or nothing. If any step fails, every change already made by the task is undone, and the error
    names the link, the field and what the kernel's answer means.
  - Every change is read back from the kernel and compared with the request before the task reports success.
  - Runs as root (C(become=true)).
'''

    # ipvtap's character device (top level; each module documents its links entries itself)
    DEVICE = r'''
options:
  owner:
    description:
      - Owner (user name or uid) of the link's character device C(/dev/tapN), for example the user QEMU runs as.
      - When omitted, not managed (the kernel creates the device as root).
    type: str
  group:
    description:
      - Group (name or gid) of the character device. When omitted, not managed.
    type: str
  device_mode:
    description:
      - Permission bits of the character device as an octal string such as V('0660').
        When omitted, not managed (the kernel creates it C(0600)).
      - An unquoted YAML number such as C(0660) is read as octal, as the M(ansible.builtin.file) module does.
    type: raw
'''
