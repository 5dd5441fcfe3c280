"""Behaviour proven with real frames and pings: the seed matrix through the modules, the
source-mode allow-list, and macvtap character devices carrying frames both ways."""

import os
import stat
import subprocess
import sys
import uuid

import pytest
from conftest import sh

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline

FRAMES = os.path.join(os.path.dirname(__file__), 'frames.py')


def receive_while(recv_argv, send_argv, seconds=1.0):
    """Start a receiver, wait until it listens, run the sender, return the source MACs seen."""
    proc = subprocess.Popen(recv_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'READY', proc.stderr.read()
        subprocess.run(send_argv, check=True)
        out, err = proc.communicate(timeout=seconds + 10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
    return set(out.split())


def in_ns(ns, *argv):
    return ['ip', 'netns', 'exec', ns, sys.executable, FRAMES] + [str(a) for a in argv]


def ping(ns, address):
    return subprocess.run(['ip', 'netns', 'exec', ns, 'ping', '-n', '-c', '1', '-w', '2', address],
                          capture_output=True, check=False).returncode == 0


@pytest.mark.parametrize('mode, hairpin, reachable', [
    ('vepa', False, False), ('vepa', True, True),
    ('bridge', False, True), ('bridge', True, True),
    ('private', False, False), ('private', True, False),
])
def test_seed_matrix(switched, endpoint_ns, mode, hairpin, reachable):
    """Two endpoints made by hostnet.vif.macvlan on one lower device, each in its own namespace:
    vepa reaches only when the switch port hairpins, bridge always, private never."""
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
    pipeline.run_links(dict(netns=host, lower='uplink', mode=mode, links=[dict(name='ea'), dict(name='eb')]),
                       'macvlan')
    for dev, address in (('ea', '192.0.2.1/24'), ('eb', '192.0.2.2/24')):
        target = endpoint_ns()
        sh('ip', '-n', host, 'link', 'set', dev, 'netns', target)
        sh('ip', '-n', target, 'addr', 'add', address, 'dev', dev)
        sh('ip', '-n', target, 'link', 'set', dev, 'up')
        if dev == 'ea':
            first = target
    assert ping(first, '192.0.2.2') is reachable


def test_source_mode_accepts_only_listed_senders(ns):
    """Frames from a listed source MAC reach the source-mode macvlan; others do not."""
    allowed, other = '02:00:5e:00:01:01', '02:00:5e:00:01:02'
    result = pipeline.run_links(dict(netns=ns, name='src0', lower='v0', mode='source', source_macs=[allowed]),
                                'macvlan')
    dst = result['links'][0]['mac']
    tag = uuid.uuid4().hex[:12]
    seen = receive_while(in_ns(ns, 'recv', 'src0', 1.0, tag),
                         ['sh', '-c', '%s && %s' % (' '.join(in_ns(ns, 'send', 'v1', allowed, dst, tag)),
                                                    ' '.join(in_ns(ns, 'send', 'v1', other, dst, tag)))])
    assert seen == {allowed}


def test_macvtap_device_carries_frames_both_ways(ns):
    """A frame written to the returned /dev node leaves through the lower device (seen on its veth
    peer), and a frame sent to the macvtap's MAC from the far side is read from the node."""
    result = pipeline.run_links(dict(netns=ns, name='vt0', lower='v0', mode='bridge'), 'macvtap')
    dev = result['links'][0]['device']
    mac = result['links'][0]['mac']
    tag = uuid.uuid4().hex[:12]
    out = receive_while(in_ns(ns, 'recv', 'v1', 1.0, tag),
                        [sys.executable, FRAMES, 'tapwrite', dev['path'], mac, '02:00:5e:00:02:02', tag])
    assert out == {mac}
    tag = uuid.uuid4().hex[:12]
    back = receive_while([sys.executable, FRAMES, 'tapread', dev['path'], '1.0', tag],
                         in_ns(ns, 'send', 'v1', '02:00:5e:00:02:03', mac, tag))
    assert back == {'02:00:5e:00:02:03'}


def _sysfs_dev(ns, name):
    out = sh('ip', 'netns', 'exec', ns, 'sh', '-c', 'cat /sys/class/net/%s/macvtap/*/dev' % name).stdout
    return out.strip()


def test_macvtap_ownership_applied_and_reapplied_after_recreate(ns):
    params = dict(netns=ns, name='vt1', lower='v0', mode='bridge', owner='65534', group='65534', device_mode='0660')
    result = pipeline.run_links(params, 'macvtap')
    dev = result['links'][0]['device']
    st = os.stat(dev['path'])
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o660)
    assert '%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)) == dev['major_minor'] == _sysfs_dev(ns, 'vt1')
    recreated = pipeline.run_links(dict(params, mode='passthru'), 'macvtap')
    assert any('recreate' in a for a in recreated['actions'])
    dev2 = recreated['links'][0]['device']
    st = os.stat(dev2['path'])
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o660)
    assert dev2['major_minor'] == _sysfs_dev(ns, 'vt1')


def test_colliding_ifindex_in_two_namespaces_gives_distinct_correct_devices(endpoint_ns):
    """Two namespaces built the same way give their macvtaps the same ifindex, so both want
    /dev/tapN: each result must name a node whose device number is its own link's (from sysfs)."""
    spaces = [endpoint_ns(), endpoint_ns()]
    devices = []
    for space in spaces:
        sh('ip', '-n', space, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
        result = pipeline.run_links(dict(netns=space, name='vt', lower='v0', mode='bridge', device_mode='0640'),
                                    'macvtap')
        devices.append(result['links'][0])
    assert devices[0]['index'] == devices[1]['index']
    assert devices[0]['device']['path'] != devices[1]['device']['path']
    for space, link in zip(spaces, devices):
        st = os.stat(link['device']['path'])
        assert '%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)) == _sysfs_dev(space, 'vt')
        assert stat.S_IMODE(st.st_mode) == 0o640


@pytest.mark.parametrize('hairpin', [False, True])
def test_private_mode_drops_reflected_broadcast_but_not_reflected_unicast(switched, hairpin):
    """Measured, and why the private_isolated profile forbids reflective relay: a private endpoint
    never gets broadcast (so no ARP, so no IP) from a private endpoint on the same lower device, but
    the kernel delivers a unicast frame the switch reflects (macvlan checks the source only for
    broadcast and multicast). Without hairpin nothing arrives at all."""
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
    pipeline.run_links(dict(netns=host, lower='uplink', mode='private',
                            links=[dict(name='pa', mac='02:00:5e:00:07:01'), dict(name='pb', mac='02:00:5e:00:07:02')]),
                       'macvlan')
    for dst, reflected in (('02:00:5e:00:07:02', hairpin), ('ff:ff:ff:ff:ff:ff', False)):
        tag = uuid.uuid4().hex[:12]
        seen = receive_while(in_ns(host, 'recv', 'pb', 1.0, tag), in_ns(host, 'send', 'pa', '02:00:5e:00:07:01', dst,
                                                                        tag))
        assert seen == ({'02:00:5e:00:07:01'} if reflected else set()), dst
