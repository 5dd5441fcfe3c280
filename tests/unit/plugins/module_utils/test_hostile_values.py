"""Hostile values (issue 15, points 1, 3, 6, 7, 8 and 12): every one is refused by validation with a
VifError naming the field and the value, before anything reaches the kernel."""

import os

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import (
    _kernel as kernel,
    _model as model,
    _pipeline as pipeline,
)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import hairpin, macv, sriov, tap
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def refused(func, *args):
    with pytest.raises(VifError) as err:
        func(*args)
    return err.value


# -- point 1: names ------------------------------------------------------------------------------

BAD_NAMES = ['vnet0\x00x', 'vnet0\x00', 'a\x01b', 'a\x7fb', 'eth\u00e9', 'eth*', 'eth?', 'eth[0]', 'eth]', '!eth0',
             "eth'0", 'eth"0', 'eth\\0', 'a b', 'a\tb', 'a\nb', 'a/b', 'a:b', '.', '..', '', 'a' * 16]


@pytest.mark.parametrize('name', BAD_NAMES)
def test_every_name_field_refuses_control_glob_quote_and_non_ascii_characters(name):
    cases = [
        (lambda: macv.HANDLERS['macvlan'].build_specs({'name': name, 'lower': 'eth1'}), 'name'),
        (lambda: macv.HANDLERS['macvtap'].build_specs({'links': [{'name': name, 'lower': 'eth1'}]}), 'links[0].name'),
        (lambda: macv.HANDLERS['macvlan'].build_specs({'name': 'a', 'lower': name}), 'lower'),
        (lambda: tap.build_tap_specs({'name': name}), 'name'),
        (lambda: tap.build_tap_specs({'taps': [{'name': 'vnet1', 'bridge': name}]}), 'bridge'),
        (lambda: hairpin.build_hairpin_specs({'ports': [name]}), 'ports[0].name'),
        (lambda: sriov.build_sriov_specs({'pf': name}), 'pf'),
    ]
    if name == '':
        del cases[4]  # bridge: '' is documented: "not a port of any bridge"
    for build, field in cases:
        err = refused(build)
        assert err.field == field and err.value == name and field in err.msg


def test_the_cut_name_case_is_refused_with_its_nul_visible():
    err = refused(tap.build_tap_specs, {'taps': [{'name': 'vnet0\x00x', 'owner': '0'}]})
    assert err.field == 'taps[0].name' and "'vnet0\\x00x'" in err.msg and 'printable ASCII' in err.msg


@pytest.mark.parametrize('name', ['eth1', 'vnet-0_a.b', 'a' * 15, 'x@y', 'br%1'])
def test_plain_names_still_pass(name):
    assert model.check_ifname(name) == name


# -- point 3: netns ----------------------------------------------------------------------------

@pytest.mark.parametrize('netns', ['/proc/1/ns/net', 'a/b', '..', '.', 'ns\u00e9', 'ns\x00', ' ns', 'ns\n', 'n*',
                                   '../../proc/1/ns/net', 'a' * 256, 5, ['ns']])
def test_netns_must_be_a_plain_name_before_any_path_is_built(netns):
    err = refused(kernel.check_netns, netns)
    assert err.field == 'netns' and err.value == netns
    err = refused(pipeline.run_links, {'name': 'a', 'lower': 'eth1', 'netns': netns}, 'macvlan')
    assert err.field == 'netns'
    err = refused(kernel.netns_path, netns)
    assert err.field == 'netns'


def test_a_long_plain_namespace_name_is_fine_for_the_syntax():
    assert model.check_netns_name('hvt-' + 'n' * 60) == 'hvt-' + 'n' * 60


# -- point 6: absent entries are validated too ---------------------------------------------------

@pytest.mark.parametrize('entry, field', [
    ({'name': 'a', 'state': 'absent', 'lower': 'eth1\x00'}, 'lower'),
    ({'name': 'a', 'state': 'absent', 'lower': 'eth*'}, 'lower'),
    ({'name': 'a', 'state': 'absent', 'mode': 'sideways'}, 'mode'),
    ({'name': 'a', 'state': 'absent', 'mac': '02:00:5e:00:00:01\n'}, 'mac'),
    ({'name': 'a', 'state': 'absent', 'mtu': '\n1500\n'}, 'mtu'),
    ({'name': 'a', 'state': 'absent', 'admin_state': 'sideways'}, 'admin_state'),
    ({'name': 'a', 'state': 'absent', 'owner': '99999999999'}, 'owner'),
    ({'name': 'a', 'state': 'absent', 'device_mode': '0660\n'}, 'device_mode'),
    ({'name': 'a', 'state': 'absent', 'source_macs': ['02:00:5e:00:00:01']}, 'source_macs'),
])
def test_absent_link_entries_validate_what_they_give(entry, field):
    err = refused(macv.HANDLERS['macvtap'].build_specs, {'links': [entry]})
    assert err.field == field and field in err.msg


def test_absent_entries_may_still_omit_lower():
    assert macv.HANDLERS['macvlan'].build_specs({'links': [{'name': 'a', 'state': 'absent'}]}) == [
        {'name': 'a', 'kind': 'macvlan', 'state': 'absent'}]
    assert tap.build_tap_specs({'taps': [{'name': 'a', 'state': 'absent'}]}) == [
        {'name': 'a', 'kind': 'tun', 'state': 'absent'}]


@pytest.mark.parametrize('entry, field', [
    ({'name': 'a', 'state': 'absent', 'owner': 'root\x00'}, 'owner'),
    ({'name': 'a', 'state': 'absent', 'bridge': 'br0\x00'}, 'bridge'),
    ({'name': 'a', 'state': 'absent', 'mode': 'tunnel'}, 'mode'),
    ({'name': 'a', 'state': 'absent', 'vnet_hdr': 'maybe'}, 'vnet_hdr'),
])
def test_absent_tap_entries_validate_what_they_give(entry, field):
    assert refused(tap.build_tap_specs, {'taps': [entry]}).field == field


# -- point 7: PCI addresses ----------------------------------------------------------------------

@pytest.mark.parametrize('pf', ['0000:03:00.0 junk', '0000:zz:00.0', '00000:03:00.0', '0000:03:00.0\n',
                                ' 0000:03:00.0', '0000:03:20.0', '0000:03:00.8', '0000:3:00.0', '0000:03:00',
                                '0000:03:00.0/../../x', 'abcd:'])
def test_pci_addresses_are_strict_and_say_what_is_expected(pf):
    err = refused(sriov.build_sriov_specs, {'pf': pf, 'num_vfs': 0})
    assert err.field == 'pf' and err.value == pf and 'dddd:bb:dd.f' in err.msg


def test_pci_domains_above_ffff_are_addresses_as_sysfs_names_them():
    assert sriov.build_sriov_specs({'pf': '10000:e1:00.0'})[0]['pf'] == '10000:e1:00.0'


def test_pci_addresses_are_lower_cased():
    assert sriov.build_sriov_specs({'pf': '0000:0A:1f.7'})[0]['pf'] == '0000:0a:1f.7'


def _pci_device(root, address, pci_class, net=None):
    """A directory with the layout of /sys/bus/pci/devices/<address> (a stand-in for sysfs: this
    machine has no SR-IOV device, and a non-network SR-IOV function cannot be emulated through a netdev)."""
    device = root / 'bus' / 'pci' / 'devices' / address
    device.mkdir(parents=True)
    for name, text in (('class', pci_class + '\n'), ('sriov_totalvfs', '8\n'), ('sriov_numvfs', '2\n'),
                       ('sriov_drivers_autoprobe', '1\n')):
        (device / name).write_text(text)
    if net:
        (device / 'net' / net).mkdir(parents=True)
    return device


@pytest.mark.parametrize('pci_class, why', [('0x010802', 'not a network device'), ('0x030000', 'not a network'),
                                            ('garbage', 'not a network'), ('0x020000', 'no net/ directory')])
def test_a_pci_function_that_is_no_network_device_is_not_found(tmp_path, pci_class, why):
    _pci_device(tmp_path, '0000:05:00.0', pci_class)
    state = kernel.read_sriov_pf(str(tmp_path), '0000:05:00.0')
    assert state['found'] is False and why in state['why']
    specs = sriov.build_sriov_specs({'pf': '0000:05:00.0', 'num_vfs': 0, 'allow_reset': True})
    err = refused(sriov.check_sriov_against, specs, {'0000:05:00.0': state})
    assert err.field == 'pf' and why in err.msg


def test_a_network_class_pf_is_read(tmp_path):
    _pci_device(tmp_path, '0000:05:00.0', '0x020000', net='eth5')
    state = kernel.read_sriov_pf(str(tmp_path), '0000:05:00.0')
    assert state['found'] and state['name'] == 'eth5' and state['numvfs'] == 2


def test_a_missing_class_file_is_not_a_network_device(tmp_path):
    device = _pci_device(tmp_path, '0000:05:00.0', '0x020000', net='eth5')
    os.unlink(str(device / 'class'))
    assert 'unreadable' in kernel.read_sriov_pf(str(tmp_path), '0000:05:00.0')['why']


# -- point 8: numbers and whitespace -------------------------------------------------------------

@pytest.mark.parametrize('value', ['4294967295', 4294967295, '99999999999', 99999999999, -1, '-1', '\u00b2',
                                   '\u0661\u0660\u0660\u0660', 'root\x00', ' 0', '0\n', '\n', '', True, 1.5, [0],
                                   {'a': 1}, 'ro ot'])
def test_owner_and_group_are_checked_before_any_lookup_or_ioctl(value):
    for kind, build in (('macvtap', lambda e: macv.HANDLERS['macvtap'].build_specs({'links': [e]})),
                        ('tap', lambda e: tap.build_tap_specs({'taps': [e]}))):
        for field in ('owner', 'group'):
            entry = {'name': 'x0', field: value}
            if kind == 'macvtap':
                entry['lower'] = 'eth1'
            err = refused(build, entry)
            assert err.field == field and field in err.msg, (kind, field)


@pytest.mark.parametrize('value, expected', [('0', 0), (0, 0), ('4294967294', 4294967294), ('root', 0)])
def test_owner_range_ends_and_names(value, expected):
    assert model.resolve_user(value) == expected


@pytest.mark.parametrize('field, value', [
    ('mtu', '\n1500\n'), ('mtu', ' 1500'), ('mtu', '\u0661\u0665\u0660\u0660'), ('mtu', '\u00b2'), ('mtu', 1500.5),
    ('mtu', True), ('mtu', '+1500'), ('mtu', '1_500'), ('mac', '02:00:5e:00:00:01\n'), ('mac', ' 02:00:5e:00:00:01'),
    ('mac', ['02:00:5e:00:00:01']), ('mode', 'bridge\n'), ('admin_state', 'up '), ('nopromisc', ' yes'),
    ('device_mode', '0660\n'), ('device_mode', '\u0660660'), ('device_mode', True), ('state', 'absent\n'),
])
def test_link_values_with_whitespace_or_foreign_digits_are_refused(field, value):
    entry = {'name': 'x0', 'lower': 'eth1', field: value}
    if field == 'nopromisc':
        entry['mode'] = 'passthru'
    err = refused(macv.HANDLERS['macvtap'].build_specs, {'links': [entry]})
    assert err.field == field and field in err.msg


@pytest.mark.parametrize('field, value', [('vf', ' 0'), ('vf', '\u0660'), ('vlan', '5\n'), ('qos', '\u00b2'),
                                          ('max_tx_rate', '99999999999'), ('min_tx_rate', True),
                                          ('mac', '02:00:5e:00:00:01\n'), ('spoofchk', 'on\n')])
def test_vf_values_are_strict(field, value):
    vf = {'vf': 0, 'vlan': 5, field: value}
    err = refused(sriov.build_sriov_specs, {'pf': 'eth5', 'vfs': [vf]})
    assert err.field == field and field in err.msg


@pytest.mark.parametrize('value', ['\u0662', ' 2', '2\n', True, 2.5, '0x2'])
def test_num_vfs_is_ascii_digits(value):
    assert refused(sriov.build_sriov_specs, {'pf': 'eth5', 'num_vfs': value}).field == 'num_vfs'


@pytest.mark.parametrize('field, value', [('lock_timeout', float('nan')), ('lock_timeout', -1),
                                          ('lock_timeout', float('inf')), ('lock_timeout', True)])
def test_timeouts_that_would_wait_forever_are_refused(field, value):
    err = refused(pipeline.run_links, {'name': 'a', 'lower': 'eth1', field: value}, 'macvlan')
    assert err.field == field


# -- point 12: the culprit named ------------------------------------------------------------------

def link(name, kind='macvlan', lower='eth1', mode='bridge', mac='02:00:5e:00:00:01', **extra):
    state = {'name': name, 'kind': kind, 'index': abs(hash(name)) % 1000 + 10, 'lower': lower, 'mode': mode,
             'mtu': 1500, 'loopback': False, 'mac': mac, 'admin_state': 'up', 'group': 0, 'nopromisc': False,
             'source_macs': [], 'lower_netnsid': None}
    state.update(extra)
    return state


CURRENT = {'lo': link('lo', kind=None, lower=None, loopback=True, mac='00:00:00:00:00:00'),
           'eth1': link('eth1', kind='veth', lower=None, mac='02:00:5e:00:0e:01')}


def test_the_passthru_link_the_task_asks_for_is_the_culprit():
    specs = macv.HANDLERS['macvlan'].build_specs({'lower': 'eth1', 'links': [
        {'name': 'mx1'}, {'name': 'mx2'}, {'name': 'mx3', 'mode': 'passthru'}]})
    err = refused(macv.HANDLERS['macvlan'].check_against, specs, CURRENT)
    assert err.obj == 'mx3' and err.msg.startswith('mx3:') and err.value == 'passthru'
    assert 'mx1 (macvlan vepa)' in err.msg and 'mx2 (macvlan vepa)' in err.msg


def test_a_task_link_beside_an_existing_passthru_is_still_the_culprit():
    current = dict(CURRENT, pt=link('pt', mode='passthru', kind='macvtap'))
    specs = macv.HANDLERS['macvlan'].build_specs({'name': 'mx1', 'lower': 'eth1'})
    err = refused(macv.HANDLERS['macvlan'].check_against, specs, current)
    assert err.obj == 'mx1' and 'pt (macvtap passthru)' in err.msg


def test_a_mac_held_by_an_existing_link_on_the_lower_is_refused_naming_both():
    current = dict(CURRENT, old=link('old', kind='macvtap', mac='02:00:5e:00:00:07'))
    specs = macv.HANDLERS['macvlan'].build_specs({'name': 'new', 'lower': 'eth1', 'mac': '02:00:5E:00:00:07'})
    err = refused(macv.HANDLERS['macvlan'].check_against, specs, current)
    assert err.field == 'mac' and err.obj == 'new' and 'existing macvtap old' in err.msg


def test_two_entries_with_one_mac_are_refused_naming_both():
    specs = macv.MACVLAN.build_specs({'lower': 'eth1', 'links': [{'name': 'a', 'mac': '02:00:5e:00:00:07'},
                                                                 {'name': 'b', 'mac': '02:00:5e:00:00:07'}]})
    err = refused(macv.HANDLERS['macvlan'].check_against, specs, CURRENT)
    assert err.field == 'mac' and err.obj == 'b' and 'macvlan a of this task' in err.msg


def test_the_lower_devices_own_mac_is_refused_outside_passthru():
    specs = macv.HANDLERS['macvlan'].build_specs({'name': 'a', 'lower': 'eth1', 'mac': '02:00:5e:00:0e:01'})
    assert 'lower device eth1 itself' in refused(macv.HANDLERS['macvlan'].check_against, specs, CURRENT).msg


@pytest.mark.parametrize('current, params, purge', [
    # the holder goes away in the same task: removed, purged, or it is the link itself
    (dict(CURRENT, old=link('old', mac='02:00:5e:00:00:07')), {'links': [
        {'name': 'old', 'state': 'absent'}, {'name': 'new', 'lower': 'eth1', 'mac': '02:00:5e:00:00:07'}]}, ()),
    (dict(CURRENT, old=link('old', mac='02:00:5e:00:00:07')),
     {'name': 'new', 'lower': 'eth1', 'mac': '02:00:5e:00:00:07'}, {'eth1'}),
    (dict(CURRENT, old=link('old', mac='02:00:5e:00:00:07')),
     {'name': 'old', 'lower': 'eth1', 'mac': '02:00:5e:00:00:07'}, ()),
    # another lower device, or the old link changes its own address away
    (dict(CURRENT, eth2=link('eth2', kind='veth', lower=None, mac='02:00:5e:00:0e:02'),
          old=link('old', lower='eth2', mac='02:00:5e:00:00:07')),
     {'name': 'new', 'lower': 'eth1', 'mac': '02:00:5e:00:00:07'}, ()),
    (dict(CURRENT, old=link('old', mac='02:00:5e:00:00:07')), {'lower': 'eth1', 'links': [
        {'name': 'old', 'mac': '02:00:5e:00:00:08'}, {'name': 'new', 'mac': '02:00:5e:00:00:07'}]}, ()),
    # the kernel checks addresses when a link goes up: a link that is or stays down holds none
    (dict(CURRENT, old=link('old', mac='02:00:5e:00:00:07', admin_state='down')),
     {'name': 'new', 'lower': 'eth1', 'mac': '02:00:5e:00:00:07'}, ()),
    (dict(CURRENT, old=link('old', mac='02:00:5e:00:00:07')),
     {'name': 'new', 'lower': 'eth1', 'mac': '02:00:5e:00:00:07', 'admin_state': 'down'}, ()),
    (CURRENT, {'name': 'new', 'lower': 'eth1', 'mac': '02:00:5e:00:0e:01', 'admin_state': 'down'}, ()),
])
def test_a_mac_freed_or_elsewhere_is_no_conflict(current, params, purge):
    macv.HANDLERS['macvlan'].check_against(macv.HANDLERS['macvlan'].build_specs(params), current, purge)


@pytest.mark.parametrize('value', [float('nan'), -1, float('inf')])
def test_vif_info_lock_timeout_is_checked_before_anything(value):
    """vif_info takes lock_timeout (so module_defaults of the action group fits it): checked like the
    other modules' before the namespace is even looked at."""
    err = refused(pipeline.run_info, {'netns': 'hvt-no-such-ns', 'reflective_relay': ['eth1'], 'lock_timeout': value})
    assert err.field == 'lock_timeout'
