#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: reflective_relay
short_description: Declare and prove the switch's reflective relay (hairpin) that VEPA mode needs
version_added: 0.1.0
description:
  - VEPA endpoints (macvlan/macvtap mode V(vepa)) on one lower device reach each other only when the external
    switch sends a frame back out of the port it came in on ("reflective relay", "hairpin"). Most switch ports do
    not by default. This module states what a lower device's switch port must do (O(expect)) and checks it.
  - V(probe) is the proof. Two throwaway VEPA macvlans are created on the lower device, each directly inside its own
    private, anonymous network namespace (they never appear in the lower device's namespace). One sends
    O(frames) raw Ethernet frames to the other's MAC (locally administered MACs, the IEEE 802 local experimental
    EtherType 0x88B5, a per-run random nonce; no IP, nothing routed). The relay is on when the other endpoint
    receives frames with that nonce.
    The namespaces belong to two helper processes that the kernel kills if the module's process dies, so an
    interrupted probe leaves nothing behind; everything is removed before the module returns.
  - V(lldp) reads the EVB TLV (IEEE 802.1Qbg-2012) that the switch advertises to lldpad's nearest-customer-bridge
    agent, through C(lldptool), where lldpad runs; the relay is on when the switch's bridge status has C(rrctr).
    V(auto) uses LLDP when it gives an answer, the probe otherwise.
  - Neither is authenticated. A host on the same VLAN sees the probe's frames (flooded as unknown unicast) and can
    send them back during the run; an EVB TLV is an unsigned claim. The reflective relay guide (see below) says
    what that means.
  - The probe refuses, before anything is created, a lower device that is down, has no carrier, or carries a
    passthru link. On a lower device that is itself a macvlan or macvtap it reports C(reflective_relay=null) with
    the reason instead.
  - The task fails when what is observed contradicts O(expect), with a message that says what it means.
    Nothing of the user's configuration is changed, so the result is never C(changed).
author:
  - hostnet.vif contributors (@hostnet)
options:
  lower:
    description: The lower device (the NIC facing the switch). Mutually exclusive with O(lowers).
    type: str
  lowers:
    description:
      - Several lower devices, each a device name or a dictionary with C(name) and optionally C(expect) and
        C(method) (defaults from the top-level options). They are checked one after the other.
    type: list
    elements: raw
  expect:
    description:
      - V(required) - the switch port must reflect (VEPA endpoints must reach each other through it).
      - V(forbidden) - it must not (endpoints must stay apart even in VEPA mode).
      - V(any) - only report.
    type: str
    choices: [required, forbidden, any]
    default: any
  method:
    description:
      - How to find out. V(lldp) fails when lldpad is not running or the switch sends no EVB TLV.
    type: str
    choices: [probe, lldp, auto]
    default: auto
  frames:
    description: Probe frames to send (1 to 100).
    type: int
    default: 5
  timeout:
    description: Seconds to wait for the probe frames to come back (0.1 to 30).
    type: float
    default: 1.0
  probe_in_check_mode:
    description:
      - The probe changes nothing of the host's configuration but creates two temporary links, so in check mode it
        runs only when this is true; otherwise the result is C(reflective_relay=null).
    type: bool
    default: false
extends_documentation_fragment:
  - hostnet.vif.attributes
  - hostnet.vif.task
attributes:
  check_mode:
    support: full
    details: Reports C(reflective_relay=null) unless O(probe_in_check_mode) is true.
  diff_mode:
    support: none
    details: Nothing is changed, so there is no diff.
  idempotent:
    support: full
    details: Never changes the host's configuration; the probe's temporary links are gone when the module returns.
  platform:
    details: A kernel with C(macvlan); lldpad and lldptool for O(method=lldp).
requirements:
  - pyroute2 >= 0.7.2 on the managed host (tested with 0.7.2, Debian 12's python3-pyroute2, and 0.9.7)
notes:
  - A probe takes about O(timeout) seconds when the frames do not come back, and a few milliseconds more than
    sending them when they do.
seealso:
  - module: hostnet.vif.macvlan
  - module: hostnet.vif.vif_info
  - module: hostnet.vif.hairpin
  - ref: ansible_collections.hostnet.vif.docsite.reflective_relay
    description: What reflective relay is, how the probe and LLDP prove it, and how switches enable it.
  - ref: ansible_collections.hostnet.vif.docsite.modes
    description: Which macvlan/macvtap modes depend on the switch's reflective relay.
'''

EXAMPLES = r'''
- name: VEPA endpoints on eth1 must reach each other through the switch
  hostnet.vif.reflective_relay:
    lower: eth1
    expect: required

- name: Tenant uplinks must not hairpin; report the storage uplink
  hostnet.vif.reflective_relay:
    lowers:
      - name: eth2
        expect: forbidden
      - eth3
    method: probe
  register: relay

- name: Show what was observed
  ansible.builtin.debug:
    msg: "{{ relay.relays | map(attribute='reflective_relay') | list }}"
'''

RETURN = r'''
relays:
  description: One record per lower device, in task order (also returned when the task fails on a contradiction).
  returned: always
  type: list
  elements: dict
  contains:
    lower: {description: The lower device., type: str, returned: always, sample: eth1}
    netns: {description: "Its network namespace (null: the module's own).", type: str, returned: always, sample: null}
    expect: {description: The expectation checked., type: str, returned: always, sample: required}
    reflective_relay:
      description: "V(true) the port reflects, V(false) it does not, null unknown (see RV(relays[].reason))."
      type: bool
      returned: always
      sample: true
    method: {description: "How it was found - V(probe), V(lldp), or null when unknown.", type: str, returned: always,
             sample: probe}
    evidence:
      description:
        - For the probe, C(frames_sent), C(frames_received), C(ethertype), C(sender_mac), C(receiver_mac).
        - For LLDP, C(lldpad), C(tlv) (lldptool's text) and the C(bridge) and C(station) flag lists.
      type: dict
      returned: always
      sample: {frames_sent: 5, frames_received: 5, ethertype: "0x88b5", sender_mac: "02:5e:10:aa:01:02",
               receiver_mac: "02:77:0c:19:33:41"}
    lldp:
      description: "What lldpad said, when it was asked."
      type: dict
      returned: when method is lldp or auto
      sample: {lldpad: not running, detail: "[Errno 2] No such file or directory: 'lldptool'"}
    reason: {description: Why the result is unknown (null otherwise)., type: str, returned: always, sample: null}
    duration: {description: Seconds spent on this device., type: float, returned: always, sample: 0.21}
  sample:
    - lower: eth1
      netns: null
      expect: required
      reflective_relay: true
      method: probe
      evidence: {frames_sent: 5, frames_received: 5, ethertype: "0x88b5", sender_mac: "02:5e:10:aa:01:02",
                 receiver_mac: "02:77:0c:19:33:41"}
      reason: null
      duration: 0.21
'''

from ansible_collections.hostnet.vif.plugins.module_utils._module_glue import VifModule, run
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.relay import RELAY


def main():
    module = VifModule(argument_spec=RELAY.argument_spec(), supports_check_mode=True,
                       mutually_exclusive=[('lower', 'lowers')], required_one_of=[('lower', 'lowers')])
    run(module, RELAY)


if __name__ == '__main__':
    main()
