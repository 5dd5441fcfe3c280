#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: profile
short_description: A host's whole virtual-NIC profile as one transaction, persistence included
version_added: 0.2.0
description:
  - Applies a host profile - SR-IOV PFs, lower devices brought up, macvlan, macvtap, ipvlan and ipvtap links, tap
    devices, bridge-port
    hairpin, reflective-relay expectations and, with O(persist=systemd-networkd), the files that make it survive a
    reboot - in B(one) call. The options are the keys of the C(hostnet.vif.host_profile) role's C(host_profile_spec),
    so the role (which is this one task, plus the pyroute2 install when asked) passes them straight through.
  - B(One validation.) Every entry of every kind is checked by the same rules as the kind's own module
    (M(hostnet.vif.sriov), M(hostnet.vif.macvlan), M(hostnet.vif.macvtap), M(hostnet.vif.ipvlan), M(hostnet.vif.ipvtap),
    M(hostnet.vif.tap), M(hostnet.vif.hairpin),
    M(hostnet.vif.reflective_relay)), absent entries included, before anything changes; an error names the profile
    key, the entry's position and the field, for example C(macvtap[2].device_mode).
  - B(One plan, in a safe order.) SR-IOV counts, then VF settings, lower devices up, macvlan, macvtap, ipvlan, ipvtap,
    taps, hairpin,
    the reflective-relay expectation (read-only) and the files. Later kinds may sit on devices earlier kinds create
    (a tap's hairpin, a macvtap on a macvlan). The module first plans every kind against the state the kinds before
    it would leave (the kernel's links with the earlier plans laid over them); that checks the whole profile before
    the first change and is what check mode returns. When applying, each kind then reads the kernel as the kinds
    before it left it, plans and applies into the same journal, so what is applied always matches the kernel. VF
    interfaces are named by their driver when the VFs appear; a kind that sits on VFs this profile creates is
    planned only once they exist, and check mode lists it in RV(unpredicted).
  - B(All or nothing.) One host lock and one undo journal for the whole call. A failure anywhere (a kernel refusal,
    a file, the relay expectation, the read-back) or SIGTERM, SIGINT or SIGHUP undoes every change of the call,
    files included, newest first, and the message says what failed and that it was undone.
  - B(SR-IOV counts) stay governed by C(allow_reset). A count change from a non-zero count (a reduction, or a change
    that goes through 0) destroys the PF's VFs, and undoing a later failure would have to recreate them; so nothing
    that can fail may follow it. Such a change is refused up front beside any other change, that PF's VF settings
    included (only its C(drivers_autoprobe) and the files, written before it, may go with it). Apply the count change
    on its own first (M(hostnet.vif.sriov) with pf, num_vfs and allow_reset, without vfs), then the profile.
  - B(Persistence) (O(persist=systemd-networkd)) is written by the module from the validated, normalised entries,
    as planned actions with before/after in C(--diff) and undo (the previous file put back, a new one removed) - a
    C(.netdev) and a C(.network) file per macvlan, macvtap, ipvlan, ipvtap and tap device (an ipvlan/ipvtap
    C(.netdev) has C([IPVLAN]/[IPVTAP]) C(Mode=L2|L3|L3S) and C(Flags=bridge|private|vepa)), one C(.network) file
    per lower device attaching all its links (C(MACVLAN=), C(MACVTAP=), C(IPVLAN=), C(IPVTAP=)), a C(.link) file per
    SR-IOV PF, and a udev rule file for macvtap (C(70-hostnet-vif-macvtap.rules)) and one for ipvtap
    (C(70-hostnet-vif-ipvtap.rules)) device ownership, written when the profile has entries of that kind, whose
    rules match each link's own character device (C(SUBSYSTEM=="macvtap") or C(SUBSYSTEM=="ipvtap"),
    C(SUBSYSTEMS=="net", KERNELS=="NAME")), never another link's C(/dev/tapN). C(device_mode) is always written
    as a four-digit octal string (an unquoted YAML C(0660) is the integer 432, written C(MODE="0660")); owner and
    group as validated names or numbers. Names that udev or networkd would read as patterns are refused by the
    shared name rule. Files are written atomically (exclusive temporary file, no symbolic link followed, fsync,
    rename); a directory that another user could change is refused. An entry with C(state=absent) takes its files
    with it; with O(purge), every C(70-hostnet-vif-*.netdev/.network) file of O(persist_dir) the profile does not
    list is removed, and the udev rule file of a tap kind (macvtap, ipvtap) the profile has no entry of.
  - Check mode returns the whole plan and changes nothing; C(--diff) shows each kind's objects and each file before
    and after. A second run with the same profile changes nothing.
author:
  - hostnet.vif contributors (@hostnet)
options:
  sriov:
    description: SR-IOV PFs, each an entry of M(hostnet.vif.sriov)'s O(hostnet.vif.sriov#module:pfs) (pf, num_vfs,
      drivers_autoprobe, vfs, allow_reset, persist).
    type: list
    elements: dict
  lowers_up:
    description: Devices (made by something else) to bring up administratively before links are made on them.
    type: list
    elements: str
  macvlan:
    description: macvlan links, each an entry of M(hostnet.vif.macvlan)'s O(hostnet.vif.macvlan#module:links).
    type: list
    elements: dict
  macvtap:
    description: macvtap links, each an entry of M(hostnet.vif.macvtap)'s O(hostnet.vif.macvtap#module:links) (with
      owner, group, device_mode).
    type: list
    elements: dict
  ipvlan:
    description:
      - ipvlan links, each an entry of M(hostnet.vif.ipvlan)'s O(hostnet.vif.ipvlan#module:links) (mode and flag are
        shared by every ipvlan/ipvtap link of one lower device).
    type: list
    elements: dict
  ipvtap:
    description:
      - ipvtap links, each an entry of M(hostnet.vif.ipvtap)'s O(hostnet.vif.ipvtap#module:links) (with owner, group,
        device_mode).
    type: list
    elements: dict
  taps:
    description: tun/tap devices, each an entry of M(hostnet.vif.tap)'s O(hostnet.vif.tap#module:taps).
    type: list
    elements: dict
  hairpin:
    description: Linux bridge ports, each a port name or a dictionary with C(name) and C(hairpin) (default V(true)).
    type: list
    elements: raw
  reflective_relay:
    description:
      - Lower devices with the switch's expected reflective relay, each an entry of M(hostnet.vif.reflective_relay)'s
        O(hostnet.vif.reflective_relay#module:lowers) (name, expect, method). Checked after the links exist (the
        probe creates and removes its own temporary links); a contradiction fails the call and undoes it.
      - A lower device this call brings up (O(lowers_up)) is probed only once its switch port may forward, 1.2 s after
        it came up, and an unmet V(required) reflection is probed again until 8 s after (a switch port, or a Linux
        bridge, does not forward the moment the link comes up; a probe sent at once would miss a reflection that is
        there). Lower devices that were already up are probed at once.
    type: list
    elements: raw
  purge:
    description:
      - Remove macvlan, macvtap, ipvlan and ipvtap links on the profile's lower devices that the profile does not list.
      - With O(persist=systemd-networkd), also remove every C(70-hostnet-vif-*.netdev/.network) file of
        O(persist_dir) that the profile does not list, and the udev rule file of macvtap or ipvtap when the profile
        lists none of that kind.
    type: bool
    default: false
  persist:
    description:
      - V(systemd-networkd) writes the files that make the profile survive a reboot (see the description).
      - V(none) leaves files alone (existing ones are neither changed nor removed).
    type: str
    choices: [none, systemd-networkd]
    default: none
  persist_dir:
    description: Directory of the systemd-networkd files (absolute; owned by root and writable by no one else).
    type: path
    default: /etc/systemd/network
  udev_dir:
    description: Directory of the macvtap and ipvtap udev rule files (absolute; owned by root and writable by no one
      else).
    type: path
    default: /etc/udev/rules.d
  wait_timeout:
    description: Seconds to wait for VFs (and their drivers) to appear after a count change.
    type: float
    default: 60
  probe_in_check_mode:
    description: Run the reflective-relay probe in check mode too (it creates two temporary links).
    type: bool
    default: false
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.task
attributes:
  check_mode:
    support: full
    details: Returns the whole plan, files included, and changes nothing.
  diff_mode:
    support: full
    details: One diff per kind (its objects before and after) and one per file.
  idempotent:
    support: full
  platform:
    details: Linux with macvlan, macvtap and tun; SR-IOV capable NICs for O(sriov); systemd-networkd and udev to use
      the persisted files.
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
seealso:
  - module: hostnet.vif.vif_info
'''

EXAMPLES = r'''
- name: A VM host's NICs, persisted for systemd-networkd, as one transaction
  hostnet.vif.profile:
    lowers_up: [eth1]
    macvlan:
      - {name: hostside, lower: eth1, mode: bridge}
    macvtap:
      - {name: vm0tap, lower: eth1, mode: bridge, owner: libvirt-qemu, device_mode: "0660"}
    taps:
      - {name: vnet0, bridge: br0, vnet_hdr: true}
    hairpin:
      - {name: vnet0, hairpin: true}
    reflective_relay:
      - {name: eth1, expect: forbidden}
    persist: systemd-networkd
'''

RETURN = r'''
actions:
  description: The changes made, or that check mode would make, C(ip)-style, files included, in the order applied.
  returned: always
  type: list
  elements: str
  sample: ["ip link set eth1 up",
           "ip link add link eth1 name hostside type macvlan mode bridge; ip link set hostside up",
           "write /etc/systemd/network/70-hostnet-vif-hostside.netdev"]
sriov:
  description: The PFs as M(hostnet.vif.sriov) returns them (RV(hostnet.vif.sriov#module:pfs)).
  returned: when the profile has sriov entries
  type: list
  elements: dict
lowers_up:
  description: The devices of O(lowers_up) with their admin state.
  returned: when the profile has lowers_up
  type: list
  elements: dict
  sample: [{"name": "eth1", "admin_state": "up", "netns": null}]
macvlan:
  description: The macvlan links as M(hostnet.vif.macvlan) returns them.
  returned: when the profile has macvlan entries
  type: list
  elements: dict
macvtap:
  description: The macvtap links as M(hostnet.vif.macvtap) returns them (with their character device).
  returned: when the profile has macvtap entries
  type: list
  elements: dict
ipvlan:
  description: The ipvlan links as M(hostnet.vif.ipvlan) returns them.
  returned: when the profile has ipvlan entries
  type: list
  elements: dict
ipvtap:
  description: The ipvtap links as M(hostnet.vif.ipvtap) returns them (with their character device).
  returned: when the profile has ipvtap entries
  type: list
  elements: dict
taps:
  description: The tun/tap devices as M(hostnet.vif.tap) returns them.
  returned: when the profile has taps
  type: list
  elements: dict
hairpin:
  description: The bridge ports as M(hostnet.vif.hairpin) returns them.
  returned: when the profile has hairpin entries
  type: list
  elements: dict
reflective_relay:
  description: The relay observations as M(hostnet.vif.reflective_relay) returns them.
  returned: when the profile has reflective_relay entries
  type: list
  elements: dict
persisted:
  description: Every file the profile persists (written now or already as wanted); empty without persistence.
  returned: always
  type: list
  elements: str
  sample: ["/etc/systemd/network/70-hostnet-vif-hostside.netdev", "/etc/udev/rules.d/70-hostnet-vif-macvtap.rules"]
unpredicted:
  description: Kinds that sit on VFs this profile creates, planned only once the VFs exist (check mode cannot show
    their plan), in words.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.profile import PROFILE


def main():
    module = VifModule(argument_spec=PROFILE.argument_spec(), supports_check_mode=True)
    run(module, PROFILE)


if __name__ == '__main__':
    main()
