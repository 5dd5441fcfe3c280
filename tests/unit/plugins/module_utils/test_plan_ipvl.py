"""ipvlan/ipvtap without a kernel: validation of the task, the checks against a hand-built link dump
(mode and flag shared per lower device, macvlan lowers), planning (which actions, in which order, their
ip-style lines), the request bytes, and the two decoders of the kernel's answer."""

import struct

import pytest
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from ansible_collections.hostnet.vif.tests.unit.plugins.module_utils.test_model import CURRENT, link

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply, _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import _linkparse as lp
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import ipvl


def ivl(name, lower='eth1', mode='l2', flag='bridge', kind='ipvlan', **extra):
    state = link(name, kind=kind, lower=lower, mode=mode, **extra)
    for field in ('nopromisc', 'source_macs'):
        state.pop(field)
    state['flag'] = flag
    return state


def specs(params, kind='ipvlan'):
    return ipvl.HANDLERS[kind].build_specs(params)


def plan(params, current, kind='ipvlan', purge=(), devices=None):
    task_specs = specs(params, kind)
    ipvl.HANDLERS[kind].check_against(task_specs, current, set(purge))
    return ipvl.HANDLERS[kind].plan_links(task_specs, current, set(purge), devices)


# -- validation ------------------------------------------------------------------------------------------

def test_defaults_are_the_kernels_l3_bridge():
    spec = specs({'name': 'iv0', 'lower': 'eth1'})[0]
    assert (spec['mode'], spec['flag'], spec['admin_state'], spec['mtu']) == ('l3', 'bridge', 'up', None)


@pytest.mark.parametrize('params, field', [
    ({'name': 'iv0', 'lower': 'eth1', 'mode': 'bridge'}, 'mode'),       # a macvlan mode is not an ipvlan mode
    ({'name': 'iv0', 'lower': 'eth1', 'mode': 'L2'}, 'mode'),
    ({'name': 'iv0', 'lower': 'eth1', 'flag': 'passthru'}, 'flag'),
    ({'name': 'iv0', 'lower': 'eth1', 'flag': ['private', 'vepa']}, 'flag'),  # one of three, never both
    ({'name': 'iv0', 'lower': 'eth1', 'mtu': 67}, 'mtu'),
    ({'name': 'iv0', 'lower': 'eth1', 'mtu': 65536 * 65536}, 'mtu'),
    ({'name': 'a' * 16, 'lower': 'eth1'}, 'name'),
    ({'name': 'iv 0', 'lower': 'eth1'}, 'name'),
    ({'name': 'iv0', 'lower': 'eth1/x'}, 'lower'),
    ({'name': 'iv0', 'lower': 'iv0'}, 'lower'),
    ({'name': 'iv0'}, 'lower'),
    ({'name': 'iv0', 'lower': 'eth1', 'state': 'gone'}, 'state'),
    ({'name': 'iv0', 'lower': 'eth1', 'admin_state': 'off'}, 'admin_state'),
    ({'links': [{'name': 'iv0', 'lower': 'eth1', 'mac': '02:00:00:00:00:01'}]}, 'links[0]'),  # no own MAC
    ({'links': [{'name': 'iv0', 'lower': 'eth1'}, {'name': 'iv0', 'lower': 'eth1'}]}, 'name'),
    ({'purge': True}, 'purge'),  # purge needs a lower device
])
def test_bad_values_are_refused_naming_the_field(params, field):
    with pytest.raises(VifError) as err:
        ipvl.IPVLAN.build(params)
    assert err.value.field == field, err.value.msg


def test_absent_entries_are_validated_too_and_need_no_lower():
    assert specs({'name': 'iv0', 'state': 'absent'}) == [{'name': 'iv0', 'kind': 'ipvlan', 'state': 'absent'}]
    with pytest.raises(VifError) as err:
        specs({'name': 'iv0', 'state': 'absent', 'mode': 'l4'})
    assert err.value.field == 'mode'


def test_ipvtap_takes_device_options_and_ipvlan_does_not():
    spec = specs({'name': 'it0', 'lower': 'eth1', 'owner': '65534', 'device_mode': '0660'}, 'ipvtap')[0]
    assert (spec['owner'], spec['device_mode']) == (65534, '0660')
    with pytest.raises(VifError) as err:
        specs({'links': [{'name': 'iv0', 'lower': 'eth1', 'owner': '65534'}]})
    assert 'unknown option' in err.value.msg


# -- checks against the kernel's links --------------------------------------------------------------------

def test_links_on_one_lower_must_agree_on_mode_and_flag():
    with pytest.raises(VifError) as err:
        plan({'links': [{'name': 'a', 'lower': 'eth1', 'mode': 'l2'}, {'name': 'b', 'lower': 'eth1', 'mode': 'l3'}]},
             CURRENT)
    assert err.value.field == 'mode' and err.value.obj == 'b' and "differs from a's mode" in err.value.msg


def test_a_sibling_the_task_does_not_list_would_change_with_it_refused():
    current = dict(CURRENT, keep=ivl('keep', kind='ipvtap', mode='l2', flag='bridge'))
    with pytest.raises(VifError) as err:
        plan({'name': 'new', 'lower': 'eth1', 'mode': 'l2', 'flag': 'private'}, current)
    assert err.value.field == 'flag' and 'also carries ipvtap keep (l2 bridge)' in err.value.msg
    # the same settings, a sibling being removed, or purged: fine
    assert plan({'name': 'new', 'lower': 'eth1', 'mode': 'l2'}, current).actions
    assert plan({'links': [{'name': 'new', 'lower': 'eth1', 'mode': 'l3'}, {'name': 'keep', 'state': 'absent'}]},
                current).actions
    current['keep']['kind'] = 'ipvlan'
    assert plan({'name': 'new', 'lower': 'eth1', 'mode': 'l3'}, current, purge={'eth1'}).actions


@pytest.mark.parametrize('current, words', [
    (dict(CURRENT, mv0=link('mv0', lower='eth1', mode='vepa')), 'carries macvlan/macvtap links (mv0)'),
    (dict(CURRENT, up=ivl('up', mode='l3')), 'is itself an ipvlan'),
    (CURRENT, 'the loopback device'),
    (dict(CURRENT, big=link('big', kind='veth', mtu=1400)), 'above the MTU of lower device big'),
    (dict(CURRENT, iv0=link('iv0', kind='macvlan', lower='eth1')), 'already exists and is a macvlan'),
])
def test_kernel_rules_are_checked_before_anything(current, words):
    lower = {'is itself an ipvlan': 'up', 'the loopback device': 'lo', 'above the MTU of lower device big': 'big'}
    params = {'name': 'iv0', 'lower': lower.get(words, 'eth1'), 'mtu': 1500 if 'MTU' in words else None}
    with pytest.raises(VifError) as err:
        plan(params, current)
    assert words in err.value.msg


# -- planning ----------------------------------------------------------------------------------------------

def test_create_is_one_add_with_the_ip_line():
    actions = plan({'name': 'iv0', 'lower': 'eth1', 'mode': 'l2', 'mtu': 1400}, CURRENT).actions
    assert [type(a) for a in actions] == [apply.AddLink]
    assert actions[0].describe() == ('ip link add link eth1 name iv0 type ipvlan mode l2 bridge mtu 1400; '
                                     'ip link set iv0 up')


def test_nothing_to_do_plans_nothing():
    current = dict(CURRENT, iv0=ivl('iv0', mode='l3s', flag='vepa'))
    assert plan({'name': 'iv0', 'lower': 'eth1', 'mode': 'l3s', 'flag': 'vepa'}, current).actions == []


def test_mode_and_flag_change_in_place_in_one_request():
    current = dict(CURRENT, iv0=ivl('iv0', mode='l2', flag='bridge', mtu=1500))
    actions = plan({'name': 'iv0', 'lower': 'eth1', 'mode': 'l3', 'flag': 'private', 'mtu': 1400}, current).actions
    assert [type(a) for a in actions] == [apply.ChangeLink]
    assert actions[0].describe() == 'ip link set iv0 type ipvlan mode l3 private; ip link set iv0 mtu 1400'
    flag_only = plan({'name': 'iv0', 'lower': 'eth1', 'mode': 'l2', 'flag': 'vepa', 'mtu': 1500}, current).actions
    assert flag_only[0].describe() == 'ip link set iv0 type ipvlan mode l2 vepa'


def test_a_new_lower_recreates_and_keeps_ownership():
    current = dict(CURRENT, eth2=link('eth2', kind='veth'), it0=ivl('it0', kind='ipvtap'))
    devices = {'it0': {'owner': 65534, 'group': 0, 'device_mode': '0660'}}
    actions = plan({'name': 'it0', 'lower': 'eth2', 'mode': 'l2'}, current, 'ipvtap', devices=devices).actions
    assert [type(a) for a in actions] == [apply.DeleteLinks, apply.AddLink, apply.SetDeviceOwner]
    assert 'recreate: lower device eth1 -> eth2' in actions[1].describe()
    assert (actions[2].owner, actions[2].device_mode) == (65534, '0660')


def test_purge_deletes_first_only_this_kind_on_the_listed_lowers():
    current = dict(CURRENT, eth2=link('eth2', kind='veth'), old=ivl('old'), tap=ivl('tap', kind='ipvtap'),
                   far=ivl('far', lower='eth2'))
    result = plan({'name': 'new', 'lower': 'eth1', 'mode': 'l2'}, current, purge={'eth1'})
    assert isinstance(result.actions[0], apply.DeleteLinks)
    assert [x['name'] for x in result.actions[0].links] == ['old']
    assert [a.obj for a in result.actions[1:]] == ['new']


def test_ipvtap_ownership_only_where_it_differs():
    current = dict(CURRENT, t=ivl('t', kind='ipvtap'))
    devices = {'t': {'owner': 0, 'group': 0, 'device_mode': '0600'}}
    actions = plan({'name': 't', 'lower': 'eth1', 'mode': 'l2', 'owner': '65534', 'device_mode': '0600'}, current,
                   'ipvtap', devices=devices).actions
    assert [type(a) for a in actions] == [apply.SetDeviceOwner] and actions[0].owner == 65534
    assert actions[0].device_mode is None


def test_the_diff_line_of_an_ipvtap():
    obj = dict(ivl('t', kind='ipvtap', mode='l3s', flag='vepa'), device={'owner': 1, 'group': 2, 'device_mode': '0660'})
    assert ipvl.IPVTAP.describe(obj) == ('ipvtap t: lower eth1, mode l3s vepa, mtu 1500, up, '
                                         'device owner 1 group 2 mode 0660')


def test_read_back_names_what_differs():
    current = dict(CURRENT, iv0=ivl('iv0'))
    result = plan({'name': 'iv0', 'lower': 'eth1', 'mode': 'l3', 'flag': 'private'}, current)
    after = dict(current, iv0=ivl('iv0', mode='l3', flag='bridge'))
    assert ipvl.HANDLERS['ipvlan'].verify_links(after, result, {}) == ["iv0: flag is 'bridge', expected 'private'"]


# -- the request and the kernel's answer --------------------------------------------------------------------

def _nla(kind, payload):
    return struct.pack('HH', 4 + len(payload), kind) + payload + b'\0' * (-(4 + len(payload)) % 4)


def test_the_create_request_carries_kind_mode_and_flags_as_u16():
    body = kern.ipvl_newlink_body({'name': 'iv0', 'kind': 'ipvtap', 'lower_index': 7, 'mode': 'l3s', 'flag': 'vepa',
                                   'mtu': 1400, 'admin_state': 'up'}, index=42)
    data = _nla(1, struct.pack('H', 2)) + _nla(2, struct.pack('H', 2))
    linkinfo = _nla(1, b'ipvtap\0') + _nla(2, data)
    assert body == (struct.pack('BBHiII', 0, 0, 0, 42, 1, 1) + _nla(3, b'iv0\0') + _nla(5, struct.pack('I', 7))
                    + _nla(18, linkinfo) + _nla(4, struct.pack('I', 1400)))


def _message(kind, mode, flags):
    data = b''.join(_nla(attr, struct.pack('H', value)) for attr, value in ((1, mode), (2, flags)) if value is not None)
    body = kern.newlink_bytes(9, [(3, b'iv0\0'), (5, struct.pack('I', 2)),
                                  (18, _nla(1, kind.encode() + b'\0') + _nla(2, data))])
    return struct.pack('IHHII', 16 + len(body), 16, 2, 0, 0) + body


@pytest.mark.parametrize('kind', ['ipvlan', 'ipvtap'])
@pytest.mark.parametrize('mode, flags, expected', [
    (0, 0, ('l2', 'bridge')), (1, 1, ('l3', 'private')), (2, 2, ('l3s', 'vepa')), (2, None, ('l3s', None)),
    (7, 3, (7, 3)),  # values with no name stay numbers: the read-back reports them instead of guessing
])
def test_both_decoders_read_mode_and_flag(kind, mode, flags, expected):
    """pyroute2 (0.7.2 to 0.9.7) decodes ipvlan data without the flags and ipvtap data as a hex string: the
    full-decode path reads the attribute's own bytes, so it equals the lean parser."""
    data = _message(kind, mode, flags)
    lean = lp.lean_link(data, 0, len(data))
    msg = ifinfmsg(data)
    msg.decode()
    assert (lean['mode'], lean['flag']) == expected
    assert lp.parse_link(msg) == lean
