#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: vif_info
short_description: Facts about a host's virtual NICs - macvlan, macvtap, tap, bridge-port hairpin, SR-IOV
version_added: 0.1.0
description:
  - Reports, for one network namespace, every macvlan and macvtap link (with the macvtap character device),
    every tun/tap device, every Linux bridge port with its hairpin state, every SR-IOV physical function
    visible in sysfs with its virtual functions, and per lower device the links that sit on it and their modes.
  - Changes nothing. One netlink dump per namespace, sysfs read inside the namespace, and one extended
    netlink get per SR-IOV physical function (for the per-VF settings).
  - The link records are the same ones M(hostnet.vif.macvlan) and M(hostnet.vif.macvtap) return, read by the
    same code, so what this module reports is what those modules take as the current state.
author:
  - hostnet.vif contributors (@hostnet)
options:
  netns:
    description: Name of an existing network namespace to report on; the module's own when omitted. Never created.
    type: str
  kinds:
    description: What to report. Sections not asked for are returned empty.
    type: list
    elements: str
    choices: [macvlan, macvtap, tap, bridge_port, sriov]
    default: [macvlan, macvtap, tap, bridge_port, sriov]
  lower:
    description: Only macvlan/macvtap links on this lower device (and only it under RV(vif.lowers)).
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
attributes:
  check_mode:
    description: Read-only; runs the same in check mode.
    support: full
  diff_mode:
    description: Nothing to show.
    support: none
  platform:
    description: Linux; pyroute2 on the managed host.
    support: full
    platforms: posix
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
notes:
  - Where no SR-IOV device exists, RV(vif.sriov) is an empty list.
  - The per-VF settings (mac, vlan, qos, spoofchk, trust, link_state, rates) are what the PF's driver reports
    over netlink; a setting a driver does not implement is null.
seealso:
  - module: hostnet.vif.macvlan
  - module: hostnet.vif.macvtap
  - plugin: hostnet.vif.topology
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
  contains:
    netns:
      description: The namespace reported on (null for the module's own).
      type: str
      returned: always
    links:
      description: macvlan and macvtap links, sorted by name; the records M(hostnet.vif.macvlan) returns.
      type: list
      elements: dict
      returned: always
      contains:
        name: {description: Interface name., type: str, returned: always}
        kind: {description: "V(macvlan) or V(macvtap).", type: str, returned: always}
        index: {description: Interface index in its namespace., type: int, returned: always}
        lower: {description: "Lower device (null when it is in another namespace).", type: str, returned: always}
        mode: {description: "vepa, bridge, private, passthru or source.", type: str, returned: always}
        nopromisc: {description: The passthru nopromisc flag., type: bool, returned: always}
        source_macs: {description: "Allowed source MACs (mode source).", type: list, elements: str, returned: always}
        mac: {description: MAC address., type: str, returned: always}
        mtu: {description: MTU., type: int, returned: always}
        admin_state: {description: "V(up) or V(down).", type: str, returned: always}
        oper_state: {description: "Operational state as the kernel reports it (up, down, lowerlayerdown...).",
                     type: str, returned: always}
        netns: {description: Namespace., type: str, returned: always}
        device:
          description: "macvtap only: the character device (path, major_minor, owner, group, mode)."
          type: dict
          returned: for macvtap links
    lowers:
      description: >-
        Per lower device, the macvlan/macvtap links on it (name, kind, mode), their modes, and whether one
        is passthru.
      type: dict
      returned: always
      sample:
        eth1: {"links": [{"name": "mv0", "kind": "macvlan", "mode": "vepa"}], "modes": ["vepa"], "passthru": false}
    taps:
      description: tun/tap devices.
      type: list
      elements: dict
      returned: always
      contains:
        name: {description: Interface name., type: str, returned: always}
        type: {description: "V(tun) or V(tap).", type: str, returned: always}
        owner: {description: "Owner uid, null when any user may attach.", type: int, returned: always}
        group: {description: "Group gid, null when not set.", type: int, returned: always}
        multi_queue: {description: Multi-queue flag., type: bool, returned: always}
        vnet_hdr: {description: Virtio-net header flag., type: bool, returned: always}
        packet_info: {description: Packet-information header flag (off is what C(ip tuntap) makes)., type: bool,
                      returned: always}
        persistent: {description: Whether the device outlives the process that made it., type: bool, returned: always}
        bridge: {description: "The master (bridge) it is enslaved to, or null.", type: str, returned: always}
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
        link_state, min_tx_rate, max_tx_rate). Empty where there is no SR-IOV device.
      type: list
      elements: dict
      returned: always
    reflective_relay:
      description: The records M(hostnet.vif.reflective_relay) returns, one per device in O(reflective_relay).
      type: list
      elements: dict
      returned: when O(reflective_relay) is given
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hostnet.vif.plugins.module_utils.module_glue import info_argument_spec, run
from ansible_collections.hostnet.vif.plugins.module_utils.pipeline import run_info


def main():
    module = AnsibleModule(argument_spec=info_argument_spec(), supports_check_mode=True)
    run(module, run_info)


if __name__ == '__main__':
    main()
