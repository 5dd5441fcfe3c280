"""The hostnet.vif.netns connection's mount_namespace option, against a real holder process: the
emulated SR-IOV host of sriov_emulator.py (run as a script, as molecule's create.yml runs it),
whose FUSE tree over /sys exists only in its own mount namespace."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, new_netns, del_netns

BIN = os.path.dirname(sys.executable)
EMULATOR = os.path.join(REPO, 'tests', 'kernel', 'sriov_emulator.py')
TOTALVFS = '/sys/class/net/pfemu0/device/sriov_totalvfs'


def adhoc(host, command, **host_vars):
    """`ansible HOST -m command` through the connection; (unreachable?, rc, output)."""
    inventory = {'all': {'hosts': {host: dict({'ansible_connection': 'hostnet.vif.netns',
                                               'ansible_python_interpreter': sys.executable}, **host_vars)}}}
    done = subprocess.run([os.path.join(BIN, 'ansible'), host, '-i', '/dev/stdin', '-m', 'ansible.builtin.command',
                           '-a', command, '-o'], input=json.dumps(inventory), capture_output=True, text=True,
                          check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def holder(tmp_path):
    """A namespace with an emulated SR-IOV host holding it; (namespace, holder pid)."""
    name = new_netns('c')
    pidfile = tmp_path / 'holder.pid'
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        subprocess.run([sys.executable, EMULATOR, 'hold', name, str(pidfile), '--totalvfs=3'], check=True, env=env,
                       capture_output=True, timeout=60)
        pid = int(pidfile.read_text())
        yield name, pid
    finally:
        if pidfile.exists():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGTERM)
            except ProcessLookupError:
                pass
        del_netns(name)


def test_commands_see_the_mounts_of_the_mount_namespace(holder):
    name, pid = holder
    rc, out = adhoc(name, 'cat ' + TOTALVFS, ansible_netns_mount_namespace='/proc/%d/ns/mnt' % pid)
    assert rc == 0 and '(stdout) 3' in out, out
    rc, out = adhoc(name, 'ls /sys/class/net', ansible_netns_mount_namespace='/proc/%d/ns/mnt' % pid)
    assert rc == 0 and 'pfemu0v2' in out and 'uplink' not in out, out
    # without it: `ip netns exec` mounts a fresh sysfs of the namespace, where the FUSE tree is not
    rc, out = adhoc(name, 'cat ' + TOTALVFS)
    assert rc != 0 and 'No such file or directory' in out, out


def test_a_holder_that_is_gone_makes_the_host_unreachable(holder):
    name, pid = holder
    os.kill(pid, signal.SIGTERM)
    for _attempt in range(100):  # not our child to wait for: its namespaces go when it exits (even as a zombie)
        if not os.path.exists('/proc/%d/ns/mnt' % pid):
            break
        time.sleep(0.05)
    rc, out = adhoc(name, 'true', ansible_netns_mount_namespace='/proc/%d/ns/mnt' % pid)
    assert rc != 0 and 'UNREACHABLE' in out and 'mount_namespace' in out and 'still running' in out, out


def test_a_file_that_is_not_a_mount_namespace_is_refused(holder, tmp_path):
    name, pid = holder
    (tmp_path / 'plain').write_text('')
    for path in ('/proc/%d/ns/net' % pid, str(tmp_path / 'plain')):
        rc, out = adhoc(name, 'true', ansible_netns_mount_namespace=path)
        assert rc != 0 and 'UNREACHABLE' in out and 'not a mount namespace' in out, out
