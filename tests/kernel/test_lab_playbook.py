"""The main job: playbooks/lab.yml through ansible-playbook, as scripts/lab runs it; and how a run
removes what an interrupted run left without touching a lab running at the same time
(playbooks/files/lab_runs.py: per-run ids and markers)."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, sh

BIN = os.path.dirname(sys.executable)
LAB_RUNS = os.path.join(REPO, 'playbooks', 'files', 'lab_runs.py')
EMULATOR = os.path.join(REPO, 'tests', 'kernel', 'sriov_emulator.py')


def _start_time(pid):
    with open('/proc/%d/stat' % pid) as handle:
        return int(handle.read().rsplit(')', 1)[1].split()[19])


def _gone_process():
    """(pid, start time) of a process that has exited."""
    proc = subprocess.Popen(['sleep', '60'])
    start = _start_time(proc.pid)
    proc.kill()
    proc.wait()
    return proc.pid, start


def _fake_run(run, owner, namespaces=('switch', 'host'), holder=None):
    """A lab run as lab.yml makes one: marker /run/hvlab-RUN.run naming ``owner`` (pid, start), its
    namespaces, a persisted directory, and optionally an SR-IOV holder recorded in /run."""
    with open('/run/hvlab-%s.run' % run, 'x') as handle:
        json.dump({'pid': owner[0], 'start': owner[1]}, handle)
    for name in namespaces:
        sh('ip', 'netns', 'add', 'hvlab-%s-%s' % (run, name))
    os.mkdir('/run/hvlab-%s-p-x.persist' % run)
    with open('/run/hvlab-%s-p-x.persist/a.link' % run, 'w') as handle:
        handle.write('[Match]\n')
    if holder:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        subprocess.run([sys.executable, EMULATOR, 'hold', 'hvlab-%s-%s' % (run, holder),
                        '/run/hvlab-%s-p-x.sriov-holder.json' % run, '--totalvfs=2'], check=True, env=env,
                       capture_output=True, timeout=60)


def _run_leftovers(run):
    return sorted([name for name in _lab_namespaces() if name.startswith('hvlab-%s-' % run)]
                  + [name for name in os.listdir('/run') if name.startswith('hvlab-%s' % run)])


@pytest.fixture
def fake_runs():
    """Runs made by _fake_run, removed at teardown whatever state they are in."""
    runs = []
    try:
        yield runs
    finally:
        for run in runs:
            subprocess.run([sys.executable, LAB_RUNS, 'remove', EMULATOR, run], check=False, capture_output=True)


def _run_ids():
    return set(re.match(r'hvlab-([0-9a-f]{8})-', name).group(1) for name in _lab_namespaces()
               if re.match(r'hvlab-([0-9a-f]{8})-', name))


def _lab_namespaces():
    return [line.split()[0] for line in sh('ip', 'netns', 'list').stdout.splitlines() if line.startswith('hvlab-')]


def _cmd():
    return [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, os.path.join(REPO, 'playbooks', 'lab.yml')]


def _env():
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, '.venv', 'collections'))
    return env


def test_clean_removes_dead_runs_only(fake_runs):
    """A run whose ansible-playbook still runs (here: this test process) keeps everything; a run whose owner is
    gone, and one whose owner's pid now belongs to a process that started at another time, lose everything:
    their SR-IOV holder stopped, /run entries and namespaces removed, the marker last."""
    live, dead, reused = 'a0a0a0a0', 'd0d0d0d0', 'e0e0e0e0'
    fake_runs.extend([live, dead, reused])
    me = (os.getpid(), _start_time(os.getpid()))
    _fake_run(live, me)
    _fake_run(dead, _gone_process(), holder='host')
    _fake_run(reused, (me[0], me[1] - 1))
    holder = json.loads(open('/run/hvlab-%s-p-x.sriov-holder.json' % dead).read())
    assert os.path.exists('/proc/%d' % holder['pid'])

    done = subprocess.run([sys.executable, LAB_RUNS, 'clean', EMULATOR], capture_output=True, text=True, check=True)
    # Exactly these of the fake runs; a dead run left on the machine by something else is removed too.
    removed = set(json.loads(done.stdout))
    assert {dead, reused} <= removed and live not in removed
    assert _run_leftovers(live) == ['hvlab-%s-host' % live, 'hvlab-%s-p-x.persist' % live, 'hvlab-%s-switch' % live,
                                    'hvlab-%s.run' % live]
    assert _run_leftovers(dead) == [] and _run_leftovers(reused) == []
    for _attempt in range(100):  # SIGTERM: it exits soon, not necessarily at once
        if _start_time_or_none(holder['pid']) != holder['start']:
            break
        time.sleep(0.05)
    assert _start_time_or_none(holder['pid']) != holder['start'], 'the dead run\'s SR-IOV holder still runs'


def _start_time_or_none(pid):
    try:
        return _start_time(pid)
    except OSError:
        return None


def test_namespaces_without_a_marker_are_a_dead_run(fake_runs):
    """A run writes its marker before its first namespace: namespaces of a run id with no marker are leftovers."""
    run = 'b0b0b0b0'
    fake_runs.append(run)
    _fake_run(run, _gone_process())
    os.unlink('/run/hvlab-%s.run' % run)
    done = subprocess.run([sys.executable, LAB_RUNS, 'clean', EMULATOR], capture_output=True, text=True, check=True)
    assert run in json.loads(done.stdout)
    assert _run_leftovers(run) == []


def test_an_interrupted_lab_is_cleaned_up_by_the_next_run(fake_runs):
    """Interrupt a run once the lab exists (Ctrl-C: SIGINT to the process group), then run the whole lab while
    another lab runs (simulated: a run whose owner is this test process) and a dead one left things: it removes the
    interrupted and the dead run's leftovers, leaves the running lab's namespaces alone, prints all six cells as
    expected, and leaves nothing of its own."""
    before = _run_ids()
    proc = subprocess.Popen(_cmd(), env=_env(), cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(_lab_namespaces()) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert len(_lab_namespaces()) >= 2, 'the lab never came up'
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert _lab_namespaces(), 'nothing left behind to clean: the kill came too late to prove anything'
    interrupted = _run_ids() - before
    live, dead = 'c1c1c1c1', 'c2c2c2c2'
    fake_runs.extend([live, dead])
    _fake_run(live, (os.getpid(), _start_time(os.getpid())), namespaces=('switch', 'host', 'p-sriov_passthru'))
    _fake_run(dead, _gone_process())

    done = subprocess.run(_cmd(), env=_env(), cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for mode, hairpin, reachable in (('vepa', 'off', 'no'), ('bridge', 'off', 'yes'), ('private', 'off', 'no'),
                                     ('vepa', 'on', 'yes'), ('bridge', 'on', 'yes'), ('private', 'on', 'no')):
        relay = 'yes' if hairpin == 'on' else 'no'  # what the reflective_relay probe found on the switch port
        line = '%-8s %-8s %-7s %-10s %-9s %s' % (mode, hairpin, relay, reachable, reachable, 'ok')
        assert line in done.stdout, line
    assert 'all 6 cells as expected' in done.stdout
    # part two: each ready profile applied by host_profile to its own namespace host (netns connection)
    for line in ('vepa_edge: vepa0, vepa1', 'bridge_local: hostside, vm0tap, vm1tap',
                 'private_isolated: tenant0, tenant1', 'sriov_passthru: pt-pfemu0v0, pt-pfemu0v1'):
        assert line in done.stdout, line
    # the running lab kept everything; nothing is left of the interrupted run, the dead one, or this run (its
    # emulated SR-IOV host included: holder process, record, persisted .link)
    assert _run_leftovers(live) == ['hvlab-%s-host' % live, 'hvlab-%s-p-sriov_passthru' % live,
                                    'hvlab-%s-p-x.persist' % live, 'hvlab-%s-switch' % live, 'hvlab-%s.run' % live]
    this_run = set(re.findall(r'hvlab-([0-9a-f]{8})-switch', done.stdout))
    assert len(interrupted) == 1 and len(this_run) == 1 and this_run != interrupted, (interrupted, this_run)
    for run in interrupted | this_run | {dead}:
        assert _run_leftovers(run) == [], run
        assert sh('pgrep', '-f', 'sriov_emulator.py hold hvlab-%s-' % run, check=False).stdout == ''
