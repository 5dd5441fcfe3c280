"""hostnet.vif.tap against the real kernel: create, change, recreate, delete, idempotence, check
mode, rollback, bad input, and a frame through a tap that is a bridge port."""

import os
import subprocess
import sys
import uuid

import pytest
from conftest import links, sh, snapshot

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply, _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

FRAMES = os.path.join(os.path.dirname(__file__), 'frames.py')


def tun_data(ns, name):
    return links(ns)[name]['linkinfo']['info_data']


@pytest.fixture
def bridged(ns):
    sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', ns, 'link', 'set', 'br0', 'up')
    return ns


def test_create_as_asked_then_second_run_writes_nothing(bridged, writes):
    params = dict(netns=bridged, owner='65534', group='65534', vnet_hdr=True, multi_queue=True, bridge='br0',
                  taps=[dict(name='vnet0'), dict(name='vnet1', mtu=1400, mac='02:00:5e:00:03:01')])
    result = pipeline.run_taps(params)
    assert result['changed'] is True
    oracle = links(bridged)
    for name in ('vnet0', 'vnet1'):
        data = oracle[name]['linkinfo']['info_data']
        assert (data['type'], data['pi'], data['vnet_hdr'], data['multi_queue'], data['persist']) == (
            'tap', False, True, True, True)
        # iproute2 prints names where the machine has them; 65534 is nobody/nogroup on Debian
        assert (data['user'], data['group']) == ('nobody', 'nogroup')
        assert oracle[name]['master'] == 'br0' and 'UP' in oracle[name]['flags']
    assert oracle['vnet1']['mtu'] == 1400 and oracle['vnet1']['address'] == '02:00:5e:00:03:01'
    assert result['taps'][0]['owner'] == 65534 and result['taps'][0]['bridge'] == 'br0'
    before = settled_snapshot(bridged)
    del writes[:]
    again = pipeline.run_taps(params)
    assert again['changed'] is False and writes == [] and settled_snapshot(bridged) == before


def test_packet_info_is_off_unless_asked_and_tun_mode(ns):
    pipeline.run_taps(dict(netns=ns, taps=[dict(name='t-plain'), dict(name='t-pi', packet_info=True),
                                           dict(name='t-tun', mode='tun')]))
    assert tun_data(ns, 't-plain')['pi'] is False and tun_data(ns, 't-pi')['pi'] is True
    assert tun_data(ns, 't-tun')['type'] == 'tun'


def test_owner_group_flags_mtu_bridge_change_in_place(bridged):
    ns = bridged
    pipeline.run_taps(dict(netns=ns, name='vt', owner='65534'))
    index = links(ns)['vt']['ifindex']
    result = pipeline.run_taps(dict(netns=ns, name='vt', owner='0', group='65534', mtu=1300, bridge='br0',
                                    vnet_hdr=True, packet_info=True))
    assert not any('recreate' in a for a in result['actions'])
    seen = links(ns)['vt']
    data = seen['linkinfo']['info_data']
    assert seen['ifindex'] == index and seen['mtu'] == 1300 and seen['master'] == 'br0'
    assert (data['user'], data['group'], data['vnet_hdr'], data['pi']) == ('root', 'nogroup', True, True)
    assert result['taps'][0]['owner'] == 0 and result['taps'][0]['group'] == 65534


def test_mode_and_multi_queue_recreate_keeping_everything_else(bridged):
    ns = bridged
    pipeline.run_taps(dict(netns=ns, name='vt', owner='65534', mtu=1300, bridge='br0', vnet_hdr=True))
    before = links(ns)['vt']
    result = pipeline.run_taps(dict(netns=ns, name='vt', multi_queue=True))
    assert any('recreate: multi_queue cannot change' in a for a in result['actions'])
    seen = links(ns)['vt']
    data = seen['linkinfo']['info_data']
    assert (data['multi_queue'], data['vnet_hdr'], data['user']) == (True, True, 'nobody')
    assert (seen['ifindex'], seen['mtu'], seen['master'], seen['address']) == (
        before['ifindex'], 1300, 'br0', before['address'])
    result = pipeline.run_taps(dict(netns=ns, name='vt', mode='tun'))
    assert any('recreate: mode cannot change' in a for a in result['actions'])
    assert tun_data(ns, 'vt')['type'] == 'tun' and links(ns)['vt']['ifindex'] == before['ifindex']
    pipeline.run_taps(dict(netns=ns, name='vt', bridge=''))
    assert 'master' not in links(ns)['vt']
    pipeline.run_taps(dict(netns=ns, name='vt', state='absent'))
    assert 'vt' not in links(ns)


def test_check_mode_changes_nothing_and_predicts(bridged, writes):
    params = dict(netns=bridged, bridge='br0', taps=[dict(name='p0'), dict(name='p1', vnet_hdr=True)])
    before = settled_snapshot(bridged)
    predicted = pipeline.run_taps(params, check_mode=True, diff=True)
    assert writes == [] and settled_snapshot(bridged) == before
    real = pipeline.run_taps(params, diff=True)
    assert predicted['actions'] == real['actions'] and predicted['diff'] == real['diff']
    for want, got in zip(predicted['taps'], real['taps']):
        for field in ('name', 'type', 'vnet_hdr', 'multi_queue', 'packet_info', 'bridge'):
            assert want[field] == got[field], field


def settled_snapshot(ns):
    """The snapshot without br0's carrier flags: the kernel derives a bridge's carrier from its
    ports, asynchronously (linkwatch), so it may still be catching up with ports made a moment
    ago. The bridge itself is never touched by these tasks; every other flag still counts."""
    state = snapshot(ns)
    state['br0']['flags'] = [f for f in state['br0']['flags'] if f not in ('NO-CARRIER', 'LOWER_UP')]
    return state


def test_rollback_restores_every_device(bridged, monkeypatch):
    """The last action fails: the deleted tap comes back with its ifindex and flags, the new one
    goes, the changed one (including an owner that was unset before) is as it was."""
    ns = bridged
    pipeline.run_taps(dict(netns=ns, taps=[dict(name='keep', bridge='br0', mtu=1400),
                                           dict(name='gone', vnet_hdr=True, owner='65534')]))
    before = settled_snapshot(ns)
    owners = dict((n, tun_data(ns, n).get('user')) for n in ('keep', 'gone'))
    real_add = apply.AddTap.do

    def fail_on_new2(self, ctx):
        if self.obj == 'new2':
            raise VifError('injected failure')
        real_add(self, ctx)
    monkeypatch.setattr(apply.AddTap, 'do', fail_on_new2)
    with pytest.raises(VifError) as err:
        pipeline.run_taps(dict(netns=ns, taps=[dict(name='gone', state='absent'), dict(name='new1'),
                                               dict(name='keep', mtu=1280, owner='65534', vnet_hdr=True),
                                               dict(name='new2')]))
    assert 'undone' in err.value.msg
    assert settled_snapshot(ns) == before
    assert owners == {'keep': None, 'gone': 'nobody'}
    assert dict((n, tun_data(ns, n).get('user')) for n in ('keep', 'gone')) == owners
    assert tun_data(ns, 'gone')['vnet_hdr'] is True and tun_data(ns, 'keep')['vnet_hdr'] is False


BAD = [
    (dict(name='t' * 16), 'name', 'at most 15 bytes'),
    (dict(name='t0', owner='no-such-user-hv'), 'owner', 'no such user'),
    (dict(name='t0', group='no-such-group-hv'), 'group', 'no such group'),
    (dict(name='t0', bridge='nobr'), 'bridge', 'no such device'),
    (dict(name='t0', bridge='v0'), 'bridge', 'not a Linux bridge'),
    (dict(name='t0', mode='tun', mac='02:00:5e:00:00:01'), 'mac', 'no MAC'),
    (dict(name='v0'), 'name', 'not a tun/tap'),
    (dict(taps=[dict(name='t0', colour='red')]), 'taps[0]', 'unknown option'),
]


@pytest.mark.parametrize('params, field, words', BAD, ids=[b[1] + '-' + b[2].split()[0] for b in BAD])
def test_bad_input_is_refused_before_any_change(ns, writes, params, field, words):
    before = snapshot(ns)
    with pytest.raises(VifError) as err:
        pipeline.run_taps(dict(params, netns=ns))
    assert err.value.field == field and words in err.value.msg
    assert writes == [] and snapshot(ns) == before


TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000


def test_a_frame_written_to_a_bridged_tap_reaches_the_other_port(bridged):
    """Open the persistent tap (TUNSETIFF) as QEMU would, write a frame; it crosses br0 and is
    seen on the far end of a veth that is another port of the bridge."""
    ns = bridged
    sh('ip', '-n', ns, 'link', 'set', 'v1', 'master', 'br0')
    pipeline.run_taps(dict(netns=ns, name='vm0', bridge='br0'))
    tag = uuid.uuid4().hex[:12]
    receiver = subprocess.Popen(['ip', 'netns', 'exec', ns, sys.executable, FRAMES, 'recv', 'v0', '2', tag],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == 'READY'
        writer = ('import fcntl, os, struct, sys, time\n'
                  'fd = os.open("/dev/net/tun", os.O_RDWR)\n'
                  'fcntl.ioctl(fd, %d, struct.pack("16sH", b"vm0", %d))\n'
                  'frame = bytes.fromhex("ffffffffffff02005e000401") + struct.pack("!H", 0x88b5) '
                  '+ sys.argv[1].encode().ljust(46, b"\\0")\n'
                  # carrier (and so the bridge port) comes up through linkwatch, asynchronously, after
                  # the attach: keep writing for a while instead of assuming it is immediate
                  'for _ in range(20): os.write(fd, frame); time.sleep(0.05)\n' % (TUNSETIFF, IFF_TAP | IFF_NO_PI))
        subprocess.run(['ip', 'netns', 'exec', ns, sys.executable, '-c', writer, tag], check=True)
        out, _err = receiver.communicate(timeout=10)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    assert set(out.split()) == {'02:00:5e:00:04:01'}
