"""Validation and normalisation of task arguments, without a kernel."""

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _model as model
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import hairpin, macv, tap
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def link(name, kind='macvlan', lower=None, mode=None, mtu=1500, loopback=False, index=None, group=0, **extra):
    """A link state shaped like kernel.dump_links() returns."""
    state = {'name': name, 'kind': kind, 'index': index or abs(hash(name)) % 1000 + 10, 'lower': lower,
             'mode': mode, 'mtu': mtu, 'loopback': loopback, 'mac': '02:00:5e:00:00:01', 'admin_state': 'up',
             'group': group, 'nopromisc': False, 'source_macs': [], 'lower_netnsid': None}
    state.update(extra)
    return state


CURRENT = {'lo': link('lo', kind=None, loopback=True, mtu=65536), 'eth1': link('eth1', kind='veth', mtu=1500)}


@pytest.mark.parametrize('name, ok', [
    # 'é' * 7 fits in 15 bytes, but names are printable ASCII only (issue 15, point 1)
    ('eth1', True), ('a' * 15, True), ('a' * 16, False), ('é' * 8, False), ('é' * 7, False),
    ('a/b', False), ('a:b', False), ('a b', False), ('.', False), ('..', False), ('', False)])
def test_interface_names_follow_the_kernels_rules(name, ok):
    if ok:
        assert model.check_ifname(name) == name
    else:
        with pytest.raises(VifError) as err:
            model.check_ifname(name)
        assert err.value.field == 'name' and err.value.value == name


@pytest.mark.parametrize('given, expected', [
    ('02:00:5E:00:00:0A', '02:00:5e:00:00:0a'), ('02-00-5e-00-00-0a', '02:00:5e:00:00:0a'),
    ('02005e00000a', '02:00:5e:00:00:0a')])
def test_macs_are_normalised(given, expected):
    assert model.normalise_mac(given) == expected


@pytest.mark.parametrize('bad, words', [('01:00:5e:00:00:01', 'multicast'), ('00:00:00:00:00:00', 'all-zero'),
                                        ('02:00:5e:00:00', 'expected a MAC'), ('zz:00:5e:00:00:01', 'expected a MAC')])
def test_bad_macs_are_refused_with_the_reason(bad, words):
    with pytest.raises(VifError) as err:
        model.normalise_mac(bad)
    assert words in err.value.msg and err.value.value == bad


@pytest.mark.parametrize('given, expected', [('0660', '0660'), ('660', '0660'), (0o660, '0660'), ('0600', '0600')])
def test_device_mode_accepts_octal_strings_and_yaml_ints(given, expected):
    assert model.normalise_file_mode(given) == expected


def test_device_mode_rejects_nonsense():
    with pytest.raises(VifError) as err:
        model.normalise_file_mode('rw-rw----')
    assert err.value.field == 'device_mode'


def test_unknown_owner_and_group_name_the_field():
    assert model.resolve_user('root') == 0 and model.resolve_user('65534') == 65534
    for func, field in ((model.resolve_user, 'owner'), (model.resolve_group, 'group')):
        with pytest.raises(VifError) as err:
            func('no-such-principal-hv')
        assert err.value.field == field


def test_links_entries_inherit_top_level_values_and_keep_their_own():
    specs = macv.HANDLERS['macvlan'].build_specs({'lower': 'eth1', 'mode': 'bridge', 'mtu': 1400, 'links': [
        {'name': 'a'}, {'name': 'b', 'mode': 'private', 'mtu': 1300}]})
    assert [(s['name'], s['lower'], s['mode'], s['mtu']) for s in specs] == [
        ('a', 'eth1', 'bridge', 1400), ('b', 'eth1', 'private', 1300)]
    assert specs[0]['admin_state'] == 'up' and specs[0]['state'] == 'present'


def test_mode_defaults_to_the_kernels_vepa():
    assert macv.HANDLERS['macvlan'].build_specs({'name': 'a', 'lower': 'eth1'})[0]['mode'] == 'vepa'


@pytest.mark.parametrize('params, field', [
    ({'name': 'a', 'links': [{'name': 'b'}]}, 'links'),
    ({'mac': '02:00:5e:00:00:01', 'links': [{'name': 'b', 'lower': 'eth1'}]}, 'mac'),
    ({'links': [{'name': 'b', 'lower': 'eth1', 'owner': 'root'}]}, 'links[0]'),
    ({'links': ['b']}, 'links[0]'),
    ({'name': 'a'}, 'lower'),
    ({'name': 'a', 'lower': 'eth1', 'nopromisc': 'maybe', 'mode': 'passthru'}, 'nopromisc'),
])
def test_malformed_tasks_are_refused_naming_the_field(params, field):
    with pytest.raises(VifError) as err:
        macv.HANDLERS['macvlan'].build_specs(params)
    assert err.value.field == field


def test_state_absent_needs_no_lower_and_source_macs_are_a_sorted_set():
    assert macv.HANDLERS['macvlan'].build_specs({'name': 'a', 'state': 'absent'}) == [
        {'name': 'a', 'kind': 'macvlan', 'state': 'absent'}]
    spec = macv.MACVLAN.build_specs({'name': 'a', 'lower': 'eth1', 'mode': 'source',
                                     'source_macs': ['02:00:5E:00:00:02', '02:00:5e:00:00:01', '02-00-5e-00-00-02']})[0]
    assert spec['source_macs'] == ['02:00:5e:00:00:01', '02:00:5e:00:00:02']


def test_yes_no_strings_are_booleans_in_links_entries():
    spec = macv.MACVTAP.build_specs({'links': [{'name': 'a', 'lower': 'eth1', 'mode': 'passthru',
                                                'nopromisc': 'yes'}]})[0]
    assert spec['nopromisc'] is True


@pytest.mark.parametrize('spec_args, words', [
    ({'lower': 'eth9'}, 'no such device'), ({'lower': 'lo'}, 'loopback'),
    ({'lower': 'eth1', 'mtu': 1600}, 'above the MTU'),
])
def test_checks_against_the_kernel(spec_args, words):
    specs = macv.HANDLERS['macvlan'].build_specs(dict(spec_args, name='a'))
    with pytest.raises(VifError) as err:
        macv.HANDLERS['macvlan'].check_against(specs, CURRENT)
    assert words in err.value.msg


def test_passthru_exclusivity_counts_both_kinds_and_what_the_task_removes():
    current = dict(CURRENT, tap0=link('tap0', kind='macvtap', lower='eth1', mode='bridge'))
    specs = macv.HANDLERS['macvlan'].build_specs({'name': 'pt', 'lower': 'eth1', 'mode': 'passthru'})
    with pytest.raises(VifError) as err:
        macv.HANDLERS['macvlan'].check_against(specs, current)
    assert 'tap0 (macvtap bridge)' in err.value.msg
    # macvlan purge does not remove the macvtap: still refused
    with pytest.raises(VifError):
        macv.HANDLERS['macvlan'].check_against(specs, current, purge_lowers={'eth1'})
    # once the macvtap is gone from the picture, a passthru alone is fine
    macv.HANDLERS['macvlan'].check_against(specs, dict(CURRENT, mv=link('mv', lower='eth1', mode='vepa')), {'eth1'})
    absent = macv.MACVLAN.build_specs({'links': [{'name': 'pt', 'lower': 'eth1', 'mode': 'passthru'},
                                                 {'name': 'mv', 'state': 'absent'}]})
    macv.HANDLERS['macvlan'].check_against(absent, dict(CURRENT, mv=link('mv', lower='eth1', mode='vepa')))


def test_a_foreign_kind_with_the_name_is_refused():
    specs = macv.HANDLERS['macvlan'].build_specs({'name': 'eth1', 'lower': 'eth1x'})
    with pytest.raises(VifError) as err:
        macv.HANDLERS['macvlan'].check_against(specs, dict(CURRENT, eth1x=link('eth1x', kind='veth')))
    assert 'is a veth, not a macvlan' in err.value.msg


@pytest.mark.parametrize('params, field', [
    ({'name': 't' * 16}, 'name'), ({'name': 't', 'mode': 'tun', 'mac': '02:00:5e:00:00:09'}, 'mac'),
    ({'name': 't', 'mode': 'tun', 'bridge': 'br0'}, 'bridge'), ({'name': 't', 'mode': 'tup'}, 'mode'),
    ({'name': 't', 'owner': 'no-such-user-hv'}, 'owner'), ({'taps': [{'name': 't', 'colour': 1}]}, 'taps[0]'),
    ({'name': 't', 'taps': [{'name': 'u'}]}, 'taps')])
def test_tap_specs_refuse_bad_input_naming_the_field(params, field):
    with pytest.raises(VifError) as err:
        tap.build_tap_specs(params)
    assert err.value.field == field


def test_hairpin_entries_are_names_or_dictionaries_and_inherit_the_top_level_hairpin():
    assert hairpin.build_hairpin_specs({'ports': ['p0', {'name': 'p1', 'hairpin': False}], 'hairpin': True}) == [
        {'name': 'p0', 'hairpin': True}, {'name': 'p1', 'hairpin': False}]
    assert hairpin.build_hairpin_specs({'name': 'p0'}) == [{'name': 'p0', 'hairpin': True}]


@pytest.mark.parametrize('params, field', [
    ({}, 'name'), ({'name': 'p0', 'ports': ['p1']}, 'ports'), ({'ports': [7]}, 'ports[0]'),
    ({'ports': [{'name': 'p0', 'colour': 'red'}]}, 'ports[0]'), ({'ports': ['p0', 'p0']}, 'name'),
    ({'ports': [{'hairpin': True}]}, 'ports[0].name')])
def test_hairpin_specs_refuse_bad_input_naming_the_field(params, field):
    with pytest.raises(VifError) as err:
        hairpin.build_hairpin_specs(params)
    assert err.value.field == field
