"""Two runs against one host at once are serialised by the host lock, which no other local user
can take, redirect or fake."""

import multiprocessing
import os
import pwd
import subprocess
import time
import uuid

import pytest
from conftest import links

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply, _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def _hold_lock(path, ready, release):
    with apply.HostLock(timeout=5, path=path):
        ready.set()
        release.wait(10)


def test_second_run_waits_for_the_first_and_times_out_clearly(ns, tmp_path, monkeypatch):
    path = str(tmp_path / 'host.lock')
    monkeypatch.setattr(apply, 'LOCK_PATH', path)
    monkeypatch.setattr(apply.HostLock.__init__, '__defaults__', (120.0, path))
    ready, release = multiprocessing.Event(), multiprocessing.Event()
    # LOCK_PATH is the default of HostLock's path argument: point it at a private file.
    holder = multiprocessing.Process(target=_hold_lock, args=(path, ready, release))
    holder.start()
    try:
        assert ready.wait(5)
        with pytest.raises(VifError) as err:
            pipeline.run_links(dict(netns=ns, name='l0', lower='v0', lock_timeout=0.3), 'macvlan')
        assert err.value.field == 'lock_timeout' and 'held the host lock' in err.value.msg
        assert err.value.msg.startswith('process %d (' % holder.pid), err.value.msg  # who holds it
        assert 'l0' not in links(ns)
        release_later = multiprocessing.Process(target=_release_after, args=(release, 0.5))
        release_later.start()
        pipeline.run_links(dict(netns=ns, name='l0', lower='v0', lock_timeout=10), 'macvlan')
        assert release.is_set()  # it could only run once the holder let go
        assert 'l0' in links(ns)
        release_later.join()
    finally:
        release.set()
        holder.join(5)


def _release_after(release, seconds):
    time.sleep(seconds)
    release.set()


@pytest.fixture
def local_user():
    """An unprivileged local account made for the test (removed afterwards)."""
    name = 'hvt%s' % uuid.uuid4().hex[:8]
    subprocess.run(['useradd', '--no-create-home', '--shell', '/usr/sbin/nologin', name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(['userdel', name], check=False)


def as_user(user, *cmd, **kwargs):
    return subprocess.Popen(['setpriv', '--reuid=%d' % user.pw_uid, '--regid=%d' % user.pw_gid, '--clear-groups',
                             '--'] + list(cmd), **kwargs)


def test_a_local_user_holding_a_lock_file_in_run_lock_does_not_block_runs(ns, local_user):
    # The lock used to be /run/lock/hostnet-vif.lock, in a world-writable directory: any user
    # could create and flock it, and every run then failed after lock_timeout.
    old = '/run/lock/hostnet-vif.lock'
    made = not os.path.exists(old)
    holder = None
    try:
        if made:
            as_user(local_user, 'touch', old).wait()
        holder = as_user(local_user, 'flock', old, 'sleep', '30')
        time.sleep(0.3)
        pipeline.run_links(dict(netns=ns, name='l0', lower='v0', lock_timeout=1), 'macvlan')
        assert 'l0' in links(ns)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        if made and os.path.exists(old):
            os.unlink(old)


def test_the_lock_is_out_of_reach_of_other_users(ns, local_user):
    pipeline.run_links(dict(netns=ns, name='l0', lower='v0'), 'macvlan')
    lockdir = os.path.dirname(apply.LOCK_PATH)
    st = os.lstat(lockdir)
    assert st.st_uid == 0 and oct(st.st_mode & 0o7777) == '0o700'
    probe = as_user(local_user, 'sh', '-c', 'exec 3>>%s' % apply.LOCK_PATH, stderr=subprocess.PIPE)
    assert probe.wait() != 0 and b'Permission denied' in probe.stderr.read()
    probe = as_user(local_user, 'ln', '-s', '/etc/shadow', lockdir + '/x', stderr=subprocess.PIPE)
    assert probe.wait() != 0


@pytest.mark.parametrize('how', ['owned by the user', 'world-writable', 'a symlink'])
def test_a_lock_directory_others_could_change_is_refused(tmp_path, local_user, how):
    target = tmp_path / 'real'
    target.mkdir(mode=0o700)
    lockdir = tmp_path / 'lockdir'
    if how == 'owned by the user':
        lockdir.mkdir(mode=0o700)
        os.chown(lockdir, local_user.pw_uid, local_user.pw_gid)
    elif how == 'world-writable':
        lockdir.mkdir()
        os.chmod(lockdir, 0o777)
    else:
        lockdir.symlink_to(target)
    with pytest.raises(VifError) as err:
        with apply.HostLock(timeout=0.1, path=str(lockdir / 'lock')):
            pass
    assert err.value.msg.startswith('%s: ' % lockdir) and 'refusing to work there' in err.value.msg
    assert not os.path.exists(target / 'lock') and not os.path.exists(lockdir / 'lock')


def test_a_lock_file_that_is_a_symlink_is_not_followed(tmp_path):
    lockdir = tmp_path / 'lockdir'
    lockdir.mkdir(mode=0o700)
    victim = tmp_path / 'victim'
    (lockdir / 'lock').symlink_to(victim)
    with pytest.raises(VifError) as err:
        with apply.HostLock(timeout=0.1, path=str(lockdir / 'lock')):
            pass
    assert 'cannot open the host lock' in err.value.msg and not victim.exists()
