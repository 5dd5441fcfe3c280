"""Planning from specs and hand-built kernel state: which actions, in which order, why."""

from ansible_collections.hostnet.vif.tests.unit.plugins.module_utils.test_model import CURRENT, link

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply, _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import macv, tap


def plan(params, current, kind='macvlan', purge=()):
    return macv.HANDLERS[kind].plan_links(macv.HANDLERS[kind].build_specs(params), current, set(purge))


def test_nothing_to_do_plans_nothing():
    current = dict(CURRENT, a=link('a', lower='eth1', mode='bridge'))
    assert plan({'name': 'a', 'lower': 'eth1', 'mode': 'bridge'}, current).actions == []


def test_in_place_changes_list_only_what_differs():
    current = dict(CURRENT, a=link('a', lower='eth1', mode='vepa', mtu=1500))
    actions = plan({'name': 'a', 'lower': 'eth1', 'mode': 'bridge', 'mtu': 1400}, current).actions
    assert len(actions) == 1 and isinstance(actions[0], apply.ChangeLink)
    assert set(actions[0].changes) == {'mode', 'mtu'}
    assert actions[0].describe() == 'ip link set a type macvlan mode bridge mtu 1400'


def test_passthru_transition_recreates_without_carrying_the_mac():
    current = dict(CURRENT, a=link('a', lower='eth1', mode='vepa'))
    actions = plan({'name': 'a', 'lower': 'eth1', 'mode': 'passthru'}, current).actions
    assert [type(a) for a in actions] == [apply.DeleteLinks, apply.AddLink]
    assert actions[1].link.get('mac') is None
    assert 'recreate: mode vepa -> passthru' in actions[1].describe()


def test_lower_change_recreates_keeping_the_mac():
    current = dict(CURRENT, eth2=link('eth2', kind='veth'), a=link('a', lower='eth1', mode='vepa'))
    actions = plan({'name': 'a', 'lower': 'eth2', 'mode': 'vepa'}, current).actions
    assert actions[1].link['mac'] == '02:00:5e:00:00:01' and actions[1].link['lower'] == 'eth2'


def test_purge_deletes_first_only_same_kind_on_listed_lowers():
    current = dict(CURRENT, eth2=link('eth2', kind='veth'),
                   old=link('old', lower='eth1', mode='vepa'), tap=link('tap', kind='macvtap', lower='eth1'),
                   far=link('far', lower='eth2'))
    result = plan({'name': 'new', 'lower': 'eth1'}, current, purge={'eth1'})
    assert isinstance(result.actions[0], apply.DeleteLinks)
    assert [x['name'] for x in result.actions[0].links] == ['old']
    assert isinstance(result.actions[1], apply.AddLink)


def test_a_link_created_on_a_link_created_in_the_same_task_comes_after_it():
    result = plan({'links': [{'name': 'top', 'lower': 'mid'}, {'name': 'mid', 'lower': 'eth1'}]}, CURRENT)
    assert [a.obj for a in result.actions] == ['mid', 'top']


def test_macvtap_ownership_is_planned_only_where_it_differs():
    current = dict(CURRENT, t=link('t', kind='macvtap', lower='eth1', mode='vepa'))
    specs = macv.MACVTAP.build_specs({'name': 't', 'lower': 'eth1', 'owner': '65534', 'device_mode': '0600'})
    devices = {'t': {'owner': 0, 'group': 0, 'device_mode': '0600'}}
    actions = macv.HANDLERS['macvtap'].plan_links(specs, current, set(), devices).actions
    assert len(actions) == 1 and isinstance(actions[0], apply.SetDeviceOwner)
    assert (actions[0].owner, actions[0].group, actions[0].device_mode) == (65534, None, None)


def test_diff_text_is_one_line_per_touched_link():
    current = dict(CURRENT, a=link('a', lower='eth1', mode='vepa'))
    result = plan({'name': 'a', 'lower': 'eth1', 'mode': 'bridge'}, current)
    diff = pipeline.render_diff(result, 'ns1', macv.MACVLAN.describe)
    assert diff['before'] == 'macvlan a: lower eth1, mode vepa, mac 02:00:5e:00:00:01, mtu 1500, up\n'
    assert diff['after'] == 'macvlan a: lower eth1, mode bridge, mac 02:00:5e:00:00:01, mtu 1500, up\n'
    assert diff['before_header'] == 'kernel before (netns ns1)'


def test_batchable_creates_are_coalesced_at_apply_time():
    source = {'name': 's', 'mode': 'source', 'source_macs': ['02:00:5e:00:00:09']}
    result = plan({'lower': 'eth1', 'links': [{'name': 'a'}, {'name': 'b'}, source]}, CURRENT)
    ctx = apply.Context(None, None, CURRENT)
    ctx.keep_indexes(CURRENT, ['eth1'])
    merged = apply.coalesce(ctx, result.actions)
    assert [type(a) for a in merged] == [apply.AddLinks, apply.AddLink]
    assert merged[0].obj == 'a,b'


# -- tun/tap ---------------------------------------------------------------------------------

def tap_link(name, tun_type='tap', owner=None, vnet_hdr=False, multi_queue=False, master=None, index=40):
    return link(name, kind='tun', index=index, master=master,
                tun={'type': tun_type, 'owner': owner, 'group': None, 'packet_info': False, 'vnet_hdr': vnet_hdr,
                     'persistent': True, 'multi_queue': multi_queue, 'queues': 0})


def plan_taps(params, current):
    return tap.plan_taps(tap.build_tap_specs(params), current)


def test_tap_owner_and_vnet_hdr_change_in_place():
    current = dict(CURRENT, br0=link('br0', kind='bridge'), t=tap_link('t'))
    actions = plan_taps({'name': 't', 'owner': '65534', 'vnet_hdr': True, 'bridge': 'br0'}, current).actions
    assert [type(a) for a in actions] == [apply.ChangeTap]
    assert set(actions[0].changes) == {'owner', 'vnet_hdr', 'bridge'}


def test_tap_multi_queue_or_mode_recreates_with_the_same_index():
    current = dict(CURRENT, br0=link('br0', kind='bridge'), t=tap_link('t', master='br0'))
    actions = plan_taps({'name': 't', 'multi_queue': True}, current).actions
    assert [type(a) for a in actions] == [apply.DeleteLinks, apply.AddTap]
    assert actions[1].tap['restore_index'] == 40 and actions[1].tap['bridge'] == 'br0'
    assert 'recreate: multi_queue cannot change' in actions[1].describe()
    actions = plan_taps({'name': 't', 'mode': 'tun'}, current).actions
    assert actions[1].tap['bridge'] == '' and 'cannot be a bridge port, so it leaves br0' in actions[1].describe()


def test_new_tap_spells_out_every_flag_and_omitted_fields_are_not_managed():
    actions = plan_taps({'name': 'n'}, dict(CURRENT)).actions
    assert actions[0].describe() == 'ip tuntap add dev n mode tap; ip link set n up'
    assert plan_taps({'name': 't'}, dict(CURRENT, t=tap_link('t', owner=0, vnet_hdr=True))).actions == []
