"""hostnet.vif.vif_info against a namespace holding every kind of object; the kernel (iproute2
JSON, sysfs, stat of /dev nodes) is the oracle."""

import os

import pytest
from conftest import links, sh

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kernel, _pipeline as pipeline


@pytest.fixture
def zoo(ns):
    """v0: vepa, bridge, private, source links (macvlan and macvtap); w0: a passthru macvtap;
    taps with different owners and flags, two of them ports of br0 (hairpin on/off)."""
    sh('ip', '-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1')
    pipeline.run_links(dict(netns=ns, lower='v0', links=[
        dict(name='mv-vepa', mode='vepa'), dict(name='mv-bridge', mode='bridge', mtu=1400),
        dict(name='mv-private', mode='private', admin_state='down'),
        dict(name='mv-src', mode='source', source_macs=['02:00:5e:00:00:02', '02:00:5e:00:00:01'])]), 'macvlan')
    pipeline.run_links(dict(netns=ns, lower='v0', links=[dict(name='mt-bridge', mode='bridge', owner='65534',
                                                              device_mode='0660')]), 'macvtap')
    pipeline.run_links(dict(netns=ns, name='mt-pt', lower='w0', mode='passthru', nopromisc=True), 'macvtap')
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tp-a', 'mode', 'tap', 'user', '65534', 'group', '65534',
       'multi_queue', 'vnet_hdr')
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tp-b', 'mode', 'tap')
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tn-c', 'mode', 'tun', 'pi')
    sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    for port in ('tp-a', 'tp-b'):
        sh('ip', '-n', ns, 'link', 'set', port, 'master', 'br0')
    sh('ip', '-n', ns, 'link', 'set', 'tp-a', 'type', 'bridge_slave', 'hairpin', 'on')
    return ns


def test_every_macvlan_and_macvtap_field_matches_the_kernel(zoo):
    facts = pipeline.run_info(dict(netns=zoo))
    assert facts['changed'] is False
    got = dict((link['name'], link) for link in facts['vif']['links'])
    assert sorted(got) == ['mt-bridge', 'mt-pt', 'mv-bridge', 'mv-private', 'mv-src', 'mv-vepa']
    oracle = links(zoo)
    for name, link in got.items():
        seen = oracle[name]
        data = seen['linkinfo']['info_data']
        assert link['kind'] == seen['linkinfo']['info_kind']
        assert (link['index'], link['lower'], link['mode']) == (seen['ifindex'], seen['link'], data['mode'])
        assert (link['mac'], link['mtu']) == (seen['address'], seen['mtu'])
        assert link['admin_state'] == ('up' if 'UP' in seen['flags'] else 'down')
        assert link['oper_state'] == seen['operstate'].lower()
        assert link['nopromisc'] is bool(data.get('nopromisc'))
        assert link['source_macs'] == sorted(data.get('macaddr_data') or [])
        assert link['netns'] == zoo
    assert got['mv-src']['source_macs'] == ['02:00:5e:00:00:01', '02:00:5e:00:00:02']
    assert got['mt-pt']['nopromisc'] is True and got['mv-private']['admin_state'] == 'down'
    dev = got['mt-bridge']['device']
    st = os.stat(dev['path'])
    assert '%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)) == dev['major_minor']
    assert (dev['owner'], dev['group'], dev['mode']) == (65534, 0, '0660')
    sysfs = sh('ip', 'netns', 'exec', zoo, 'sh', '-c', 'cat /sys/class/net/mt-bridge/macvtap/*/dev').stdout.strip()
    assert dev['major_minor'] == sysfs


def test_lower_view_says_what_sits_on_each_device(zoo):
    lowers = pipeline.run_info(dict(netns=zoo))['vif']['lowers']
    assert lowers['v0']['modes'] == ['bridge', 'private', 'source', 'vepa']
    assert [x['name'] for x in lowers['v0']['links']] == ['mt-bridge', 'mv-bridge', 'mv-private', 'mv-src', 'mv-vepa']
    assert lowers['v0']['passthru'] is False
    assert lowers['w0'] == {'links': [{'name': 'mt-pt', 'kind': 'macvtap', 'mode': 'passthru'}],
                            'modes': ['passthru'], 'passthru': True}


def test_taps_and_bridge_ports(zoo):
    vif = pipeline.run_info(dict(netns=zoo))['vif']
    taps = dict((tap['name'], tap) for tap in vif['taps'])
    assert (taps['tp-a']['type'], taps['tp-a']['owner'], taps['tp-a']['group']) == ('tap', 65534, 65534)
    assert (taps['tp-a']['multi_queue'], taps['tp-a']['vnet_hdr'], taps['tp-a']['packet_info']) == (True, True, False)
    assert (taps['tp-b']['owner'], taps['tp-b']['multi_queue'], taps['tp-b']['vnet_hdr']) == (None, False, False)
    assert (taps['tn-c']['type'], taps['tn-c']['packet_info'], taps['tn-c']['bridge']) == ('tun', True, None)
    assert all(tap['persistent'] for tap in taps.values())
    assert taps['tp-a']['bridge'] == 'br0'
    ports = dict((port['name'], port) for port in vif['bridge_ports'])
    assert sorted(ports) == ['tp-a', 'tp-b']
    assert (ports['tp-a']['hairpin'], ports['tp-b']['hairpin'], ports['tp-a']['bridge']) == (True, False, 'br0')


def test_filters_by_kind_and_lower(zoo):
    vif = pipeline.run_info(dict(netns=zoo, kinds=['macvtap'], lower='w0'))['vif']
    assert [link['name'] for link in vif['links']] == ['mt-pt']
    assert list(vif['lowers']) == ['w0'] and vif['taps'] == [] and vif['bridge_ports'] == [] and vif['sriov'] == []


def test_colliding_ifindex_namespaces_stay_distinct(endpoint_ns):
    spaces = [endpoint_ns(), endpoint_ns()]
    for space in spaces:
        sh('ip', '-n', space, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
        pipeline.run_links(dict(netns=space, name='vt', lower='v0', mode='bridge'), 'macvtap')
    views = [pipeline.run_info(dict(netns=space))['vif']['links'][0] for space in spaces]
    assert views[0]['index'] == views[1]['index'] and views[0]['mac'] != views[1]['mac']
    assert views[0]['device']['path'] != views[1]['device']['path']
    for space, view in zip(spaces, views):
        assert view['mac'] == links(space)['vt']['address']
        sysfs = sh('ip', 'netns', 'exec', space, 'sh', '-c', 'cat /sys/class/net/vt/macvtap/*/dev').stdout.strip()
        assert view['device']['major_minor'] == sysfs
        st = os.stat(view['device']['path'])
        assert '%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)) == sysfs


def test_no_sriov_device_here_gives_an_empty_list(ns):
    """This machine has no SR-IOV device: the real sysfs yields [] (no error), root and namespace."""
    assert pipeline.run_info(dict(netns=ns))['vif']['sriov'] == []
    assert pipeline.run_info(dict(kinds=['sriov']))['vif']['sriov'] == []


def test_sriov_sysfs_reader_on_an_emulated_tree(tmp_path):
    """EMULATION (no SR-IOV hardware here): a directory laid out like sysfs for a PF with two VFs,
    one bound to vfio-pci without a netdev, one to igbvf with netdev eth5."""
    pci = tmp_path / 'devices' / '0000:01:00.0'
    (tmp_path / 'class' / 'net').mkdir(parents=True)
    pci.mkdir(parents=True)
    for name, value in (('sriov_totalvfs', '7'), ('sriov_numvfs', '2'), ('sriov_drivers_autoprobe', '1')):
        (pci / name).write_text(value + '\n')
    drivers = tmp_path / 'drivers'
    for vf, (bdf, driver, netdev) in enumerate((('0000:01:10.0', 'vfio-pci', None), ('0000:01:10.1', 'igbvf', 'eth5'))):
        vf_dir = tmp_path / 'devices' / bdf
        vf_dir.mkdir()
        (drivers / driver).mkdir(parents=True, exist_ok=True)
        os.symlink(str(drivers / driver), str(vf_dir / 'driver'))
        if netdev:
            (vf_dir / 'net' / netdev).mkdir(parents=True)
        os.symlink(str(vf_dir), str(pci / ('virtfn%d' % vf)))
    (tmp_path / 'class' / 'net' / 'pf0').mkdir()
    os.symlink(str(pci), str(tmp_path / 'class' / 'net' / 'pf0' / 'device'))
    (tmp_path / 'class' / 'net' / 'lo').mkdir()
    assert kernel.read_sriov_sysfs(str(tmp_path)) == [{
        'name': 'pf0', 'pci_address': '0000:01:00.0', 'totalvfs': 7, 'numvfs': 2, 'drivers_autoprobe': True,
        'vfs': [{'vf': 0, 'pci_address': '0000:01:10.0', 'driver': 'vfio-pci', 'netdevs': []},
                {'vf': 1, 'pci_address': '0000:01:10.1', 'driver': 'igbvf', 'netdevs': ['eth5']}]}]


def test_vf_settings_parser_on_a_message_encoded_by_pyroute2():
    """EMULATION (no SR-IOV hardware here): an RTM_NEWLINK carrying IFLA_VFINFO_LIST as a PF driver
    would send it, encoded and decoded by pyroute2 itself; a setting the driver does not implement
    (-1) reads as null."""
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    msg = ifinfmsg()
    msg['attrs'] = [('IFLA_IFNAME', 'pf0'), ('IFLA_VFINFO_LIST', {'attrs': [('IFLA_VF_INFO', {'attrs': [
        ('IFLA_VF_MAC', {'vf': 1, 'mac': '02:00:5e:00:00:aa'}), ('IFLA_VF_VLAN', {'vf': 1, 'vlan': 100, 'qos': 3}),
        ('IFLA_VF_SPOOFCHK', {'vf': 1, 'spoofchk': 1}), ('IFLA_VF_TRUST', {'vf': 1, 'trust': 0xffffffff}),
        ('IFLA_VF_LINK_STATE', {'vf': 1, 'link_state': 2}),
        ('IFLA_VF_RATE', {'vf': 1, 'min_tx_rate': 0, 'max_tx_rate': 500}),
        ('IFLA_VF_VLAN_LIST', {'attrs': [
            ('IFLA_VF_VLAN_INFO', {'vf': 1, 'vlan': 100, 'qos': 3, 'proto': 0x88a8})]})]})]})]
    msg.encode()
    decoded = ifinfmsg(msg.data)
    decoded.decode()
    assert kernel.parse_vf_info(decoded) == [{
        'vf': 1, 'mac': '02:00:5e:00:00:aa', 'vlan': 100, 'qos': 3, 'min_tx_rate': 0, 'max_tx_rate': 500,
        'spoofchk': True, 'trust': None, 'link_state': 'disable', 'vlan_proto': '802.1ad'}]
