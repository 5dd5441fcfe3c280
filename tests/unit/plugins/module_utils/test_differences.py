"""The read-back comparison every kind shares (base.differences) and each handler's use of it."""

from ansible_collections.hostnet.vif.plugins.module_utils._kinds import base, hairpin, macv, sriov, tap


def test_only_managed_fields_that_differ_are_named_with_both_values():
    expected = {'mtu': 1400, 'mac': None, 'mode': 'bridge'}
    assert base.differences('a', expected, {'mtu': 1500, 'mac': '02:00:5e:00:00:01', 'mode': 'bridge'},
                            ('mtu', 'mac', 'mode')) == ['a: mtu is 1500, expected 1400']


def test_a_missing_read_back_field_is_a_difference():
    assert base.differences('a', {'hairpin': True}, {}, ('hairpin',)) == ['a: hairpin is None, expected True']


def test_a_bridge_port_gone_after_the_change_is_reported_not_a_traceback():
    specs = hairpin.build_hairpin_specs({'name': 'swp1', 'hairpin': True})
    assert hairpin.HAIRPIN.problems(specs, None, base.Links({})) == ['swp1: hairpin is None, expected True']


def test_links_compare_source_lists_as_sets_and_the_character_device():
    plan = base.Plan()
    plan.touch('t', None, {'name': 't', 'kind': 'macvtap', 'lower': 'eth1', 'mode': 'source', 'nopromisc': False,
                           'admin_state': 'up', 'mac': None, 'mtu': None,
                           'source_macs': ['02:00:5e:00:00:02', '02:00:5e:00:00:01'],
                           'device': {'owner': 65534, 'group': None, 'device_mode': '0600'}})
    after = {'t': {'name': 't', 'kind': 'macvtap', 'lower': 'eth1', 'mode': 'source', 'nopromisc': False,
                   'admin_state': 'up', 'mac': '02:00:5e:00:00:09', 'mtu': 1500,
                   'source_macs': ['02:00:5e:00:00:01', '02:00:5e:00:00:02']}}
    devices = {'t': {'owner': 0, 'group': 0, 'device_mode': '0600'}}
    assert macv.HANDLERS['macvtap'].verify_links(after, plan, devices) == [
        't: character device owner is 0, expected 65534']


def test_sriov_reads_a_missing_vlan_protocol_as_802_1q():
    vfs = [{'vf': 0, 'vlan': 5, 'vlan_proto': '802.1Q'}]
    specs = sriov.build_sriov_specs({'pf': 'eth5', 'num_vfs': 1, 'vfs': vfs})
    states = {'eth5': {'numvfs': 1, 'drivers_autoprobe': True}}
    assert sriov.verify_sriov(specs, states, {'eth5': {0: {'vf': 0, 'vlan': 5}}}) == []
    wrong = sriov.verify_sriov(specs, states, {'eth5': {0: {'vf': 0, 'vlan': 6}}})
    assert wrong == ['eth5 vf 0: vlan is 6, expected 5']


def test_taps_compare_the_spec_with_the_kernel_in_spec_words():
    specs = tap.build_tap_specs({'name': 'vt0', 'owner': '0', 'mtu': 1400})
    link = {'name': 'vt0', 'kind': 'tun', 'index': 9, 'mtu': 1500, 'mac': '02:00:5e:00:00:01', 'admin_state': 'up',
            'master': None, 'tun': {'type': 'tap', 'owner': 0, 'group': None}}
    assert tap.TAP.problems(specs, None, base.Links({'vt0': link})) == ['vt0: mtu is 1500, expected 1400']
