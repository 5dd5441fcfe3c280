"""Opening a netlink session inside a named namespace (the _compat point every pyroute2 version shares):
the session sees that namespace, the module's thread is back in its own afterwards (also when opening
fails), a missing namespace is never created, and a file that is not a network namespace is refused.
The same code under pyroute2 0.7.2 (Debian's and PyPI's) and 0.9.7 runs in scripts/matrix."""

import os

import pytest
from conftest import links, new_netns, del_netns

from ansible_collections.hostnet.vif.plugins.module_utils import _compat, _kernel as kernel
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def own_netns():
    return os.stat('/proc/thread-self/ns/net').st_ino


def test_the_session_sees_the_namespace_and_the_thread_returns(ns):
    before = own_netns()
    with kernel.Kernel(ns) as session:
        assert own_netns() == before
        assert sorted(session.dump_links()) == sorted(links(ns))  # lo, v0, v1: not this namespace's links
        session.set_group('ip link set v0 group 7', 'v0', session.index_of('v0'), 7)
    assert links(ns)['v0']['group'] == '7'


def test_a_namespace_removed_after_the_check_is_not_created(monkeypatch):
    name = new_netns()
    del_netns(name)
    monkeypatch.setattr(kernel, 'check_netns', lambda netns: None)  # the race: gone after the check
    before = own_netns()
    with pytest.raises(VifError) as err:
        kernel.Kernel(name)
    assert 'does not exist' in err.value.msg and own_netns() == before
    assert not os.path.exists(kernel.netns_path(name))


def test_a_file_that_is_not_a_network_namespace_is_refused(tmp_path):
    fake = tmp_path / 'not-a-namespace'
    fake.write_text('')
    before = own_netns()
    with pytest.raises(OSError):
        _compat.open_in_netns(lambda: pytest.fail('opened a session'), str(fake), kernel._setns)
    assert own_netns() == before


def test_the_thread_returns_when_opening_the_session_fails(ns):
    before = own_netns()

    def failing():
        assert own_netns() != before  # inside the target namespace while opening
        raise OSError(24, 'Too many open files')
    with pytest.raises(OSError):
        _compat.open_in_netns(failing, kernel.netns_path(ns), kernel._setns)
    assert own_netns() == before
