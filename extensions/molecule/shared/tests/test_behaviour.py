"""Molecule verifier (testinfra, ansible backend: commands run inside the instance's network
namespace through the hostnet.vif.netns connection). Tests behaviour with real frames between the
profile's endpoints, not just configuration: VEPA endpoints reach each other through a switch that
hairpins; private ones never (broadcast nor unicast) on a switch port that does not hairpin; the
host reaches its bridge-mode macvtap guests through its own bridge-mode macvlan; passthru macvtaps
own their (emulated) VFs: another link on a VF is refused and frames from the wire reach the VM's
character device."""

import json
import os
import sys
import uuid

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ['MOLECULE_INVENTORY_FILE']).get_hosts('all')

SCENARIO = os.environ['HOSTNET_SCENARIO']
FRAMES = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], 'tests', 'kernel', 'frames.py')
PY = sys.executable


def links(host):
    out = host.check_output('ip -j -d link show')
    return dict((link['ifname'], link) for link in json.loads(out))


def mode_of(link):
    return link['linkinfo']['info_kind'], link['linkinfo']['info_data']['mode']


def frames_between(host, sender, receiver, reader=None, dst=None):
    """Source MACs the receiver saw of frames the sender sent to the receiver's MAC (or to dst)."""
    have = links(host)
    src, dst = have[sender]['address'], dst or have[receiver]['address']
    tag = uuid.uuid4().hex[:12]
    listen = reader or '%s %s recv %s 1.5 %s' % (PY, FRAMES, receiver, tag)
    out_file = '/run/hvmol-%s.out' % tag
    script = '%s > %s & sleep 0.5; %s %s send %s %s %s %s 3; wait; cat %s; rm -f %s' % (
        listen.replace('TAG', tag), out_file, PY, FRAMES, sender, src, dst, tag, out_file, out_file)
    out = host.check_output("sh -c '%s'" % script)
    return set(line for line in out.split() if line != 'READY')


def test_the_profile_is_in_place(host):
    have = links(host)
    expected = {
        'vepa_edge': {'vepa0': ('macvlan', 'vepa'), 'vepa1': ('macvlan', 'vepa')},
        'bridge_local': {'vm0tap': ('macvtap', 'bridge'), 'vm1tap': ('macvtap', 'bridge'),
                         'hostside': ('macvlan', 'bridge')},
        'private_isolated': {'tenant0': ('macvlan', 'private'), 'tenant1': ('macvlan', 'private')},
        'host_profile': {'vepa0': ('macvlan', 'vepa'), 'vepa1': ('macvlan', 'vepa'), 'hostside': ('macvlan', 'bridge'),
                         'vm0tap': ('macvtap', 'bridge')},
        'sriov_passthru': {'pt-pfemu0v0': ('macvtap', 'passthru'), 'pt-pfemu0v1': ('macvtap', 'passthru')},
    }[SCENARIO]
    assert dict((name, mode_of(have[name])) for name in expected) == expected
    lowers = ['pfemu0v0', 'pfemu0v1'] if SCENARIO == 'sriov_passthru' else ['uplink']
    assert [name for name in lowers if 'UP' in have[name]['flags']] == lowers
    if SCENARIO == 'host_profile':
        taps = dict((name, have[name]['linkinfo']['info_data']) for name in ('vnet0', 'vnet1'))
        assert [(t['type'], t['vnet_hdr'], t['multi_queue']) for t in taps.values()] == [
            ('tap', True, False), ('tap', True, True)]
        assert have['vnet0']['master'] == have['vnet1']['master'] == 'br0'
        ports = dict((name, have[name]['linkinfo']['info_slave_data']['hairpin']) for name in ('vnet0', 'vnet1'))
        assert ports == {'vnet0': True, 'vnet1': False}


def test_endpoints_reach_each_other_as_the_mode_says(host):
    have = links(host)
    if SCENARIO in ('vepa_edge', 'host_profile'):  # the switch port hairpins (platform hairpin: true)
        assert frames_between(host, 'vepa0', 'vepa1') == {have['vepa0']['address']}
    elif SCENARIO == 'private_isolated':  # never: private mode, and a switch port that does not hairpin
        assert frames_between(host, 'tenant0', 'tenant1') == set()
        assert frames_between(host, 'tenant0', 'tenant1', dst='ff:ff:ff:ff:ff:ff') == set()
    elif SCENARIO == 'sriov_passthru':  # a frame on a VF's wire reaches the VM holding its passthru macvtap
        reader = '%s %s tapread %s 1.5 TAG' % (PY, FRAMES, macvtap_device(host, 'pt-pfemu0v0'))
        assert frames_between(host, 'pfemu0p0', 'pt-pfemu0v0', reader=reader) == {have['pfemu0p0']['address']}
    else:  # the host reaches a bridge-mode guest: frames from hostside read from vm0tap's device
        reader = '%s %s tapread %s 1.5 TAG' % (PY, FRAMES, macvtap_device(host, 'vm0tap'))
        assert frames_between(host, 'hostside', 'vm0tap', reader=reader) == {have['hostside']['address']}


def macvtap_device(host, name):
    info = host.ansible('hostnet.vif.vif_info', 'kinds=macvtap', check=False)
    return dict((link['name'], link['device']['path']) for link in info['vif']['links'])[name]


@pytest.mark.skipif(SCENARIO != 'sriov_passthru', reason='only the sriov_passthru scenario has VFs')
def test_passthru_macvtaps_own_their_emulated_vfs(host):
    """sriov_passthru only: the VF count is the emulated PF's (its sysfs, read through the
    holder's mount namespace) and persisted; each passthru macvtap carries its VF's MAC, and the
    kernel refuses a second link on a VF that a passthru macvtap holds."""
    assert host.file('/sys/class/net/pfemu0/device/sriov_numvfs').content_string.strip() == '2'
    persisted = host.file('/run/hvmol-sriov.persist/70-hostnet-vif-sriov-0000-03-00.0.link')
    assert persisted.contains('SR-IOVVirtualFunctions=2')
    have = links(host)
    assert [have['pt-pfemu0v%d' % n]['address'] for n in (0, 1)] == [have['pfemu0v%d' % n]['address'] for n in (0, 1)]
    refused = host.run('ip link add hvmol-extra link pfemu0v0 type macvlan mode bridge')
    if refused.rc == 0:
        host.run('ip link del hvmol-extra')
    assert refused.rc != 0, 'a second link on a passthru lower was accepted'
