"""kernel.set_node_owner / node_owner on a character-device node: the order of chmod and chown never
gives anyone more than the old and the new settings both allow, and a node that is a symbolic link
or another device is refused. A stand-in node made with mknod in a temporary directory (root only);
the kernel's macvtap major is replaced by the stand-in's so no real macvtap is needed."""

import os
import stat

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

MAJOR, MINOR = 250, 7  # no driver behind it: the node is never opened for I/O

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='mknod and chown need root')


@pytest.fixture
def node(tmp_path, monkeypatch):
    monkeypatch.setattr(kern, 'tap_majors', lambda: {MAJOR})
    path = tmp_path / 'tap7'
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(MAJOR, MINOR))
    return str(path)


def states_while(path, monkeypatch, call):
    """(uid, gid, mode) of the node after every chmod/chown the call makes."""
    seen = []
    with monkeypatch.context() as patch:
        for name in ('chmod', 'chown'):
            real = getattr(os, name)

            def recorded(*args, _real=real, **kwargs):
                _real(*args, **kwargs)
                st = os.stat(path)
                seen.append((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
            patch.setattr(os, name, recorded)
        call()
    return seen


@pytest.mark.parametrize('old, new', [
    ((0, 0, 0o666), (65534, 65534, 0o600)),   # narrower, to another owner
    ((0, 0, 0o600), (65534, 65534, 0o660)),   # wider, to another owner
    ((65534, 65534, 0o644), (0, 65534, 0o640)),  # owner only changes, group loses read
    ((0, 0, 0o640), (0, 65534, 0o604)),       # group changes, bits move from group to others
])
def test_no_moment_gives_more_than_old_and_new_both_allow(node, monkeypatch, old, new):
    os.chown(node, old[0], old[1])
    os.chmod(node, old[2])
    seen = states_while(node, monkeypatch, lambda: kern.set_node_owner(node, MAJOR, MINOR, new[0], new[1],
                                                                       '%04o' % new[2]))
    assert seen[-1] == new
    for uid, gid, mode in seen:
        owners_changed = (uid, gid) != old[:2]
        # while anyone new holds the node it has no bit the new mode lacks; the old holders never gain one
        assert not (owners_changed and mode & ~new[2]), (seen, old, new)
        assert not (not owners_changed and mode & ~old[2] & ~new[2]), (seen, old, new)
    assert kern.node_owner(node, MAJOR, MINOR) == {'owner': new[0], 'group': new[1], 'device_mode': '%04o' % new[2]}


def test_a_symlink_to_the_node_is_refused_not_followed(node, tmp_path):
    link = tmp_path / 'link'
    link.symlink_to(node)
    with pytest.raises(VifError) as err:
        kern.set_node_owner(str(link), MAJOR, MINOR, 65534, 65534, '0666')
    assert 'is not (or no longer) the character device' in err.value.msg
    assert kern.node_owner(node, MAJOR, MINOR) == {'owner': 0, 'group': 0, 'device_mode': '0600'}


def test_another_device_number_or_a_non_macvtap_major_is_refused(node, tmp_path):
    with pytest.raises(VifError):
        kern.set_node_owner(node, MAJOR, MINOR + 1, 65534, None, '0666')
    other = tmp_path / 'null'
    os.mknod(other, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    with pytest.raises(VifError) as err:
        kern.set_node_owner(str(other), 1, 3, 65534, None, '0666')
    assert 'not a macvtap/ipvtap device' in err.value.msg
    assert stat.S_IMODE(os.stat(other).st_mode) == 0o600 and os.stat(other).st_uid == 0


def test_tap_majors_come_from_proc_devices():
    majors = kern.tap_majors()
    with open('/proc/devices') as handle:
        listed = handle.read().split('Block devices:')[0].split()
    if 'macvtap' in listed:  # built into this project's test machines
        assert int(listed[listed.index('macvtap') - 1]) in majors
    assert all(isinstance(major, int) for major in majors)
