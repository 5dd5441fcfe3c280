"""hostnet.vif.reflective_relay against the lab's Linux-bridge switch: the probe's verdict follows the
switch port's hairpin, expectations fail loudly, nothing is left behind (also after a failure or a
kill), refusals, and the cross-check with real VEPA endpoints made by hostnet.vif.macvlan."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, links, sh, snapshot
from test_traffic import ping

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline, _probe as probe
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def helpers():
    """pids of probe helper processes (the owners of the probe's private namespaces)."""
    found = []
    for entry in os.listdir('/proc'):
        try:
            with open('/proc/%s/comm' % entry, 'rb') as handle:
                if entry.isdigit() and handle.read().strip() == probe.HELPER_NAME:
                    found.append(int(entry))
        except OSError:
            continue
    return found


def promiscuity(ns, name):
    """A probe endpoint on a veth raises the lower device's promiscuity; back to 0 once it is gone."""
    return links(ns)[name]['promiscuity']


def assert_nothing_left(host, before):
    deadline = time.monotonic() + 3
    while (helpers() or promiscuity(host, 'uplink')) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert helpers() == []
    assert promiscuity(host, 'uplink') == 0
    assert snapshot(host) == before


def relay(host, **params):
    params.setdefault('lower', 'uplink')
    return pipeline.run_relay(dict(params, netns=host))['relays']


@pytest.mark.parametrize('hairpin', [True, False])
def test_probe_follows_the_switch_ports_hairpin_and_leaves_nothing(switched, hairpin):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
    before = snapshot(host)
    [result] = relay(host, method='probe')
    assert (result['reflective_relay'], result['method'], result['lower']) == (hairpin, 'probe', 'uplink')
    evidence = result['evidence']
    assert evidence['frames_sent'] == 5 and evidence['ethertype'] == '0x88b5'
    assert evidence['frames_received'] == (5 if hairpin else 0)
    for mac in (evidence['sender_mac'], evidence['receiver_mac']):
        assert int(mac.split(':')[0], 16) & 0x03 == 0x02  # locally administered unicast
    assert_nothing_left(host, before)


@pytest.mark.parametrize('hairpin, expect, fails', [
    (False, 'required', True), (True, 'required', False), (True, 'forbidden', True), (False, 'forbidden', False),
    (False, 'any', False), (True, 'any', False)])
def test_expect_is_honoured_both_ways(switched, hairpin, expect, fails):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
    if not fails:
        [result] = relay(host, expect=expect)
        assert result['reflective_relay'] is hairpin and result['expect'] == expect
        return
    with pytest.raises(VifError) as err:
        relay(host, expect=expect)
    words = 'cannot reach each other' if expect == 'required' else 'reflects frames back'
    assert words in err.value.msg and 'uplink' in err.value.msg
    assert err.value.to_result()['relays'][0]['reflective_relay'] is hairpin


def test_cross_check_with_real_vepa_endpoints(switched, endpoint_ns):
    """Whenever the probe says true, VEPA endpoints made by hostnet.vif.macvlan reach each other;
    whenever it says false, they don't."""
    host, switch = switched
    pipeline.run_links(dict(netns=host, lower='uplink', mode='vepa', links=[dict(name='ea'), dict(name='eb')]),
                       'macvlan')
    spots = {}
    for dev, address in (('ea', '198.51.100.1/24'), ('eb', '198.51.100.2/24')):
        spots[dev] = endpoint_ns()
        sh('ip', '-n', host, 'link', 'set', dev, 'netns', spots[dev])
        sh('ip', '-n', spots[dev], 'addr', 'add', address, 'dev', dev)
        sh('ip', '-n', spots[dev], 'link', 'set', dev, 'up')
    for hairpin in (False, True, False):
        pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
        [result] = relay(host)
        assert result['reflective_relay'] is ping(spots['ea'], '198.51.100.2') is hairpin


def test_two_lower_devices_in_one_task(switched):
    host, switch = switched
    sh('ip', '-n', switch, 'link', 'add', 'swq', 'type', 'veth', 'peer', 'name', 'uplink2', 'netns', host)
    sh('ip', '-n', switch, 'link', 'set', 'swq', 'master', 'sw0')
    sh('ip', '-n', switch, 'link', 'set', 'swq', 'up')
    sh('ip', '-n', host, 'link', 'set', 'uplink2', 'up')
    pipeline.run_hairpin(dict(netns=switch, ports=[dict(name='swp', hairpin=True), dict(name='swq', hairpin=False)]))
    results = pipeline.run_relay(dict(netns=host, lowers=[dict(name='uplink', expect='required'),
                                                          dict(name='uplink2', expect='forbidden')]))['relays']
    assert [(r['lower'], r['reflective_relay']) for r in results] == [('uplink', True), ('uplink2', False)]


def test_check_mode_reports_unknown_unless_asked(switched):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=True))
    [result] = pipeline.run_relay(dict(netns=host, lower='uplink', expect='forbidden'), check_mode=True)['relays']
    assert result['reflective_relay'] is None and 'probe_in_check_mode' in result['reason']
    [result] = pipeline.run_relay(dict(netns=host, lower='uplink', probe_in_check_mode=True),
                                  check_mode=True)['relays']
    assert result['reflective_relay'] is True


def test_a_failure_mid_probe_leaves_nothing(switched, monkeypatch):
    host, switch = switched
    before = snapshot(host)
    real_call = probe.Endpoint.call

    def fail_on_collect(self, request, timeout):
        if request['op'] == 'collect':
            assert helpers() and promiscuity(host, 'uplink') == 1  # the probe really was half-way
            raise RuntimeError('injected failure')
        return real_call(self, request, timeout)
    monkeypatch.setattr(probe.Endpoint, 'call', fail_on_collect)
    with pytest.raises(VifError) as err:
        relay(host)
    assert 'the probe failed: injected failure' in err.value.msg
    assert_nothing_left(host, before)


KILLED = '''
import sys
sys.path.insert(0, sys.argv[2])
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
pipeline.run_relay(dict(netns=sys.argv[1], lower='uplink', timeout=30))
'''


def test_a_killed_probe_leaves_nothing_and_the_next_run_works(switched):
    """SIGKILL to the module's process while the probe waits (hairpin off: it would wait 30 s)."""
    host, switch = switched
    before = snapshot(host)
    collections = os.path.join(REPO, '.venv', 'collections')
    proc = subprocess.Popen([sys.executable, '-c', KILLED, host, collections])
    try:
        deadline = time.monotonic() + 10
        while len(helpers()) < 2 or promiscuity(host, 'uplink') < 1:
            assert time.monotonic() < deadline and proc.poll() is None, 'the probe never started'
            time.sleep(0.02)
        killed_helpers = set(helpers())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert_nothing_left(host, before)
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=True))
    assert relay(host)[0]['reflective_relay'] is True
    assert_nothing_left(host, before)
    assert not killed_helpers & recorded()  # the next run's sweep dropped the killed run's records


STOPPED = '''
import json, sys
sys.path.insert(0, sys.argv[2])
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
try:
    pipeline.run_relay(dict(netns=sys.argv[1], lower='uplink', timeout=30))
    print(json.dumps({'ok': True}))
except VifError as exc:
    print(json.dumps({'error': exc.msg}))
'''


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT], ids=['SIGTERM', 'SIGINT'])
def test_a_stop_signal_ends_a_waiting_probe_at_once_and_leaves_nothing(switched, sig):
    """The probe waits up to 30 s for frames (hairpin off); a stop signal ends it within a second
    and removes its links and helpers, instead of waiting the timeout out."""
    host, _switch = switched
    before = snapshot(host)
    collections = os.path.join(REPO, '.venv', 'collections')
    proc = subprocess.Popen([sys.executable, '-c', STOPPED, host, collections], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while len(helpers()) < 2 or promiscuity(host, 'uplink') < 1:
            assert time.monotonic() < deadline and proc.poll() is None, 'the probe never started'
            time.sleep(0.02)
        time.sleep(0.3)  # frames sent; the receiver is waiting
        proc.send_signal(sig)
        out, _err = proc.communicate(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert json.loads(out) == {'error': 'uplink: the probe failed: interrupted by %s (its temporary links and '
                                        'namespaces are removed)' % sig.name}
    assert_nothing_left(host, before)


def refuse(host, lower='uplink', **params):
    before = snapshot(host)
    with pytest.raises(VifError) as err:
        relay(host, lower=lower, **params)
    assert snapshot(host) == before and helpers() == []
    return err.value


def test_refusals_name_the_device_and_say_why(switched, endpoint_ns):
    host, switch = switched
    assert 'no such device' in refuse(host, lower='nope').msg
    sh('ip', '-n', switch, 'link', 'set', 'swp', 'down')
    assert 'no carrier' in refuse(host).msg
    sh('ip', '-n', switch, 'link', 'set', 'swp', 'up')
    sh('ip', '-n', host, 'link', 'set', 'uplink', 'down')
    err = refuse(host)
    assert 'the device is down' in err.msg and err.field == 'lower' and err.value == 'uplink'
    sh('ip', '-n', host, 'link', 'set', 'uplink', 'up')
    pipeline.run_links(dict(netns=host, name='pt0', lower='uplink', mode='passthru'), 'macvlan')
    assert 'carries the passthru macvlan pt0' in refuse(host).msg
    with pytest.raises(VifError) as err:
        pipeline.run_relay(dict(netns='hvt-no-such-ns', lower='uplink'))
    assert 'does not exist' in err.value.msg and err.value.field == 'netns'
    err = refuse(host, method='lldp')
    assert err.field == 'method' and 'lldp' in err.msg


def test_a_macvlan_as_lower_device_is_reported_not_probed(switched):
    host, _switch = switched
    pipeline.run_links(dict(netns=host, name='mv0', lower='uplink', mode='bridge'), 'macvlan')
    [result] = relay(host, lower='mv0', expect='required')
    assert result['reflective_relay'] is None and 'probe that device instead' in result['reason']
    assert helpers() == []


def test_vif_info_reports_the_relay_only_when_asked(switched):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=True))
    assert 'reflective_relay' not in pipeline.run_info(dict(netns=host))['vif'] and helpers() == []
    vif = pipeline.run_info(dict(netns=host, reflective_relay=['uplink']))['vif']
    assert [(r['lower'], r['reflective_relay'], r['method']) for r in vif['reflective_relay']] == [
        ('uplink', True, 'probe')]
    vif = pipeline.run_info(dict(netns=host, reflective_relay=['uplink']), check_mode=True)['vif']
    assert vif['reflective_relay'][0]['reflective_relay'] is None


# -- who the sweep may kill ------------------------------------------------------------------------

ORPHAN = '''
import ctypes, os, sys, time
if os.fork():
    os._exit(0)  # the orphan is adopted by init, as a helper whose module died would be
ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
print(os.getpid(), flush=True)
os.close(1)
time.sleep(60)
'''


def orphan(name=None):
    """A process without its parent, named ``name`` (by default as the probe's helpers are): its pid."""
    name = name or probe.HELPER_NAME.decode()
    out = subprocess.run([sys.executable, '-c', ORPHAN, name], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True, check=True).stdout
    pid = int(out.split()[0])
    deadline = time.monotonic() + 5
    while open('/proc/%d/comm' % pid).read().strip() != name:  # the rename happens after the fork
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return pid


def start_time(pid):
    """/proc/PID/stat field 22, read here rather than by the code under test; None once gone."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return int(handle.read().rsplit(')', 1)[1].split()[19])
    except FileNotFoundError:
        return None


def parent_of(pid):
    with open('/proc/%d/stat' % pid) as handle:
        return int(handle.read().rsplit(')', 1)[1].split()[1])


def alive(pid, start):
    return start_time(pid) == start


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_stranger_named_like_a_helper_survives_the_probe(switched):
    """Anyone can name a process hvif-probe: the sweep kills only helpers it recorded."""
    host, _switch = switched
    stranger = orphan()
    try:
        start = start_time(stranger)
        assert parent_of(stranger) == 1  # an orphan, adopted by init: what the old sweep took for a helper
        relay(host)
        assert alive(stranger, start)
    finally:
        kill(stranger)


def write_record(helper, run, helper_start=None, run_start=None):
    directory = probe._record_dir()
    try:
        fd = os.open(str(helper), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600, dir_fd=directory)
        os.write(fd, b'%d %d %d %d\n' % (helper, start_time(helper) if helper_start is None else helper_start,
                                         run, start_time(run) if run_start is None else run_start))
        os.close(fd)
    finally:
        os.close(directory)


def recorded():
    return set(int(name) for name in os.listdir(probe.RECORD_DIR))


def test_the_sweep_kills_recorded_helpers_of_ended_runs_only():
    """Records as a run writes them, for real processes: a helper whose run has ended is killed;
    a helper of a run still going, and a process that only reuses a recorded pid, are not."""
    ended_run = subprocess.Popen(['sleep', '60'])
    ended_start = start_time(ended_run.pid)
    ended_run.kill()
    ended_run.wait()
    left_behind, of_live_run, recycled = orphan('hvt-left'), orphan('hvt-busy'), orphan('hvt-recycled')
    starts = {pid: start_time(pid) for pid in (left_behind, of_live_run, recycled)}
    try:
        write_record(left_behind, ended_run.pid, run_start=ended_start)
        write_record(of_live_run, os.getpid())
        write_record(recycled, ended_run.pid, helper_start=starts[recycled] - 1, run_start=ended_start)
        probe._sweep()
        deadline = time.monotonic() + 3
        while alive(left_behind, starts[left_behind]) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not alive(left_behind, starts[left_behind])
        assert alive(of_live_run, starts[of_live_run]) and alive(recycled, starts[recycled])
        assert left_behind not in recorded() and recycled not in recorded() and of_live_run in recorded()
    finally:
        for pid in (left_behind, of_live_run, recycled):
            kill(pid)
        for pid in (left_behind, of_live_run, recycled):
            probe._forget(pid)


def test_the_record_directory_must_be_private(tmp_path, monkeypatch):
    shared = tmp_path / 'records'
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setattr(probe, 'RECORD_DIR', str(shared))
    with pytest.raises(VifError, match='writable by others'):
        probe._sweep()
    link = tmp_path / 'link'
    link.symlink_to(tmp_path)
    monkeypatch.setattr(probe, 'RECORD_DIR', str(link))
    with pytest.raises(VifError, match='is a symbolic link'):
        probe._sweep()


# -- whose frames count ----------------------------------------------------------------------------

SWITCH_SIDE = '''
import select, socket, sys, time
mode, frames = sys.argv[1], [bytes.fromhex(h) for h in sys.argv[2:]]
ETH_P_ALL, PACKET_OUTGOING, PROBE = 0x0003, 4, b"\\x88\\xb5"
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))  # sees frames the bridge takes
sock.bind(("swp", ETH_P_ALL))
print("ready", flush=True)
seen, deadline = [], time.monotonic() + 10
while len(seen) < 5 and select.select([sock], [], [], deadline - time.monotonic())[0]:
    data, address = sock.recvfrom(2048)
    if data[12:14] != PROBE or address[2] == PACKET_OUTGOING:
        continue
    seen.append(data)
    if mode == "capture":
        continue
    if mode == "reflect":  # the attack no nonce stops: a host on the VLAN sends the run's own frames back
        sock.send(data)
        continue
    macs = data[:12]  # this run's MACs; frames without this run's nonce:
    for frame in frames + [macs + PROBE + bytes(46), macs + PROBE + frames[0][14:]]:
        sock.send(frame)
    break
print(" ".join(frame.hex() for frame in seen), flush=True)
'''


def from_the_switch(switch, mode, frames=()):
    """A process on the switch port (AF_PACKET on swp) that captures the probe's frames, sends
    other frames into the host when it sees the probe's first one, or reflects each one itself."""
    proc = subprocess.Popen(['ip', 'netns', 'exec', switch, sys.executable, '-c', SWITCH_SIDE, mode] +
                            [frame.hex() for frame in frames], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'ready'
    return proc


def switch_saw(proc):
    out = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0
    return [bytes.fromhex(word) for word in out.split()]


def test_only_frames_with_the_runs_nonce_count(switched):
    """Hairpin off. Frames replayed from an earlier run, or sent with this run's MACs but without its
    nonce, come in from the switch side and do not count; this holds even when the process's random
    module was seeded alike for both runs (the nonce comes from the OS, not from that shared PRNG).
    Control: the run's own frames sent back do count, so the injected frames do reach the receiver."""
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=False))
    capture = from_the_switch(switch, 'capture')
    random.seed(1)
    [first] = relay(host)
    earlier = switch_saw(capture)
    assert first['reflective_relay'] is False and len(earlier) == 5
    replay = from_the_switch(switch, 'replay', earlier)
    random.seed(1)
    [second] = relay(host, timeout=3)  # time enough for the injected frames to arrive on a busy machine
    assert len(switch_saw(replay)) == 1
    assert (second['reflective_relay'], second['evidence']['frames_received']) == (False, 0)
    reflect = from_the_switch(switch, 'reflect')
    [third] = relay(host, timeout=3)
    assert len(switch_saw(reflect)) == 5
    assert third['reflective_relay'] is True  # not authenticated: see docs/docsite/rst/reflective_relay.rst
