"""macvlan / macvtap through the engine against the real kernel: create, read back, change in
place, recreate, delete, idempotence, check mode, diff, purge, netns, rollback, bad input."""

import os

import pytest
from conftest import links, mode_of, sh, snapshot

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

KINDS = ('macvlan', 'macvtap')


def run(kind, check_mode=False, diff=False, **params):
    return pipeline.run_links(params, kind, check_mode=check_mode, diff=diff)


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('mode', ['vepa', 'bridge', 'private', 'passthru', 'source'])
def test_every_mode_is_created_as_asked_and_deleted(ns, kind, mode):
    """Each mode is created with the kind, lower, mode, MTU and MAC asked, up; then deleted."""
    result = run(kind, netns=ns, name='x0', lower='v0', mode=mode, mtu=1400,
                 mac='02:00:5e:00:00:10' if mode != 'passthru' else None)
    assert result['changed'] is True
    seen = links(ns)['x0']
    assert seen['linkinfo']['info_kind'] == kind
    assert seen['linkinfo']['info_data']['mode'] == mode
    assert seen['link'] == 'v0' and seen['mtu'] == 1400 and 'UP' in seen['flags']
    if mode != 'passthru':
        assert seen['address'] == '02:00:5e:00:00:10'
    assert result['links'][0]['mode'] == mode and result['links'][0]['index'] == seen['ifindex']
    gone = run(kind, netns=ns, name='x0', state='absent')
    assert gone['changed'] is True and 'x0' not in links(ns)


@pytest.mark.parametrize('kind', KINDS)
def test_modes_change_in_place_among_vepa_bridge_private_source(ns, kind):
    """vepa -> bridge -> private -> source -> vepa keeps the same link (same ifindex and MAC)."""
    run(kind, netns=ns, name='x0', lower='v0', mode='vepa')
    before = links(ns)['x0']
    for mode in ('bridge', 'private', 'source', 'vepa'):
        result = run(kind, netns=ns, name='x0', lower='v0', mode=mode)
        assert result['actions'] == ['ip link set x0 type %s mode %s' % (kind, mode)]
        now = links(ns)['x0']
        assert now['linkinfo']['info_data']['mode'] == mode
        assert (now['ifindex'], now['address']) == (before['ifindex'], before['address'])


@pytest.mark.parametrize('kind', KINDS)
def test_to_and_from_passthru_recreates_and_says_so(ns, kind):
    """The kernel refuses mode changes to/from passthru in place: the plan deletes and re-adds."""
    run(kind, netns=ns, name='x0', lower='v0', mode='bridge', mac='02:00:5e:00:00:20')
    result = run(kind, netns=ns, name='x0', lower='v0', mode='passthru')
    assert any('recreate: mode bridge -> passthru' in a for a in result['actions'])
    assert mode_of(ns, 'x0') == 'passthru'
    result = run(kind, netns=ns, name='x0', lower='v0', mode='vepa')
    assert any('recreate: mode passthru -> vepa' in a for a in result['actions'])
    assert mode_of(ns, 'x0') == 'vepa'


def test_lower_change_recreates_and_keeps_the_mac(ns):
    sh('ip', '-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1')
    run('macvlan', netns=ns, name='x0', lower='v0', mode='bridge')
    mac = links(ns)['x0']['address']
    result = run('macvlan', netns=ns, name='x0', lower='w0', mode='bridge')
    assert any('recreate: lower device v0 -> w0' in a for a in result['actions'])
    assert links(ns)['x0']['link'] == 'w0' and links(ns)['x0']['address'] == mac


@pytest.mark.parametrize('kind', KINDS)
def test_second_run_changes_nothing_and_writes_nothing(ns, kind, writes):
    params = dict(netns=ns, lower='v0', links=[
        dict(name='a0', mode='bridge', mtu=1300, mac='02:00:5e:00:00:30'),
        dict(name='a1', mode='source', source_macs=['02:00:5e:00:00:99', '02:00:5e:00:00:98']),
        dict(name='a2', mode='private', admin_state='down')])
    if kind == 'macvtap':
        params.update(owner='65534', group='65534', device_mode='0640')
    run(kind, **params)
    before = snapshot(ns)
    del writes[:]
    again = run(kind, diff=True, **params)
    assert again['changed'] is False and again['actions'] == [] and writes == []
    assert snapshot(ns) == before
    assert again['diff']['before'] == again['diff']['after'] == ''


@pytest.mark.parametrize('kind', KINDS)
def test_check_mode_changes_nothing_and_predicts_the_real_run(ns, kind, writes):
    run(kind, netns=ns, name='old', lower='v0', mode='vepa')
    params = dict(netns=ns, lower='v0', purge=True, links=[
        dict(name='new', mode='bridge', mtu=1200), dict(name='src', mode='source', source_macs=['02:00:5e:00:00:41'])])
    before = snapshot(ns)
    del writes[:]
    predicted = run(kind, check_mode=True, diff=True, **params)
    assert writes == [] and snapshot(ns) == before
    real = run(kind, diff=True, **params)
    assert predicted['changed'] is real['changed'] is True
    assert predicted['actions'] == real['actions']
    assert predicted['diff'] == real['diff']
    for want, got in zip(predicted['links'], real['links']):
        for field in ('name', 'kind', 'lower', 'mode', 'mtu', 'source_macs', 'admin_state'):
            if want[field] is not None:  # None: not managed, so not predicted (e.g. the default MTU)
                assert want[field] == got[field], field
        assert got['mtu'] is not None


def test_diff_shows_each_touched_link_before_and_after(ns):
    run('macvlan', netns=ns, name='d0', lower='v0', mode='vepa', mac='02:00:5e:00:00:50')
    result = run('macvlan', diff=True, netns=ns, name='d0', lower='v0', mode='bridge', mtu=1280)
    assert result['diff']['before'] == 'macvlan d0: lower v0, mode vepa, mac 02:00:5e:00:00:50, mtu 1500, up\n'
    assert result['diff']['after'] == 'macvlan d0: lower v0, mode bridge, mac 02:00:5e:00:00:50, mtu 1280, up\n'


def test_source_list_is_the_exact_set(ns):
    src = dict(netns=ns, name='s0', lower='v0', mode='source')
    run('macvlan', source_macs=['02:00:5e:00:00:01', '02:00:5e:00:00:02'], **src)
    run('macvlan', source_macs=['02:00:5e:00:00:02', '02:00:5e:00:00:03'], **src)
    assert snapshot(ns)['s0']['sources'] == ['02:00:5e:00:00:02', '02:00:5e:00:00:03']
    run('macvlan', netns=ns, name='s0', lower='v0', mode='source', source_macs=[])
    assert snapshot(ns)['s0']['sources'] == []


def test_purge_removes_only_that_kind_on_the_named_lower(ns):
    sh('ip', '-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1')
    run('macvlan', netns=ns, lower='v0', mode='bridge', links=[dict(name='p%d' % i) for i in range(40)])
    run('macvlan', netns=ns, name='other-lower', lower='w0', mode='bridge')
    run('macvtap', netns=ns, name='a-tap', lower='v0', mode='bridge')
    sh('ip', '-n', ns, 'link', 'set', 'other-lower', 'group', '7')
    result = run('macvlan', netns=ns, lower='v0', purge=True, links=[dict(name='p3', mode='bridge')])
    names = set(links(ns))
    assert {'p3', 'other-lower', 'a-tap', 'v0', 'v1', 'w0', 'w1'} <= names
    assert not [n for n in names if n.startswith('p') and n != 'p3']
    assert links(ns)['other-lower']['group'] == '7'
    assert len(result['actions']) == 1 and 'group' in result['actions'][0]


def test_missing_netns_is_an_error_and_is_not_created():
    name = 'hvt-missing-%s' % os.getpid()
    with pytest.raises(VifError) as err:
        run('macvlan', netns=name, name='x0', lower='v0')
    assert err.value.field == 'netns' and 'does not exist' in err.value.msg
    assert not os.path.exists('/run/netns/' + name)


def test_passthru_nopromisc_keeps_the_lower_out_of_promiscuous_mode(ns):
    run('macvlan', netns=ns, name='pt', lower='v0', mode='passthru', nopromisc=True)
    assert links(ns)['v0']['promiscuity'] == 0
    assert links(ns)['pt']['linkinfo']['info_data'].get('nopromisc') is True
    result = run('macvlan', netns=ns, name='pt', lower='v0', mode='passthru', nopromisc=False)
    assert any('nopromisc flag' in a for a in result['actions'])
    assert links(ns)['v0']['promiscuity'] >= 1


def test_rollback_restores_the_kernel_exactly(ns, monkeypatch):
    """A task that deletes one link, changes another and creates two, the second of which the
    kernel refuses (duplicate MAC cannot come up), is undone completely: same links, same
    ifindexes, modes, MACs and flags as before. (Validation now refuses a duplicate MAC first;
    it is switched off here so that the kernel's own EADDRINUSE drives the rollback.)"""
    from ansible_collections.hostnet.vif.plugins.module_utils._kinds import macv
    monkeypatch.setattr(macv, '_check_macs', lambda *args: None)
    run('macvlan', netns=ns, lower='v0', links=[dict(name='keep', mode='vepa', mac='02:00:5e:00:00:60'),
                                                dict(name='doomed', mode='source', source_macs=['02:00:5e:00:00:61'])])
    before = snapshot(ns)
    with pytest.raises(VifError) as err:
        run('macvlan', netns=ns, lower='v0', links=[
            dict(name='keep', mode='bridge', mtu=1400, mac='02:00:5e:00:00:60'),
            dict(name='doomed', state='absent'),
            dict(name='n1', mode='bridge', mac='02:00:5e:00:00:70'),
            dict(name='n2', mode='bridge', mac='02:00:5e:00:00:70')])
    assert 'undone' in err.value.msg and 'n2' in err.value.msg
    assert snapshot(ns) == before


def test_rollback_when_the_last_action_fails_for_a_reason_no_validator_sees(ns, monkeypatch):
    from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply
    run('macvlan', netns=ns, name='keep', lower='v0', mode='vepa')
    before = snapshot(ns)

    def boom(self, ctx):
        raise VifError('injected failure')
    monkeypatch.setattr(apply.ChangeLink, 'do', boom)
    with pytest.raises(VifError) as err:
        run('macvlan', netns=ns, lower='v0', links=[dict(name='keep', mode='private'), dict(name='a1'),
                                                    dict(name='a2'), dict(name='gone', state='absent')])
    assert 'injected failure' in err.value.msg and 'undone' in err.value.msg
    assert snapshot(ns) == before


BAD = [
    (dict(name='x' * 16, lower='v0'), 'name', 'at most 15 bytes'),
    (dict(name='x0', lower='v0', mode='hub'), 'mode', 'expected one of'),
    (dict(name='x0', lower='nope'), 'lower', 'no such device'),
    (dict(name='x0', lower='lo'), 'lower', 'loopback'),
    (dict(name='x0', lower='v0', mac='01:00:5e:00:00:01'), 'mac', 'multicast'),
    (dict(name='x0', lower='v0', mac='02:00:5e:00:00'), 'mac', 'expected a MAC'),
    (dict(name='x0', lower='v0', mtu=9000), 'mtu', 'above the MTU of lower device v0'),
    (dict(name='x0', lower='v0', mode='bridge', nopromisc=True), 'nopromisc', 'only applies to mode passthru'),
    (dict(name='x0', lower='v0', mode='vepa', source_macs=['02:00:5e:00:00:01']), 'source_macs', 'mode source'),
    (dict(lower='v0', links=[dict(name='x0'), dict(name='x0')]), 'name', 'appears twice'),
    (dict(lower='v0', links=[dict(name='x0', colour='red')]), 'links[0]', 'unknown option'),
]


@pytest.mark.parametrize('params, field, words', BAD, ids=[b[1] + '-' + b[2].split()[0] for b in BAD])
def test_bad_input_names_field_and_value_and_changes_nothing(ns, writes, params, field, words):
    before = snapshot(ns)
    with pytest.raises(VifError) as err:
        run('macvlan', netns=ns, **params)
    assert err.value.field == field and words in err.value.msg
    assert writes == [] and snapshot(ns) == before


def test_second_passthru_and_passthru_beside_others_are_refused_before_any_change(ns, writes):
    run('macvlan', netns=ns, name='pt', lower='v0', mode='passthru')
    before = snapshot(ns)
    del writes[:]
    with pytest.raises(VifError) as err:
        run('macvtap', netns=ns, name='pt2', lower='v0', mode='passthru')
    assert 'passthru link must be alone' in err.value.msg and err.value.field == 'mode'
    sh('ip', '-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1')
    run('macvlan', netns=ns, name='br', lower='w0', mode='bridge')
    before = snapshot(ns)
    del writes[:]
    with pytest.raises(VifError) as err:
        run('macvlan', netns=ns, name='pt3', lower='w0', mode='passthru')
    assert 'br (macvlan bridge)' in err.value.msg
    assert writes == [] and snapshot(ns) == before


def test_a_passthru_may_replace_links_purged_in_the_same_task(ns):
    run('macvlan', netns=ns, lower='v0', mode='bridge', links=[dict(name='b0'), dict(name='b1')])
    run('macvlan', netns=ns, lower='v0', purge=True, name='pt', mode='passthru')
    macvlans = {n for n, link in links(ns).items() if link.get('linkinfo', {}).get('info_kind') == 'macvlan'}
    assert macvlans == {'pt'}


def test_a_name_taken_by_another_kind_is_refused(ns):
    with pytest.raises(VifError) as err:
        run('macvlan', netns=ns, name='v1', lower='v0')
    assert 'is a veth, not a macvlan' in err.value.msg
