"""hostnet.vif.libvirt_interfaces: the values it writes into libvirt's XML, from the ready profiles and from
vif_info facts, and the input it refuses (test_libvirt_schema.py validates the same documents with libvirt's
own schema)."""

import xml.etree.ElementTree as ET

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hostnet.vif.plugins.filter.libvirt_interfaces import FilterModule, libvirt_interfaces
from ansible_collections.hostnet.vif.tests.unit.plugins.filter.libvirt_cases import FACTS, profile


def parsed(items):
    return dict((item['name'], ET.fromstring(item['xml'])) for item in items)


def attrs(element, path):
    found = element.find(path)
    return None if found is None else dict(found.attrib)


def test_bridge_local_profile_gives_direct_bridge_nics_and_skips_the_hosts_macvlan():
    result = libvirt_interfaces(profile('bridge_local', profile_uplink='uplink'))
    assert [(i['name'], i['kind'], i['type']) for i in result['interfaces']] == [
        ('vm0tap', 'macvtap', 'direct'), ('vm1tap', 'macvtap', 'direct')]
    nics = parsed(result['interfaces'])
    assert attrs(nics['vm0tap'], 'source') == {'dev': 'uplink', 'mode': 'bridge'}
    assert attrs(nics['vm0tap'], 'model') == {'type': 'virtio'}
    assert nics['vm0tap'].find('mac') is None  # the profile chose none: libvirt generates it
    assert result['networks'] == []


def test_sriov_passthru_profile_gives_passthrough_nics_on_the_vfs_and_a_vf_pool():
    result = libvirt_interfaces(profile('sriov_passthru', profile_pf='enp3s0f0',
                                        profile_vf_netdevs=['enp3s0f0v0', 'enp3s0f0v1']))
    nics = parsed(result['interfaces'])
    assert sorted(nics) == ['pt-enp3s0f0v0', 'pt-enp3s0f0v1']
    assert attrs(nics['pt-enp3s0f0v1'], 'source') == {'dev': 'enp3s0f0v1', 'mode': 'passthrough'}
    [network] = result['networks']
    assert (network['name'], network['pf'], network['mode']) == ('hostnet-enp3s0f0', 'enp3s0f0', 'hostdev')
    element = ET.fromstring(network['xml'])
    assert element.findtext('name') == 'hostnet-enp3s0f0'
    assert attrs(element, 'forward') == {'mode': 'hostdev', 'managed': 'yes'}
    assert attrs(element, 'forward/pf') == {'dev': 'enp3s0f0'}
    assert attrs(ET.fromstring(network['interface_xml']), 'source') == {'network': 'hostnet-enp3s0f0'}
    passthrough = libvirt_interfaces(profile('sriov_passthru'), vf_network='passthrough', network_prefix='pool-')
    element = ET.fromstring(passthrough['networks'][0]['xml'])
    assert element.findtext('name') == 'pool-eth2' and attrs(element, 'forward') == {'mode': 'passthrough'}


@pytest.mark.parametrize('name', ['vepa_edge', 'private_isolated'])
def test_profiles_without_vm_nics_give_nothing(name):
    assert libvirt_interfaces(profile(name)) == {'interfaces': [], 'networks': []}


def test_role_variables_holding_the_spec_and_the_spec_itself_give_the_same():
    variables = profile('bridge_local')
    assert libvirt_interfaces(variables) == libvirt_interfaces(variables['host_profile_spec'])


def test_profile_entries_map_mac_mode_taps_and_ipvtap():
    spec = {
        'macvtap': [{'name': 'vm0', 'lower': 'eth1', 'mode': 'private', 'mac': '02-AA-00-00-00-01'},
                    {'name': 'vm1', 'lower': 'eth1'},
                    {'name': 'gone', 'lower': 'eth1', 'state': 'absent'}],
        'ipvtap': [{'name': 'ipvt0', 'lower': 'eth3', 'mode': 'l2'}],
        'taps': [{'name': 'vnet0', 'bridge': 'br0', 'mac': '02:00:00:00:00:09'}, {'name': 'vnet1'},
                 {'name': 'tun0', 'mode': 'tun'}],
    }
    result = libvirt_interfaces(spec, model='e1000e')
    nics = parsed(result['interfaces'])
    assert sorted(nics) == ['ipvt0', 'vm0', 'vm1', 'vnet0', 'vnet1']
    assert attrs(nics['vm0'], 'mac') == {'address': '02:aa:00:00:00:01'}
    assert attrs(nics['vm0'], 'source') == {'dev': 'eth1', 'mode': 'private'}
    assert attrs(nics['vm1'], 'source') == {'dev': 'eth1', 'mode': 'vepa'}  # macvtap's default mode
    assert nics['ipvt0'].get('type') == 'ethernet'
    assert attrs(nics['ipvt0'], 'target') == {'dev': 'ipvt0', 'managed': 'no'}
    # A tap exists before the VM: only type='ethernet' managed='no' may use it (libvirt 9.0 refuses it for
    # type='bridge'); the bridge port stays in its bridge, reported beside the XML.
    for name, bridge in (('vnet0', 'br0'), ('vnet1', None)):
        assert nics[name].get('type') == 'ethernet' and nics[name].find('source') is None
        assert attrs(nics[name], 'target') == {'dev': name, 'managed': 'no'}
        assert [i['bridge'] for i in result['interfaces'] if i['name'] == name] == [bridge]
    assert nics['vnet0'].find('mac') is None  # the tap's MAC is the host side's
    assert attrs(nics['vnet1'], 'model') == {'type': 'e1000e'}
    assert all(nic.find('model') is None for nic in parsed(libvirt_interfaces(spec, model='')['interfaces']).values())


def test_facts_give_every_vm_nic_with_its_mac_and_the_free_vfs_as_hostdev():
    result = libvirt_interfaces(FACTS)
    summary = [(i['name'], i['kind'], i['type']) for i in result['interfaces']]
    assert summary == [
        ('vm-vepa', 'macvtap', 'direct'), ('vm-bridge', 'macvtap', 'direct'), ('vm-private', 'macvtap', 'direct'),
        ('pt-eth2v0', 'macvtap', 'direct'), ('vm-ipvtap', 'ipvtap', 'ethernet'),
        ('vnet0', 'tap', 'ethernet'), ('vnet1', 'tap', 'ethernet'),
        ('eth2-vf1', 'vf', 'hostdev'), ('eth2-vf2', 'vf', 'hostdev')]  # VF 0 is pt-eth2v0's lower
    nics = parsed(result['interfaces'])
    for name, mode, mac in (('vm-vepa', 'vepa', '02:00:00:00:01:02'), ('vm-bridge', 'bridge', '02:00:00:00:01:03'),
                            ('vm-private', 'private', '02:00:00:00:01:04'),
                            ('pt-eth2v0', 'passthrough', '02:00:00:00:02:00')):
        assert attrs(nics[name], 'source')['mode'] == mode and attrs(nics[name], 'mac') == {'address': mac}
    assert attrs(nics['vm-ipvtap'], 'mac') == {'address': '02:00:00:00:03:00'}
    assert attrs(nics['vnet0'], 'target') == {'dev': 'vnet0', 'managed': 'no'}
    assert result['interfaces'][5]['bridge'] == 'br0'
    assert nics['eth2-vf1'].get('managed') == 'yes'
    assert attrs(nics['eth2-vf1'], 'source/address') == {
        'type': 'pci', 'domain': '0x0000', 'bus': '0x03', 'slot': '0x10', 'function': '0x4'}
    assert attrs(nics['eth2-vf1'], 'mac') == {'address': '02:00:00:00:02:01'}
    assert nics['eth2-vf2'].find('mac') is None  # all-zero: the PF driver has none set
    vf1 = result['interfaces'][7]
    assert (vf1['pf'], vf1['vf'], vf1['pci_address']) == ('eth2', 1, '0000:03:10.4')
    assert [n['name'] for n in result['networks']] == ['hostnet-eth2']  # eth4 has no VFs


def test_facts_with_macvtap_ethernet_hand_over_the_existing_devices():
    nics = parsed(libvirt_interfaces(FACTS, macvtap='ethernet')['interfaces'])
    for name in ('vm-vepa', 'vm-bridge', 'vm-private', 'pt-eth2v0'):
        assert nics[name].get('type') == 'ethernet' and nics[name].find('source') is None
        assert attrs(nics[name], 'target') == {'dev': name, 'managed': 'no'}


def test_source_mode_has_no_libvirt_direct_mode_but_can_be_handed_over():
    spec = {'macvtap': [{'name': 'vm0', 'lower': 'eth1', 'mode': 'source', 'source_macs': ['02:00:00:00:00:01']}]}
    with pytest.raises(AnsibleFilterError, match=r"macvtap\[0\]\.mode='source' is invalid: libvirt's type='direct'"):
        libvirt_interfaces(spec)
    assert libvirt_interfaces(spec, macvtap='ethernet')['interfaces'][0]['type'] == 'ethernet'


HOSTILE = ["vm0'/><hostdev", 'vm0" mode="passthrough', 'a&b', 'vm<0>', 'vm 0', 'vm\n0', '../x', 'vm0;id', '',
           'x' * 16, '.', 'vm$0', 'vm0\x00eth0']


@pytest.mark.parametrize('value', HOSTILE)
@pytest.mark.parametrize('where', ['macvtap.name', 'macvtap.lower', 'taps.name', 'taps.bridge', 'sriov.pf',
                                   'facts.name', 'facts.lower', 'facts.sriov'])
def test_hostile_names_are_refused_naming_the_field_and_value(where, value):
    section, field = where.split('.')
    if section == 'facts':
        data = {'links': [{'name': 'vm0', 'kind': 'macvtap', 'mode': 'bridge', 'lower': 'eth1'}], 'sriov': []}
        if field == 'sriov':
            data['sriov'] = [{'name': value, 'numvfs': 1, 'vfs': []}]
            field = 'sriov[0].name'
        else:
            data['links'][0][field] = value
            field = 'links[0].%s' % field
    else:
        entry = {'macvtap': {'name': 'vm0', 'lower': 'eth1', 'mode': 'bridge'}, 'taps': {'name': 'vnet0'},
                 'sriov': {'pf': 'eth2', 'num_vfs': 2}}[section]
        entry[field] = value
        data = {section: [entry]}
        field = '%s[0].%s' % (section, field)
    if value == '' and field.endswith(('bridge', 'lower')):
        return  # empty means none there (no bridge; a lower from another namespace): not a name to check
    with pytest.raises(AnsibleFilterError) as caught:
        libvirt_interfaces(data)
    assert caught.value.message.startswith('libvirt_interfaces: ') and '%s=%r is invalid' % (field, value) in \
        caught.value.message


@pytest.mark.parametrize('data, message', [
    ({'macvtap': [{'name': 'vm0', 'lower': 'eth1', 'mode': 'promisc'}]}, "macvtap[0].mode='promisc' is invalid"),
    ({'macvtap': [{'name': 'vm0', 'mode': 'bridge'}]}, 'macvtap[0].lower=None is invalid'),
    ({'macvtap': [{'name': 'vm0', 'lower': 'eth1', 'mac': '01:00:5e:00:00:01'}]}, "macvtap[0].mac='01:00:5e"),
    ({'macvtap': [{'name': 'vm0', 'lower': 'eth1', 'mac': "02:00:00:00:00:01'/>"}]}, 'macvtap[0].mac='),
    ({'macvtap': 'vm0'}, "macvtap='vm0' is invalid"),
    ({'macvtap': ['vm0']}, "macvtap[0]='vm0' is invalid"),
    ({'sriov': [{'pf': '0000:03:00.0', 'num_vfs': 2}]}, "sriov[0].pf='0000:03:00.0' is invalid"),
    ({'links': [], 'sriov': [{'name': 'eth2', 'numvfs': 1, 'vfs': [{'vf': 0, 'pci_address': "0000:03:10.0'/>"}]}]},
     'sriov[0].vfs[0].pci_address='),
    ({'host_profile_spec': 'vm0'}, "host_profile_spec='str' is invalid"),
    (['vm0'], "_input='list' is invalid"),
])
def test_bad_input_is_refused_with_field_and_value(data, message):
    with pytest.raises(AnsibleFilterError) as caught:
        libvirt_interfaces(data)
    assert message in caught.value.message


@pytest.mark.parametrize('option, value', [
    ('macvtap', 'bridge'), ('vf_network', 'nat'), ('network_prefix', "x'/><forward"), ('network_prefix', 'a/b'),
    ('model', 'virtio"/><x'), ('model', 5)])
def test_bad_options_are_refused(option, value):
    with pytest.raises(AnsibleFilterError, match='%s=' % option):
        libvirt_interfaces({}, **{option: value})


def test_the_filter_is_registered():
    assert FilterModule().filters()['libvirt_interfaces'] is libvirt_interfaces
