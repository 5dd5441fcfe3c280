"""The hostnet.vif.netns connection: which namespaces it agrees to enter, through `ansible` itself.

Network namespace: a plain name, and /run/netns/NAME must be a network namespace (not a symbolic
link, a plain file, a FIFO or another kind of namespace). mount_namespace: against a real holder
process, the emulated SR-IOV host of sriov_emulator.py (run as a script, as molecule's create.yml
runs it), whose FUSE tree over /sys exists only in its own mount namespace; it must be the holder
recorded (mount namespace inode and the holder's start time), or the host is unreachable."""

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
ENTER = os.path.join(REPO, 'plugins', 'plugin_utils', '_netns.py')
TOTALVFS = '/sys/class/net/pfemu0/device/sriov_totalvfs'


def adhoc(host, command, prefix=(), **host_vars):
    """`ansible HOST -m command` through the connection (run after ``prefix``); (rc, output)."""
    inventory = {'all': {'hosts': {host: dict({'ansible_connection': 'hostnet.vif.netns',
                                               'ansible_python_interpreter': sys.executable}, **host_vars)}}}
    argv = [os.path.join(BIN, 'ansible'), host, '-i', '/dev/stdin', '-m', 'ansible.builtin.command', '-a', command,
            '-o']
    done = subprocess.run(list(prefix) + argv, input=json.dumps(inventory), capture_output=True, text=True,
                          check=False, env=dict(os.environ, ANSIBLE_NOCOLOR='1'))
    return done.returncode, done.stdout + done.stderr


def assert_unreachable(out, *words):
    assert 'UNREACHABLE' in out and 'hostnet.vif.netns' in out, out
    for word in words:
        assert word in out, (word, out)


@pytest.fixture
def netns_entry():
    """Make /run/netns/hvt-<name> something that is not a network namespace; removed at teardown."""
    made = []

    def make(kind, target=None):
        name = 'hvt-x%s%d' % (kind[:4], os.getpid() % 10000 + len(made))
        path = os.path.join('/run/netns', name)
        made.append(path)
        if kind == 'plain':
            with open(path, 'w') as handle:
                handle.write('')
        elif kind == 'symlink':
            os.symlink(target, path)
        elif kind == 'fifo':
            os.mkfifo(path)
        return name
    try:
        yield make
    finally:
        for path in made:
            if os.path.lexists(path):
                os.unlink(path)


@pytest.fixture
def other_mount_ns():
    """A process with a mount namespace of its own (not the holder's); its pid."""
    proc = subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'sleep', '300'])
    try:
        for _attempt in range(100):
            if os.readlink('/proc/%d/ns/mnt' % proc.pid) != os.readlink('/proc/self/ns/mnt'):
                break
            time.sleep(0.05)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize('name', ['.', '..', 'a/b', 'hvt-a b', 'hvt-*', 'hvt-[x]', '!hvt', "hvt-'q'", 'hvt-\\x',
                                  'hvt-\u00e9', 'hvt-\tx', 'x' * 256])
def test_a_name_that_is_not_plain_is_unreachable(name):
    rc, out = adhoc('target', 'true', ansible_netns_name=name)
    assert rc != 0
    assert_unreachable(out, 'host target', 'network namespace name', 'plain name' if len(name) < 256 else 'at most 255')
    if name.isascii() and name.isprintable() and not set('\'\\') & set(name):
        assert repr(name) in out, out  # the value itself, quoted


def test_an_entry_that_is_a_plain_file_is_unreachable(netns_entry):
    name = netns_entry('plain')
    rc, out = adhoc(name, 'true')
    assert rc != 0
    assert_unreachable(out, name, 'is not a namespace file')


def test_an_entry_that_is_a_symlink_is_unreachable(netns_entry):
    real = new_netns('l')
    try:
        assert adhoc(real, 'true')[0] == 0  # the namespace itself is fine
        name = netns_entry('symlink', os.path.join('/run/netns', real))
        rc, out = adhoc(name, 'true')
        assert rc != 0
        assert_unreachable(out, name, 'symbolic link')
    finally:
        del_netns(real)


# A mount namespace file can be bound only where the mount propagates to no other mount namespace, and only
# into a namespace older than the one it pins: so ansible runs in a private mount namespace where this binds
# a newer one (held by a sleep) onto the /run/netns entry $0, gone with that namespace. (This kernel refuses
# some of those binds with EINVAL for no reason we found, about one in six: a fresh namespace is tried then.)
BIND_A_MOUNT_NAMESPACE = (
    'for attempt in 1 2 3 4 5 6 7 8 9 10; do '
    'unshare --mount --propagation private sleep 300 & other=$!; '
    'while [ "$(readlink /proc/$other/ns/mnt)" = "$(readlink /proc/$$/ns/mnt)" ]; do sleep 0.05; done; '
    'mount --bind /proc/$other/ns/mnt "$0" && break; kill $other; other=; done; '
    '[ -n "$other" ] || exit 99; "$@"; status=$?; kill $other; exit $status')


def test_an_entry_that_is_a_mount_namespace_is_unreachable(netns_entry):
    name = netns_entry('plain')
    prefix = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', BIND_A_MOUNT_NAMESPACE,
              os.path.join('/run/netns', name)]
    rc, out = adhoc(name, 'true', prefix=prefix)
    assert rc != 0
    assert_unreachable(out, name, 'is a mount namespace, not a network namespace')


def test_an_entry_that_is_a_fifo_is_refused_without_blocking(netns_entry):
    """Opening a FIFO for reading would wait for a writer forever."""
    name = netns_entry('fifo')
    done = subprocess.run([sys.executable, '-I', '-S', ENTER, name, '/proc/1/ns/mnt', '1', '1', '/bin/true'],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 255 and 'not a namespace file' in done.stderr, done.stderr


def test_a_missing_namespace_is_unreachable_and_not_created():
    name = 'hvt-missing%d' % os.getpid()
    rc, out = adhoc(name, 'true')
    assert rc != 0
    assert_unreachable(out, name, 'does not exist', 'never creates')
    assert not os.path.lexists(os.path.join('/run/netns', name))


# -- mount_namespace ------------------------------------------------------------------------------------


@pytest.fixture
def holder(tmp_path):
    """A namespace with an emulated SR-IOV host holding it; (namespace, holder record)."""
    name = new_netns('c')
    record_file = tmp_path / 'holder.json'
    try:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        subprocess.run([sys.executable, EMULATOR, 'hold', name, str(record_file), '--totalvfs=3'], check=True,
                       env=env, capture_output=True, timeout=60)
        yield name, json.loads(record_file.read_text())
    finally:
        subprocess.run([sys.executable, EMULATOR, 'stop', str(record_file)], check=False, capture_output=True)
        del_netns(name)


def holder_vars(record, **changes):
    values = {'ansible_netns_mount_namespace': record['mount_namespace'],
              'ansible_netns_mount_namespace_id': record['mount_namespace_id'],
              'ansible_netns_mount_namespace_holder_start': record['start']}
    values.update(changes)
    return values


def test_the_holder_record_is_the_holder():
    """What the emulator records is what the kernel shows for that process (checked here, not by the code)."""
    pid = os.getpid()
    stat_fields = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
    sys.path.insert(0, os.path.dirname(EMULATOR))
    try:
        import sriov_emulator
        record = sriov_emulator._holder_record(pid)
    finally:
        sys.path.pop(0)
    assert record == {'pid': pid, 'start': int(stat_fields[19]), 'mount_namespace': '/proc/%d/ns/mnt' % pid,
                      'mount_namespace_id': 'mnt:[%d]' % os.stat('/proc/self/ns/mnt').st_ino}


def test_commands_see_the_mounts_of_the_mount_namespace(holder):
    name, record = holder
    rc, out = adhoc(name, 'cat ' + TOTALVFS, **holder_vars(record))
    assert rc == 0 and '(stdout) 3' in out, out
    rc, out = adhoc(name, 'ls /sys/class/net', **holder_vars(record))
    assert rc == 0 and 'pfemu0v2' in out and 'uplink' not in out, out
    # the id as a bare inode number works too
    inode = record['mount_namespace_id'][len('mnt:['):-1]
    rc, out = adhoc(name, 'cat ' + TOTALVFS, **holder_vars(record, ansible_netns_mount_namespace_id=inode))
    assert rc == 0 and '(stdout) 3' in out, out
    # without it: `ip netns exec` mounts a fresh sysfs of the namespace, where the FUSE tree is not
    rc, out = adhoc(name, 'cat ' + TOTALVFS)
    assert rc != 0 and 'No such file or directory' in out, out


def test_a_holder_that_is_gone_makes_the_host_unreachable(holder):
    name, record = holder
    pid = record['pid']
    os.kill(pid, signal.SIGTERM)
    for _attempt in range(100):  # not our child to wait for: its namespaces go when it exits (even as a zombie)
        if not os.path.exists('/proc/%d/ns/mnt' % pid):
            break
        time.sleep(0.05)
    rc, out = adhoc(name, 'true', **holder_vars(record))
    assert rc != 0
    assert_unreachable(out, 'mount_namespace', 'still running')


def test_a_file_that_is_not_a_mount_namespace_is_refused(holder, tmp_path):
    name, record = holder
    (tmp_path / 'plain').write_text('')
    for path, why in (('/run/netns/' + name, 'is a network namespace, not a mount namespace'),
                      (str(tmp_path / 'plain'), 'is not a namespace file'),
                      ('/proc/%d/ns/net' % record['pid'], 'is a symbolic link')):
        rc, out = adhoc(name, 'true', **holder_vars(record, ansible_netns_mount_namespace=path))
        assert rc != 0
        assert_unreachable(out, path, why)


def test_a_reused_pid_is_refused(holder, other_mount_ns, tmp_path):
    """The holder's pid file now names another process: as if the holder had exited and its pid had been reused
    by a process in another mount namespace, whose /bin/sh would then run as root. Refused before anything runs."""
    name, record = holder
    marker = tmp_path / 'ran'
    reused = holder_vars(record, ansible_netns_mount_namespace='/proc/%d/ns/mnt' % other_mount_ns)
    rc, out = adhoc(name, 'touch %s' % marker, **reused)
    assert rc != 0
    assert_unreachable(out, 'process %d started at' % other_mount_ns, 'not the holder')
    assert not marker.exists()


def test_a_process_of_the_same_namespace_with_another_start_is_refused(holder):
    """The pid check holds on its own: the holder's pid with a start time it never had (a reused pid whose new
    process happens to sit in a namespace with a recycled inode number) is refused."""
    name, record = holder
    rc, out = adhoc(name, 'true', **holder_vars(record, ansible_netns_mount_namespace_holder_start=record['start'] - 1))
    assert rc != 0
    assert_unreachable(out, 'not the holder that started at %d' % (record['start'] - 1))


def test_another_namespace_than_the_recorded_one_is_refused(holder, other_mount_ns):
    """The inode check holds on its own: the right holder, but the id of another mount namespace."""
    name, record = holder
    other_id = os.readlink('/proc/%d/ns/mnt' % other_mount_ns)
    rc, out = adhoc(name, 'true', **holder_vars(record, ansible_netns_mount_namespace_id=other_id))
    assert rc != 0
    assert_unreachable(out, 'not the recorded %s' % other_id)


def test_the_id_and_the_start_time_are_required(holder):
    name, record = holder
    rc, out = adhoc(name, 'true', ansible_netns_mount_namespace=record['mount_namespace'])
    assert rc != 0
    assert_unreachable(out, 'mount_namespace_id is required')
    rc, out = adhoc(name, 'true', ansible_netns_mount_namespace=record['mount_namespace'],
                    ansible_netns_mount_namespace_id=record['mount_namespace_id'])
    assert rc != 0
    assert_unreachable(out, 'mount_namespace_holder_start is required')
    rc, out = adhoc(name, 'true', **holder_vars(record, ansible_netns_mount_namespace_id='mnt:4026'))
    assert rc != 0
    assert_unreachable(out, "mount_namespace_id 'mnt:4026' is not a mount namespace id")


def test_a_symlink_to_the_namespace_is_refused(holder, tmp_path):
    name, record = holder
    link = tmp_path / 'mnt-link'
    os.symlink(record['mount_namespace'], str(link))
    rc, out = adhoc(name, 'true', **holder_vars(record, ansible_netns_mount_namespace=str(link)))
    assert rc != 0
    assert_unreachable(out, 'symbolic link')


def test_the_entering_helper_checks_again_before_it_runs_anything(holder, other_mount_ns, tmp_path):
    """What each command goes through: the checks on the very descriptors it joins, so a holder replaced between
    the connection's check and the command still runs nothing (exit 255, the connection's unreachable)."""
    name, record = holder
    marker = tmp_path / 'ran'

    def enter(mount_ns, command):
        return subprocess.run([sys.executable, '-I', '-S', ENTER, name, mount_ns, record['mount_namespace_id'],
                               str(record['start']), '/bin/sh', '-c', command], capture_output=True, text=True,
                              check=False)
    done = enter('/proc/%d/ns/mnt' % other_mount_ns, 'touch %s' % marker)
    assert done.returncode == 255 and done.stderr.startswith('hostnet.vif.netns: ') and 'not the holder' in \
        done.stderr, done.stderr
    assert not marker.exists()
    done = enter(record['mount_namespace'], 'cat %s' % TOTALVFS)
    assert done.returncode == 0 and done.stdout.strip() == '3', done.stderr
