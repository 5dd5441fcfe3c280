"""Two runs against one host at once are serialised by the host lock."""

import multiprocessing
import time

import pytest
from conftest import links

from ansible_collections.hostnet.vif.plugins.module_utils import apply, pipeline
from ansible_collections.hostnet.vif.plugins.module_utils.errors import VifError


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
