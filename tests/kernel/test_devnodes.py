"""macvtap character-device nodes made and changed by the engine, with real macvtap links in
namespaces: nothing is followed through a symbolic link (at /dev/tapN or at the private node),
the private directory is root's 0711 whatever the umask and refused when another user could
change it, a device number that is not a macvtap's is refused, and check mode makes no node.

Where a test plants links or loose directories, /dev and /dev/hostnet-vif are replaced by
stand-in directories under pytest's tmp_path (kernel.DEV_DIR, kernel.PRIVATE_DEV_DIR); the
device numbers and nodes are the kernel's own."""

import json
import os
import random
import stat
import subprocess
import sys

import pytest
from conftest import sh

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def macvtap(ns, name='vt', **extra):
    return pipeline.run_links(dict(netns=ns, name=name, lower='v0', mode='bridge', **extra), 'macvtap')['links'][0]


def sysfs_dev(ns, name):
    out = sh('ip', 'netns', 'exec', ns, 'sh', '-c', 'cat /sys/class/net/%s/macvtap/*/dev' % name).stdout
    major, minor = out.strip().split(':')
    return int(major), int(minor)


def index_of(ns, name):
    return int(sh('ip', 'netns', 'exec', ns, 'cat', '/sys/class/net/%s/ifindex' % name).stdout)


@pytest.fixture
def stand_ins(tmp_path, monkeypatch):
    """An empty /dev stand-in (so /dev/tapN is not found there) and a private-directory stand-in."""
    dev = tmp_path / 'dev'
    dev.mkdir(mode=0o755)
    monkeypatch.setattr(kern, 'DEV_DIR', str(dev), raising=False)
    monkeypatch.setattr(kern, 'PRIVATE_DEV_DIR', str(dev / 'hostnet-vif'))
    return dev


def test_a_symlink_at_the_private_node_is_replaced_not_followed(ns, stand_ins, tmp_path):
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'vt', 'type', 'macvtap', 'mode', 'bridge')
    major, minor = sysfs_dev(ns, 'vt')
    target = tmp_path / 'target'  # the same device number, somewhere else: must keep root 0600
    os.mknod(target, stat.S_IFCHR | 0o600, os.makedev(major, minor))
    private = stand_ins / 'hostnet-vif' / ns
    private.mkdir(parents=True, mode=0o711)
    os.chmod(private.parent, 0o711)
    os.chmod(private, 0o711)
    (private / 'vt').symlink_to(target)
    link = macvtap(ns, owner='65534', group='65534', device_mode='0660')
    assert link['device']['path'] == str(private / 'vt')
    st = os.lstat(private / 'vt')
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(major, minor)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o660)
    st = os.stat(target)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)


def test_a_symlink_at_dev_tapN_is_not_taken_for_the_device(ns, stand_ins):
    index = random.randint(20000, 60000)  # an ifindex no other test uses: the real /dev/tapN is this device's
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'vt', 'index', index, 'type', 'macvtap', 'mode', 'bridge')
    major, minor = sysfs_dev(ns, 'vt')
    real = '/dev/tap%d' % index
    assert os.stat(real).st_rdev == os.makedev(major, minor)
    (stand_ins / ('tap%d' % index)).symlink_to(real)  # the stand-in /dev/tapN: a link to the right device
    path = kern.chardev_node(ns, 'vt', index, major, minor)
    assert path == os.path.join(kern.PRIVATE_DEV_DIR, ns, 'vt')
    st = os.lstat(path)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(major, minor)


def test_a_symlinked_private_directory_is_refused(ns, stand_ins, tmp_path):
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'vt', 'type', 'macvtap', 'mode', 'bridge')
    major, minor = sysfs_dev(ns, 'vt')
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o711)
    (stand_ins / 'hostnet-vif').symlink_to(elsewhere)
    with pytest.raises(VifError) as err:
        kern.chardev_node(ns, 'vt', index_of(ns, 'vt'), major, minor)
    assert 'symbolic link' in err.value.msg
    assert os.listdir(elsewhere) == []


@pytest.mark.parametrize('level', ['top', 'namespace'])
def test_a_private_directory_others_can_write_is_refused(ns, stand_ins, level):
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'vt', 'type', 'macvtap', 'mode', 'bridge')
    major, minor = sysfs_dev(ns, 'vt')
    top = stand_ins / 'hostnet-vif'
    (top / ns).mkdir(parents=True)
    os.chmod(top, 0o777 if level == 'top' else 0o711)
    os.chmod(top / ns, 0o777 if level == 'namespace' else 0o711)
    with pytest.raises(VifError) as err:
        kern.chardev_node(ns, 'vt', index_of(ns, 'vt'), major, minor)
    assert 'writable by others' in err.value.msg
    assert os.listdir(top / ns) == []


@pytest.mark.parametrize('umask', [0o077, 0o000])
def test_the_private_directories_are_0711_whatever_the_umask(ns, stand_ins, umask):
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'vt', 'type', 'macvtap', 'mode', 'bridge')
    major, minor = sysfs_dev(ns, 'vt')
    old = os.umask(umask)
    try:
        path = kern.chardev_node(ns, 'vt', index_of(ns, 'vt'), major, minor)
    finally:
        os.umask(old)
    top = stand_ins / 'hostnet-vif'
    for directory in (top, top / ns):
        st = os.lstat(directory)
        assert stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o711, directory
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o600


def test_a_device_number_that_is_not_a_macvtaps_is_refused(ns, stand_ins):
    """/dev/null's 1:3 where sysfs should have given a macvtap's: no node is made, nothing is changed."""
    with pytest.raises(VifError) as err:
        kern.chardev_node(ns, 'vt', 99, 1, 3)
    assert 'not a macvtap/ipvtap device' in err.value.msg
    assert not os.path.lexists(stand_ins / 'hostnet-vif')


def _collide(endpoint_ns):
    """Two namespaces whose macvtaps 'vt' have the same ifindex: the first holds /dev/tapN, so the
    second's node must be a private one."""
    spaces = [endpoint_ns(), endpoint_ns()]
    index = random.randint(20000, 60000)  # an ifindex no other test (running meanwhile) uses
    for space in spaces:
        sh('ip', '-n', space, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
        sh('ip', '-n', space, 'link', 'add', 'link', 'v0', 'name', 'vt', 'index', index, 'type', 'macvtap',
           'mode', 'bridge')
        sh('ip', '-n', space, 'link', 'set', 'vt', 'up')
    first = sysfs_dev(spaces[0], 'vt')
    st = os.stat('/dev/tap%d' % index)
    assert st.st_rdev == os.makedev(*first), 'the first namespace should hold /dev/tap%d' % index
    return spaces


def test_check_mode_makes_no_node(endpoint_ns):
    _first, second = _collide(endpoint_ns)
    private = os.path.join(kern.PRIVATE_DEV_DIR, second, 'vt')
    predicted = pipeline.run_links(dict(netns=second, name='vt', lower='v0', mode='bridge'), 'macvtap',
                                   check_mode=True)
    assert not predicted['changed'] and predicted['links'][0]['device']['path'] is None, predicted['actions']
    assert not os.path.lexists(private)
    predicted = pipeline.run_links(dict(netns=second, name='vt', lower='v0', mode='bridge', device_mode='0660'),
                                   'macvtap', check_mode=True)
    assert predicted['changed'] and not os.path.lexists(private)
    done = pipeline.run_links(dict(netns=second, name='vt', lower='v0', mode='bridge'), 'macvtap')
    assert done['links'][0]['device']['path'] == private and os.path.lexists(private)


def test_a_user_given_a_private_node_can_open_it(endpoint_ns):
    """The private directories are 0711, not 0700: a non-root QEMU given the node by owner/group/
    device_mode must be able to reach it by its path (it cannot list the directory)."""
    _first, second = _collide(endpoint_ns)
    link = pipeline.run_links(dict(netns=second, name='vt', lower='v0', mode='bridge', owner='65534',
                                   device_mode='0600'), 'macvtap')['links'][0]
    path = link['device']['path']
    assert path == os.path.join(kern.PRIVATE_DEV_DIR, second, 'vt')
    as_nobody = ('import os, sys\nos.setgid(65534); os.setuid(65534)\n'
                 'fd = os.open(sys.argv[1], os.O_RDWR); os.close(fd)\n'
                 'try:\n    os.listdir(os.path.dirname(sys.argv[1])); print("listed")\n'
                 'except PermissionError:\n    print("not listed")\n')
    done = subprocess.run([sys.executable, '-c', as_nobody, path], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip() == 'not listed', done.stderr


def test_a_host_reached_through_the_netns_connection_gets_its_namespaces_own_directory(endpoint_ns):
    """A module running inside a namespace (as through the netns connection, with no netns option)
    sees that namespace as its own: its private node goes to /dev/hostnet-vif/<that namespace's
    name>, never to the initial namespace's _root, which every such host would share (two hosts
    with a macvtap 'vt' would replace each other's node)."""
    _first, second = _collide(endpoint_ns)
    code = ('import json, sys\nsys.path[:0] = %r\n'
            'from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline\n'
            'print(json.dumps(_pipeline.run_links({"name": "vt", "lower": "v0", "mode": "bridge"}, "macvtap")))'
            % [p for p in sys.path if p])
    done = subprocess.run(['ip', 'netns', 'exec', second, sys.executable, '-c', code], capture_output=True, text=True,
                          check=True)
    path = json.loads(done.stdout)['links'][0]['device']['path']
    try:
        assert path == os.path.join(kern.PRIVATE_DEV_DIR, second, 'vt'), path
    finally:
        if path and '/_root/' in path and os.path.lexists(path):
            os.unlink(path)  # what the old code left behind, shared by every such host
