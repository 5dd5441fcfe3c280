#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: vif_info
short_description: Facts about a host's virtual NICs - macvlan, macvtap, ipvlan, ipvtap, tap, bridge ports, SR-IOV
version_added: 0.1.0
description:
  - Reports, for one network namespace, every macvlan, macvtap, ipvlan and ipvtap link (with the macvtap or
    ipvtap character device),
    every tun/tap device, every Linux bridge port with its hairpin state, every SR-IOV physical function
    visible in sysfs with its virtual functions, and per lower device the links that sit on it and their modes.
  - Changes nothing. One netlink dump per namespace, sysfs read inside the namespace, and one extended
    netlink get per SR-IOV physical function (for the per-VF settings).
  - The link records are the same ones M(hostnet.vif.macvlan), M(hostnet.vif.macvtap), M(hostnet.vif.ipvlan) and
    M(hostnet.vif.ipvtap) return, read by the
    same code, so what this module reports is what those modules take as the current state.
author:
  - hostnet.vif contributors (@hostnet)
options:
  kinds:
    description: What to report. Sections not asked for are returned empty.
    type: list
    elements: str
    choices: [macvlan, macvtap, ipvlan, ipvtap, tap, bridge_port, sriov]
    default: [macvlan, macvtap, ipvlan, ipvtap, tap, bridge_port, sriov]
  lower:
    description: Only macvlan/macvtap/ipvlan/ipvtap links on this lower device (and only it under RV(vif.lowers)).
    type: str
  reflective_relay:
    description:
      - Opt-in. Lower devices whose switch port to check for reflective relay (hairpin), as
        M(hostnet.vif.reflective_relay) does with C(method=auto) and C(expect=any); the records go to
        RV(vif.reflective_relay).
      - The probe creates two temporary links (in private namespaces, removed at once), which is why it is not done
        unless asked. A device the probe must refuse (down, no carrier, carrying a passthru link) fails the task.
    type: list
    elements: str
  probe_in_check_mode:
    description: Run the O(reflective_relay) probe in check mode too; otherwise its records say null (unknown).
    type: bool
    default: false
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.task
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    details: Nothing to show.
  idempotent:
    support: full
    details: Read-only.
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
notes:
  - Takes the host lock (and so waits up to O(lock_timeout)) only for the O(reflective_relay) probe; reading facts
    needs no lock.
  - Where no SR-IOV device exists, RV(vif.sriov) is an empty list.
  - The per-VF settings (mac, vlan, qos, spoofchk, trust, link_state, rates) are what the PF's driver reports
    over netlink; a setting a driver does not implement is null.
seealso:
  - module: hostnet.vif.macvlan
  - module: hostnet.vif.macvtap
  - plugin: hostnet.vif.topology
    plugin_type: filter
  - plugin: hostnet.vif.profile_diff
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Everything on this host
  hostnet.vif.vif_info:
  register: host_vifs

- name: What sits on eth1 before touching it
  hostnet.vif.vif_info:
    lower: eth1
    kinds: [macvlan, macvtap]
  register: on_eth1

- name: Refuse to go on if eth1 carries a passthru link
  ansible.builtin.assert:
    that: not (on_eth1.vif.lowers.eth1.passthru | default(false))

- name: A Mermaid diagram of the host
  ansible.builtin.copy:
    content: "{{ host_vifs.vif | hostnet.vif.topology }}"
    dest: /tmp/host-vifs.mmd
    mode: "0644"
'''

RETURN = r'''
vif:
  description: The facts.
  returned: always
  type: dict
  sample:
    netns: null
    links:
      - {name: mv0, kind: macvlan, index: 7, lower: eth1, mode: vepa, nopromisc: false, source_macs: [],
         mac: "02:00:00:00:01:00", mtu: 1500, admin_state: up, oper_state: up, netns: null}
    lowers:
      eth1: {"links": [{"name": "mv0", "kind": "macvlan", "mode": "vepa"}], "modes": ["vepa"], "passthru": false}
    taps: []
    bridge_ports: []
    sriov: []
  contains:
    netns:
      description: The namespace reported on (null for the module's own).
      type: str
      returned: always
      sample: tenant-a
    links:
      description: >-
        macvlan, macvtap, ipvlan and ipvtap links, sorted by name; the records M(hostnet.vif.macvlan) (and
        M(hostnet.vif.ipvlan) for ipvlan and ipvtap links, which have O(hostnet.vif.ipvlan#module:flag) and no
        nopromisc or source_macs) returns.
      type: list
      elements: dict
      returned: always
      sample:
        - {name: mv0, kind: macvlan, index: 7, lower: eth1, mode: vepa, nopromisc: false, source_macs: [],
           mac: "02:00:00:00:01:00", mtu: 1500, admin_state: up, oper_state: up, netns: null}
      contains:
        name: {description: Interface name., type: str, returned: always, sample: mv0}
        kind: {description: "V(macvlan), V(macvtap), V(ipvlan) or V(ipvtap).", type: str, returned: always,
               sample: macvlan}
        index: {description: Interface index in its namespace., type: int, returned: always, sample: 7}
        lower: {description: "Lower device (null when it is in another namespace).", type: str, returned: always,
                sample: eth1}
        mode: {description: "vepa, bridge, private, passthru or source; for ipvlan/ipvtap l2, l3 or l3s.", type: str,
               returned: always, sample: vepa}
        flag: {description: "ipvlan/ipvtap only: bridge, private or vepa.", type: str,
               returned: for ipvlan and ipvtap links, sample: bridge}
        nopromisc: {description: The passthru nopromisc flag., type: bool, returned: for macvlan and macvtap links,
                    sample: false}
        source_macs: {description: "Allowed source MACs (mode source; empty in the other modes).", type: list,
                      elements: str, returned: for macvlan and macvtap links, sample: ["02:00:00:00:aa:01"]}
        mac: {description: MAC address., type: str, returned: always, sample: "02:00:00:00:01:00"}
        mtu: {description: MTU., type: int, returned: always, sample: 1500}
        admin_state: {description: "V(up) or V(down).", type: str, returned: always, sample: up}
        oper_state: {description: "Operational state as the kernel reports it (up, down, lowerlayerdown...).",
                     type: str, returned: always, sample: up}
        netns: {description: Namespace., type: str, returned: always, sample: null}
        device:
          description: "macvtap and ipvtap only: the character device (path, major_minor, owner, group, mode)."
          type: dict
          returned: for macvtap and ipvtap links
          sample: {path: /dev/tap9, major_minor: "246:1", owner: 64055, group: 104, mode: "0660"}
    lowers:
      description: >-
        Per lower device, the macvlan/macvtap/ipvlan/ipvtap links on it (name, kind, mode), their modes, and
        whether one is passthru.
      type: dict
      returned: always
      sample:
        eth1: {"links": [{"name": "mv0", "kind": "macvlan", "mode": "vepa"}], "modes": ["vepa"], "passthru": false}
    taps:
      description: tun/tap devices; the records M(hostnet.vif.tap) returns.
      type: list
      elements: dict
      returned: always
      sample:
        - {name: vnet0, index: 12, type: tap, owner: 64055, group: 104, multi_queue: true, vnet_hdr: true,
           packet_info: false, persistent: true, queues: null, bridge: br0, mac: "02:00:00:00:30:00", mtu: 1500,
           admin_state: up, oper_state: down, netns: null}
      contains:
        name: {description: Interface name., type: str, returned: always, sample: vnet0}
        type: {description: "V(tun) or V(tap).", type: str, returned: always, sample: tap}
        owner: {description: "Owner uid, null when any user may attach.", type: int, returned: always, sample: 64055}
        group: {description: "Group gid, null when not set.", type: int, returned: always, sample: 104}
        multi_queue: {description: Multi-queue flag., type: bool, returned: always, sample: true}
        vnet_hdr: {description: Virtio-net header flag., type: bool, returned: always, sample: true}
        packet_info: {description: Packet-information header flag (off is what C(ip tuntap) makes)., type: bool,
                      returned: always, sample: false}
        persistent: {description: Whether the device outlives the process that made it., type: bool, returned: always,
                     sample: true}
        bridge: {description: "The master (bridge) it is enslaved to, or null.", type: str, returned: always,
                 sample: br0}
    bridge_ports:
      description: Ports of Linux bridges with their hairpin state.
      type: list
      elements: dict
      returned: always
      sample: [{"name": "vnet0", "bridge": "br0", "hairpin": false, "kind": "tun", "netns": null}]
    sriov:
      description: >-
        SR-IOV physical functions seen in sysfs (name, pci_address, totalvfs, numvfs, drivers_autoprobe) with
        their VFs (vf, pci_address, driver, netdevs, and from netlink mac, vlan, qos, spoofchk, trust,
        link_state, min_tx_rate, max_tx_rate). Empty where there is no SR-IOV device. The records
        M(hostnet.vif.sriov) returns.
      type: list
      elements: dict
      returned: always
      sample:
        - name: eth1
          pci_address: "0000:03:00.0"
          totalvfs: 7
          numvfs: 1
          drivers_autoprobe: true
          netns: null
          vfs:
            - {vf: 0, pci_address: "0000:03:10.0", driver: igbvf, netdevs: [eth1v0], mac: "02:00:00:00:10:00",
               vlan: 100, qos: 0, vlan_proto: 802.1Q, spoofchk: true, trust: false, link_state: auto,
               min_tx_rate: 0, max_tx_rate: 0}
    reflective_relay:
      description: The records M(hostnet.vif.reflective_relay) returns, one per device in O(reflective_relay).
      type: list
      elements: dict
      returned: when O(reflective_relay) is given
      sample:
        - {lower: eth1, netns: null, expect: any, reflective_relay: false, method: probe, reason: null, duration: 1.02,
           evidence: {frames_sent: 5, frames_received: 0, ethertype: "0x88b5", sender_mac: "02:5e:10:aa:01:02",
                      receiver_mac: "02:77:0c:19:33:41"}}
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.info import INFO


def main():
    module = VifModule(argument_spec=INFO.argument_spec(), supports_check_mode=True)
    run(module, INFO)


if __name__ == '__main__':
    main()
