"""The lean parsers on a REAL SR-IOV PF: Debian's igb driving QEMU's 82576 in the guest of
scripts/qemu-sriov (never on the host: the test needs the igb PF and refuses to run without it).
The PF's VF list, set with iproute2, reads the same through the lean parser as through pyroute2's
full decode (and as iproute2 reports it); mutated copies of the PF's real message never crash it."""

import json
import random
import struct
import subprocess

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _linkparse as lp

from test_igb import DEVICE, PF, _write  # the igb guest's PF and its sysfs writer


@pytest.fixture
def igb_vfs():
    """The igb PF with 3 VFs set by iproute2 (one with every setting igb implements), back to 0 after."""
    with open(DEVICE + '/sriov_totalvfs') as handle:
        assert handle.read().strip() == '7', 'not the igb guest of scripts/qemu-sriov'
    _write('sriov_numvfs', 0)
    _write('sriov_numvfs', 3)
    try:
        for args in (('vf', '0', 'mac', '02:00:5e:00:40:00', 'vlan', '100', 'qos', '3', 'spoofchk', 'off',
                      'trust', 'on'),
                     ('vf', '1', 'mac', '02:00:5e:00:40:01', 'vlan', '4094'),
                     ('vf', '2', 'spoofchk', 'on', 'trust', 'off')):
            subprocess.run(['ip', 'link', 'set', PF] + list(args), check=True)
        yield
    finally:
        _write('sriov_numvfs', 0)


def test_the_pf_and_its_vfs_read_the_same_through_the_lean_parsers(igb_vfs):
    from pyroute2 import IPRoute
    with IPRoute() as ipr:
        assert lp.request_style(ipr) == 'request'  # the pinned pyroute2 0.9.7 has the hook
        pf = ipr.link_lookup(ifname=PF)[0]
        full_msg = ipr.link('get', index=pf, ext_mask=1)[0]
        lean = lp.read_vf_info(ipr, pf)
        assert lean == lp.parse_vf_info(full_msg)
        # every link of the guest (the PF, its igbvf netdevs, lo): the same link states
        links = lp.read_links(ipr)
        assert links == [lp.parse_link(msg) for msg in ipr.link('dump')]
        raw = bytes(full_msg.data[full_msg.offset:full_msg.offset + full_msg['header']['length']])
    shown = json.loads(subprocess.run(['ip', '-j', 'link', 'show', PF], check=True, capture_output=True,
                                      text=True).stdout)[0]['vfinfo_list']
    assert [vf['vf'] for vf in lean] == [vf['vf'] for vf in shown] == [0, 1, 2]
    for got, seen in zip(lean, shown):
        vlan = (seen.get('vlan_list') or [{}])[0]
        assert (got['mac'], got['vlan'] or None, got['qos'] or None, got['spoofchk'], got['trust']) == (
            seen['address'], vlan.get('vlan'), vlan.get('qos'), seen['spoofchk'], seen['trust'])
    assert (lean[0]['vlan'], lean[0]['qos'], lean[0]['spoofchk'], lean[0]['trust']) == (100, 3, False, True)
    assert any(link['name'] == PF and link['kind'] is None for link in links)

    # a few hundred mutations of the PF's real message (Python is slow under TCG): a VF list or
    # LinkParseError, nothing else
    rng = random.Random(14)
    outcomes = {'record': 0, 'LinkParseError': 0}
    for _round in range(600):
        data = bytearray(raw)
        pos = rng.randrange(32, len(data) - 2)
        if rng.random() < 0.5:
            data[pos:pos + 2] = struct.pack('=H', rng.choice((0, 3, 4, 8, 0xffff, rng.randrange(0x10000))))
        else:
            data = data[:pos]
        try:
            lp.lean_vf_info(bytes(data), 0, len(data))
            outcomes['record'] += 1
        except lp.LinkParseError:
            outcomes['LinkParseError'] += 1
    assert outcomes['record'] > 50 and outcomes['LinkParseError'] > 50, outcomes
