"""The main job: playbooks/lab.yml through ansible-playbook, as scripts/lab runs it."""

import os
import signal
import subprocess
import sys
import time

from conftest import REPO, sh

BIN = os.path.dirname(sys.executable)


def _lab_namespaces():
    return [line.split()[0] for line in sh('ip', 'netns', 'list').stdout.splitlines() if line.startswith('hvlab-')]


def _cmd():
    return [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=%s' % sys.executable, os.path.join(REPO, 'playbooks', 'lab.yml')]


def _env():
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'))
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, '.venv', 'collections'))
    return env


def test_an_interrupted_lab_is_cleaned_up_by_the_next_run():
    """Interrupt a run once the lab exists (Ctrl-C: SIGINT to the process group), then run the whole lab: it removes
    the leftovers, prints all six cells as expected, and leaves no hvlab-* namespace."""
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
    assert _lab_namespaces() == []
    # the emulated SR-IOV host is gone too: its holder, its pid file, its persisted .link
    assert sh('pgrep', '-f', 'sriov_emulator.py hold hvlab-', check=False).stdout == ''
    assert [name for name in os.listdir('/run') if name.startswith('hvlab-')] == []
