#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sriov
short_description: SR-IOV virtual functions - counts through sysfs, per-VF settings through netlink
version_added: 0.1.0
description:
  - Sets how many virtual functions (VFs) a physical function (PF) has (C(sriov_numvfs)), whether VF drivers bind
    automatically (C(sriov_drivers_autoprobe)), and per VF the settings the PF's driver takes over netlink (MAC,
    VLAN with QoS and protocol, spoof check, trust, link state, transmit rates).
  - Validates everything before touching anything (the count against C(sriov_totalvfs), VF numbers against the count
    the PF will have, unicast MACs, VLAN 0-4095, QoS 0-7, rates), plans, supports check mode and C(--diff), reads
    back and verifies, and undoes what it did when a later step fails (a count change is undone by going back to
    the old count and putting back the old VFs' settings).
  - B(The reset rule.) The kernel changes a non-zero count only to 0 (EBUSY otherwise), and going to 0 destroys
    every VF - with whatever uses them. A change between two non-zero counts is therefore refused unless
    O(allow_reset=true); the refusal lists the existing VFs and which are in use (bound to vfio-pci or a similar
    pass-through driver, a netdev that is up with addresses, enslaved to a bridge or bond, or carrying a macvlan or
    macvtap). Check mode and C(--diff) say plainly that the VFs would be destroyed.
  - After a count change the module waits, polling cheaply, until the VFs exist and, when drivers probe
    automatically, have their driver (and so their netdev) - up to O(wait_timeout).
  - sysfs is read and written in the PF's network namespace (O(netns)), where its interface is visible.
author:
  - hostnet.vif contributors (@hostnet)
options:
  pf:
    description:
      - The physical function, by interface name (C(eth1)) or PCI address (C(0000:03:00.0)). Mutually exclusive with
        O(pfs).
    type: str
  num_vfs:
    description: The number of VFs (0 removes them all); not managed when omitted (so there is no default).
    type: int
  drivers_autoprobe:
    description: Whether VF drivers bind to new VFs automatically; not managed when omitted.
    type: bool
  allow_reset:
    description:
      - Allow a change between two non-zero counts, which destroys every existing VF (the kernel goes through 0).
        The settings in O(vfs) are applied to the new VFs afterwards.
    type: bool
    default: false
  vfs:
    description:
      - Per-VF settings, each a dictionary with C(vf) (the VF number, required) and any of C(mac) (unicast), C(vlan)
        (0-4095; 0 removes the tag), C(qos) (0-7, needs a VLAN), C(vlan_proto) (C(802.1Q) or C(802.1ad)), C(spoofchk),
        C(trust), C(link_state) (C(auto), C(enable), C(disable)), C(min_tx_rate), C(max_tx_rate) (Mbit/s; 0 means no
        limit). Settings not given are left as they are.
      - Not every driver implements every setting; a refusal names the VF and the setting.
    type: list
    elements: dict
    suboptions:
      vf: {description: "The VF number.", type: int, required: true}
      mac: {description: "Unicast MAC address.", type: str}
      vlan: {description: "VLAN 0-4095; 0 removes the tag.", type: int}
      qos: {description: "802.1p priority 0-7; needs a VLAN.", type: int}
      vlan_proto: {description: "VLAN protocol.", type: str, choices: [802.1Q, 802.1ad]}
      spoofchk: {description: "Source MAC spoof checking.", type: bool}
      trust: {description: "Trusted VF (may change its MAC, enter promiscuous mode).", type: bool}
      link_state: {description: "Link state the VF sees.", type: str, choices: [auto, enable, disable]}
      min_tx_rate: {description: "Minimum transmit rate in Mbit/s; 0 means no limit.", type: int}
      max_tx_rate: {description: "Maximum transmit rate in Mbit/s; 0 means no limit.", type: int}
  pfs:
    description:
      - Several PFs, each a dictionary of O(pf), O(num_vfs), O(drivers_autoprobe), O(allow_reset), O(persist) and
        O(vfs); top-level O(num_vfs), O(drivers_autoprobe), O(allow_reset) and O(persist) are defaults for entries.
      - An error in an entry names it (C(pfs[1].num_vfs), C(pfs[1].vfs[0].vlan)) and the value.
    type: list
    elements: dict
    suboptions:
      pf: {description: "As O(pf).", type: str}
      num_vfs: {description: "As O(num_vfs).", type: int}
      drivers_autoprobe: {description: "As O(drivers_autoprobe).", type: bool}
      allow_reset: {description: "As O(allow_reset).", type: bool}
      persist: {description: "As O(persist).", type: str, choices: [none, systemd-networkd]}
      vfs:
        description: "Per-VF settings of this PF, as O(vfs)."
        type: list
        elements: dict
        suboptions:
          vf: {description: "The VF number.", type: int, required: true}
          mac: {description: "Unicast MAC address.", type: str}
          vlan: {description: "VLAN 0-4095; 0 removes the tag.", type: int}
          qos: {description: "802.1p priority 0-7; needs a VLAN.", type: int}
          vlan_proto: {description: "VLAN protocol.", type: str, choices: [802.1Q, 802.1ad]}
          spoofchk: {description: "Source MAC spoof checking.", type: bool}
          trust: {description: "Trusted VF (may change its MAC, enter promiscuous mode).", type: bool}
          link_state: {description: "Link state the VF sees.", type: str, choices: [auto, enable, disable]}
          min_tx_rate: {description: "Minimum transmit rate in Mbit/s; 0 means no limit.", type: int}
          max_tx_rate: {description: "Maximum transmit rate in Mbit/s; 0 means no limit.", type: int}
  wait_timeout:
    description: Seconds to wait for VFs (and their drivers) to appear after a count change.
    type: float
    default: 60
  persist:
    description:
      - V(systemd-networkd) also writes a systemd C(.link) file (in O(persist_dir), named after the PF's PCI address)
        that sets the VF count (C(SR-IOVVirtualFunctions=)) and the per-VF settings (C([SR-IOV]) sections) when the
        PF appears at boot; systemd-udevd applies it (systemd 251 or later). The file matches the PF by its PCI path
        and repeats the default naming policies, since a matching C(.link) file replaces C(99-default.link).
      - C(.link) files have no keys for C(min_tx_rate) and C(max_tx_rate); RV(persisted[].not_persisted) lists them.
      - V(none) leaves persistence alone (an existing file is neither changed nor removed).
      - A O(pfs) entry that leaves it out takes the top-level value.
    type: str
    choices: [none, systemd-networkd]
    default: none
  persist_dir:
    description: Directory for the O(persist) files.
    type: path
    default: /etc/systemd/network
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.task
attributes:
  check_mode:
    support: full
    details: Reports the plan, including the VFs a reset would destroy, without changing anything.
  diff_mode:
    support: full
    details: Shows each PF before and after (count, autoprobe, per-VF settings).
  idempotent:
    support: full
  platform:
    details: An SR-IOV capable PCIe device whose driver is bound.
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
notes:
  - The count written to sysfs does not survive a reboot; O(persist=systemd-networkd) writes the file that makes it.
  - Errors from the kernel are translated - ERANGE (above C(sriov_totalvfs)), EBUSY, EINVAL, ENOENT (no driver bound
    to the PF), ENOSPC/ENOMEM (out of MSI-X vectors or bus numbers, a platform or firmware limit), EPERM/EACCES.
seealso:
  - module: hostnet.vif.vif_info
  - module: hostnet.vif.macvtap
  - ref: ansible_collections.hostnet.vif.docsite.sriov
    description: VF counts, the kernel's reset rule, per-VF settings, persistence, and what was tested on real hardware.
'''

EXAMPLES = r'''
- name: Four VFs on eth2, also at every boot (a systemd .link file)
  hostnet.vif.sriov:
    pf: eth2
    num_vfs: 4
    persist: systemd-networkd
    vfs:
      - {vf: 0, mac: "02:00:00:00:20:00", trust: true}

- name: Eight VFs on eth1, two of them with a MAC and a VLAN for VMs
  hostnet.vif.sriov:
    pf: eth1
    num_vfs: 8
    vfs:
      - {vf: 0, mac: "02:00:00:00:10:00", vlan: 100, spoofchk: true, trust: false}
      - {vf: 1, mac: "02:00:00:00:10:01", vlan: 100, qos: 3, max_tx_rate: 1000}

- name: Grow from 4 to 16 VFs on a maintenance window (destroys the 4 existing VFs)
  hostnet.vif.sriov:
    pf: "0000:03:00.0"
    num_vfs: 16
    allow_reset: true
    wait_timeout: 120
'''

RETURN = r'''
actions:
  description: The changes made (or, in check mode, that would be made), one line each.
  returned: always
  type: list
  elements: str
  sample: ["echo 8 > /sys/class/net/eth1/device/sriov_numvfs", "ip link set eth1 vf 0 mac 02:00:00:00:10:00"]
persisted:
  description: Per PF with O(persist=systemd-networkd), the file and the settings it cannot carry.
  returned: always
  type: list
  elements: dict
  contains:
    pf: {description: The PF as the task names it., type: str, returned: always, sample: eth2}
    path: {description: The C(.link) file., type: str, returned: always,
           sample: /etc/systemd/network/70-hostnet-vif-sriov-0000-03-00.0.link}
    not_persisted: {description: "Per-VF settings given in O(vfs) that C(.link) files cannot carry.", type: list,
                    elements: str, returned: always, sample: [max_tx_rate]}
  sample: [{"pf": "eth2", "path": "/etc/systemd/network/70-hostnet-vif-sriov-0000-03-00.0.link", "not_persisted": []}]
pfs:
  description: Each PF after the task (in check mode, as it is now), as M(hostnet.vif.vif_info) reports SR-IOV PFs.
  returned: always
  type: list
  elements: dict
  sample:
    - name: eth1
      pci_address: "0000:03:00.0"
      totalvfs: 7
      numvfs: 2
      drivers_autoprobe: true
      netns: null
      vfs:
        - {vf: 0, pci_address: "0000:03:10.0", driver: igbvf, netdevs: [eth1v0], mac: "02:00:00:00:10:00", vlan: 100,
           qos: 0, vlan_proto: 802.1Q, spoofchk: true, trust: false, link_state: auto, min_tx_rate: 0, max_tx_rate: 0}
  contains:
    name: {description: "The PF's interface name (null when it has none in this namespace).", type: str,
           returned: always, sample: eth1}
    pci_address: {description: "The PF's PCI address.", type: str, returned: always, sample: "0000:03:00.0"}
    totalvfs: {description: The most VFs the device supports., type: int, returned: always, sample: 7}
    numvfs: {description: The current number of VFs., type: int, returned: always, sample: 2}
    drivers_autoprobe: {description: Whether VF drivers bind automatically., type: bool, returned: always,
                        sample: true}
    netns: {description: "The namespace the PF was read in (null: the module's own).", type: str, returned: always,
            sample: null}
    vfs:
      description: >-
        Per VF - vf, pci_address, driver, netdevs, and the settings the PF reports over netlink (mac, vlan, qos,
        vlan_proto, spoofchk, trust, link_state, min_tx_rate, max_tx_rate; null where the driver does not report one).
      type: list
      elements: dict
      returned: always
      sample:
        - {vf: 0, pci_address: "0000:03:10.0", driver: igbvf, netdevs: [eth1v0], mac: "02:00:00:00:10:00", vlan: 100,
           qos: 0, vlan_proto: 802.1Q, spoofchk: true, trust: false, link_state: auto, min_tx_rate: 0, max_tx_rate: 0}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.sriov import SRIOV


def main():
    module = VifModule(argument_spec=SRIOV.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('pf', 'pfs')], required_one_of=[('pf', 'pfs')])
    run(module, SRIOV)


if __name__ == '__main__':
    main()
