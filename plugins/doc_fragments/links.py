# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documentation shared by hostnet.vif.macvlan and hostnet.vif.macvtap.

DOCUMENTATION: the per-link options (top level), purge and the attributes (netns and lock_timeout: the
task fragment). ENTRIES: macvlan's links option, whose entries take the per-link options. DEVICE:
macvtap's character-device options, and its links option whose entries take those too.
"""

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
      - The lower device the link sits on (a physical NIC, a VF, a veth, a bond...).
      - Required for O(state=present).
    type: str
  mode:
    description:
      - The macvlan mode.
      - V(vepa) sends all traffic, also between links on the same lower device, out to the external
        switch, which must reflect it back (reflective relay / hairpin) for such links to reach each other.
      - V(bridge) lets links on the same lower device talk directly inside the host.
      - V(private) never lets links on the same lower device talk to each other.
      - V(passthru) gives the single link the whole lower device; it must be alone on that lower device,
        and the link takes the lower device's MAC address.
      - V(source) accepts only frames whose source MAC is in O(source_macs).
      - The default V(vepa) is the kernel's own default; an existing link in another mode is changed to the mode
        the task gives or defaults to.
      - Changes among vepa, bridge, private and source are made in place; changes to or from passthru
        delete and recreate the link (the plan says so), keeping its MAC address.
    type: str
    choices: [vepa, bridge, private, passthru, source]
    default: vepa
  mac:
    description:
      - Unicast MAC address of the link. When omitted, the kernel picks one and it is not managed.
    type: str
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
  source_macs:
    description:
      - Only with O(mode=source). The exact set of source MAC addresses the link accepts frames from;
        addresses not listed are removed from the kernel's list. An empty list accepts nothing.
    type: list
    elements: str
  nopromisc:
    description:
      - Only with O(mode=passthru). Keep the lower device out of promiscuous mode.
      - Changing it recreates the link.
    type: bool
    default: false
  purge:
    description:
      - Also delete links of this kind on the lower devices named in the task (O(lower) and each entry's lower)
        that the task does not list. Links of the other kind and on other lower devices are left alone.
      - Deletion is done in one kernel transaction (through a temporary link group), so purging a thousand
        links takes a fraction of a second.
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
    details: A kernel with C(macvlan) (and C(macvtap) for M(hostnet.vif.macvtap)).
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
notes:
  - All or nothing. If any step fails, every change already made by the task is undone, and the error
    names the link, the field and what the kernel's answer means.
  - Every change is read back from the kernel and compared with the request before the task reports success.
  - Runs as root (C(become=true)).
'''

    ENTRIES = r'''
options:
  links:
    description:
      - Several links in one task, each a dictionary of the per-link options.
      - Top-level O(lower), O(mode), O(mtu), O(state), O(admin_state), O(nopromisc) (for macvtap also C(owner),
        C(group), C(device_mode)) serve as defaults for entries that do not set them, their own defaults included.
        An entry that leaves O(mode) out gets the top-level O(mode), V(vepa) when that is not given either.
      - Each entry takes the per-link options, with the same meaning and checks as at the top level; an error in an
        entry names it (C(links[3].mtu)) and the value.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name: {description: "Interface name of the link, as O(name).", type: str}
      lower: {description: "Lower device, as O(lower).", type: str}
      mode: {description: "Mode, as O(mode).", type: str, choices: [vepa, bridge, private, passthru, source]}
      mac: {description: "MAC address, as O(mac).", type: str}
      mtu: {description: "MTU, as O(mtu).", type: int}
      state: {description: "As O(state).", type: str, choices: [present, absent]}
      admin_state: {description: "As O(admin_state).", type: str, choices: [up, down]}
      source_macs: {description: "As O(source_macs).", type: list, elements: str}
      nopromisc: {description: "As O(nopromisc).", type: bool}
'''

    DEVICE = r'''
options:
  links:
    description:
      - Several links in one task, each a dictionary of the per-link options.
      - Top-level O(lower), O(mode), O(mtu), O(state), O(admin_state), O(nopromisc) (for macvtap also C(owner),
        C(group), C(device_mode)) serve as defaults for entries that do not set them, their own defaults included.
        An entry that leaves O(mode) out gets the top-level O(mode), V(vepa) when that is not given either.
      - Each entry takes the per-link options, with the same meaning and checks as at the top level; an error in an
        entry names it (C(links[3].mtu)) and the value.
      - Mutually exclusive with O(name).
    type: list
    elements: dict
    suboptions:
      name: {description: "Interface name of the link, as O(name).", type: str}
      lower: {description: "Lower device, as O(lower).", type: str}
      mode: {description: "Mode, as O(mode).", type: str, choices: [vepa, bridge, private, passthru, source]}
      mac: {description: "MAC address, as O(mac).", type: str}
      mtu: {description: "MTU, as O(mtu).", type: int}
      state: {description: "As O(state).", type: str, choices: [present, absent]}
      admin_state: {description: "As O(admin_state).", type: str, choices: [up, down]}
      source_macs: {description: "As O(source_macs).", type: list, elements: str}
      nopromisc: {description: "As O(nopromisc).", type: bool}
      owner: {description: "Owner of the character device, as O(owner).", type: str}
      group: {description: "Group of the character device, as O(group).", type: str}
      device_mode: {description: "Permission bits of the character device, as O(device_mode).", type: raw}

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
