"""Fixtures for the real-kernel tests.

Everything happens in network namespaces named hvt-<random> that these fixtures create and
delete (also when a test fails or is interrupted); the root namespace is never changed. The
kernel is the oracle: tests read state back with `ip -j -d -d link`, not with the code under test.
"""

import json
import os
import subprocess
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PREFIX = 'hvt-'
_CREATED = []


def sh(*cmd, check=True):
    return subprocess.run([str(c) for c in cmd], check=check, capture_output=True, text=True)


def new_netns(tag=''):
    name = '%s%s%s' % (PREFIX, tag, uuid.uuid4().hex[:6])
    sh('ip', 'netns', 'add', name)
    _CREATED.append(name)
    return name


def del_netns(name):
    sh('ip', 'netns', 'del', name, check=False)
    node_dir = os.path.join('/dev/hostnet-vif', name)
    if os.path.isdir(node_dir):
        for entry in os.listdir(node_dir):
            os.unlink(os.path.join(node_dir, entry))
        os.rmdir(node_dir)


def links(ns):
    """The kernel's view of a namespace's links (iproute2 JSON), by name."""
    out = sh('ip', '-n', ns, '-j', '-d', '-d', 'link', 'show').stdout
    return dict((link['ifname'], link) for link in json.loads(out))


def snapshot(ns):
    """Comparable state of every link: what a rollback must restore exactly."""
    state = {}
    for name, link in links(ns).items():
        info = link.get('linkinfo', {})
        data = info.get('info_data', {}) or {}
        state[name] = {
            'ifindex': link['ifindex'], 'kind': info.get('info_kind'), 'mode': data.get('mode'),
            'flags': sorted(link.get('flags', [])), 'mtu': link.get('mtu'), 'address': link.get('address'),
            'link': link.get('link'), 'group': link.get('group'), 'master': link.get('master'),
            'nopromisc': data.get('nopromisc'), 'sources': sorted(data.get('macaddr_data') or []),
            'promiscuity': link.get('promiscuity'),
        }
    return state


def mode_of(ns, name):
    return links(ns)[name]['linkinfo']['info_data']['mode']


def wait_carrier(ns, *names, timeout=5):
    """The kernel sets carrier flags asynchronously (linkwatch) after a veth comes up: wait for
    them, so a snapshot taken by a test does not race them."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        now = links(ns)
        if all('NO-CARRIER' not in now[n]['flags'] and 'LOWER_UP' in now[n]['flags'] for n in names):
            return
        assert time.monotonic() < deadline, 'no carrier on %s after %s s' % (', '.join(names), timeout)
        time.sleep(0.01)


@pytest.fixture
def ns():
    """A namespace with a veth pair v0 (lower device) / v1 (its far side), both up, with carrier."""
    name = new_netns()
    try:
        sh('ip', '-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
        sh('ip', '-n', name, 'link', 'set', 'v0', 'up')
        sh('ip', '-n', name, 'link', 'set', 'v1', 'up')
        wait_carrier(name, 'v0', 'v1')
        yield name
    finally:
        del_netns(name)


@pytest.fixture
def switched():
    """A host namespace whose lower device 'uplink' is the peer of port 'swp' of a Linux bridge
    'sw0' in a switch namespace (the external switch)."""
    host, switch = new_netns('h'), new_netns('s')
    try:
        sh('ip', '-n', switch, 'link', 'add', 'sw0', 'type', 'bridge')
        sh('ip', '-n', switch, 'link', 'add', 'swp', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', host)
        sh('ip', '-n', switch, 'link', 'set', 'swp', 'master', 'sw0')
        for cmd in (('-n', switch, 'link', 'set', 'swp', 'up'), ('-n', switch, 'link', 'set', 'sw0', 'up'),
                    ('-n', host, 'link', 'set', 'uplink', 'up')):
            sh('ip', *cmd)
        yield host, switch
    finally:
        del_netns(host)
        del_netns(switch)


@pytest.fixture
def endpoint_ns():
    """Make extra namespaces on demand; all removed at teardown."""
    made = []

    def make():
        made.append(new_netns('e'))
        return made[-1]
    try:
        yield make
    finally:
        for name in made:
            del_netns(name)


@pytest.fixture(scope='session', autouse=True)
def _no_leftovers():
    yield
    for name in _CREATED:
        del_netns(name)


@pytest.fixture
def writes(monkeypatch):
    """Records every write the engine sends to the kernel (netlink requests, batches, tun ioctls, chown)."""
    from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
    calls = []
    for method in ('_call', '_batch', 'add_tap'):
        original = getattr(kern.Kernel, method)

        def spy(self, what, *args, _original=original, **kwargs):
            calls.append(what)
            return _original(self, what, *args, **kwargs)
        monkeypatch.setattr(kern.Kernel, method, spy)
    original_owner = kern.set_node_owner

    def owner_spy(*args, **kwargs):
        calls.append('chown %s' % (args,))
        return original_owner(*args, **kwargs)
    monkeypatch.setattr(kern, 'set_node_owner', owner_spy)
    return calls
