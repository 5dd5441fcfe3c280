"""Persisted files (persist.read_text / write_text): nothing is read, written or removed through a
symbolic link, the temporary file is exclusive, the result is 0644 and on disk, and a directory
another user could change is refused. Real files in pytest's temporary directories."""

import os
import stat

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _persist as persist
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

SECRET = 'root:$6$secret-hash:19000:0:99999:7:::\n'


@pytest.fixture
def victim(tmp_path):
    """A file outside the persist directory that must never be read, changed or removed."""
    path = tmp_path / 'victim'
    path.write_text(SECRET)
    path.chmod(0o600)
    return path


@pytest.fixture
def persist_dir(tmp_path):
    path = tmp_path / 'network'
    path.mkdir(mode=0o755)
    return path


@pytest.mark.parametrize('umask', [0o077, 0o000])
def test_a_write_is_0644_whatever_the_umask_and_flushed_to_disk(persist_dir, monkeypatch, umask):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(stat.S_IFMT(os.fstat(fd).st_mode))
        real_fsync(fd)
    monkeypatch.setattr(os, 'fsync', fsync)
    old = os.umask(umask)
    try:
        persist.write_text(str(persist_dir / 'a.link'), 'x=1\n')
    finally:
        os.umask(old)
    assert (persist_dir / 'a.link').read_text() == 'x=1\n'
    assert stat.S_IMODE((persist_dir / 'a.link').stat().st_mode) == 0o644
    assert synced == [stat.S_IFREG, stat.S_IFDIR]  # the file's data, then the rename in its directory
    assert os.listdir(persist_dir) == ['a.link']  # no temporary file left


def test_a_symlink_at_the_file_is_neither_read_nor_followed(persist_dir, victim):
    link = persist_dir / 'a.link'
    link.symlink_to(victim)
    with pytest.raises(VifError) as err:
        persist.read_text(str(link))
    assert 'symbolic link' in err.value.msg and 'secret' not in err.value.msg
    persist.write_text(str(link), 'x=1\n')  # replaces the link itself
    assert not link.is_symlink() and link.read_text() == 'x=1\n'
    assert victim.read_text() == SECRET and stat.S_IMODE(victim.stat().st_mode) == 0o600


def test_a_symlink_at_a_temporary_name_is_not_followed(persist_dir, victim, monkeypatch):
    # the fixed name earlier versions used, and the name this one would draw
    (persist_dir / '.a.link.tmp').symlink_to(victim)
    monkeypatch.setattr(persist, '_random_suffix', lambda: 'drawn', raising=False)
    (persist_dir / '.a.link.drawn.tmp').symlink_to(victim)
    with pytest.raises(OSError):
        persist.write_text(str(persist_dir / 'a.link'), 'x=1\n')
    assert victim.read_text() == SECRET
    assert not (persist_dir / 'a.link').exists()


def test_removal_never_goes_through_a_symlink(persist_dir, victim, tmp_path):
    link = persist_dir / 'a.link'
    link.symlink_to(victim)
    persist.write_text(str(link), None)
    assert not os.path.lexists(link) and victim.read_text() == SECRET
    # a symlinked directory is refused, so a file behind it is not removed
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    (elsewhere / 'a.link').write_text('keep')
    (tmp_path / 'linked').symlink_to(elsewhere)
    with pytest.raises(VifError) as err:
        persist.write_text(str(tmp_path / 'linked' / 'a.link'), None)
    assert 'symbolic link' in err.value.msg
    assert (elsewhere / 'a.link').read_text() == 'keep'


@pytest.mark.parametrize('mode', [0o777, 0o775, 0o757])
def test_a_directory_others_can_write_is_refused(persist_dir, mode):
    (persist_dir / 'a.link').write_text('old')
    persist_dir.chmod(mode)
    for call in (lambda: persist.read_text(str(persist_dir / 'a.link')),
                 lambda: persist.write_text(str(persist_dir / 'a.link'), 'new'),
                 lambda: persist.write_text(str(persist_dir / 'a.link'), None)):
        with pytest.raises(VifError) as err:
            call()
        assert 'writable by others' in err.value.msg and err.value.field == 'persist_dir'
    assert (persist_dir / 'a.link').read_text() == 'old'


def test_a_directory_of_another_user_is_refused(persist_dir):
    if os.geteuid() != 0:
        pytest.skip('needs root to give the directory to another user')
    os.chown(persist_dir, 65534, 65534)
    with pytest.raises(VifError) as err:
        persist.write_text(str(persist_dir / 'a.link'), 'new')
    assert 'owned by uid 65534' in err.value.msg
    assert os.listdir(persist_dir) == []


def test_missing_directories_are_made_0755_and_a_sticky_one_may_be_on_the_way(tmp_path):
    sticky = tmp_path / 'sticky'
    sticky.mkdir()
    sticky.chmod(0o1777)  # like /tmp
    old = os.umask(0o077)
    try:
        persist.write_text(str(sticky / 'made' / 'a.link'), 'x=1\n')
    finally:
        os.umask(old)
    assert stat.S_IMODE((sticky / 'made').stat().st_mode) == 0o755
    assert persist.read_text(str(sticky / 'made' / 'a.link')) == 'x=1\n'
    assert persist.read_text(str(sticky / 'missing' / 'a.link')) is None
