"""A run stopped by SIGTERM, SIGINT or SIGHUP is all or nothing, says the truth, and ends at once.

Each case runs the engine in a child process (as a module runs) against 500 links in a test
namespace, watches the kernel's own link events (`ip monitor link`) and sends the signal when the
k-th link appeared (or, for the undo, was deleted again). The kernel is then read back with iproute2:
either every link of the task exists and the child reported success, or none does and the child
said it was interrupted and undid everything. The child must be gone within seconds and leave the
host lock free (a signal raised into pyroute2's event loop used to lose a netlink reply and hang
the module there, holding the lock).
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import REPO, sh, snapshot

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply

N = 500
CHILD = '''
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
params = json.loads(sys.argv[2])
try:
    result = pipeline.run_links(params, 'macvlan')
    out = {'changed': result['changed'], 'links': len(result['links'])}
except VifError as exc:
    out = {'error': exc.msg}
print(json.dumps(out), flush=True)
'''


def _source_mac(i):
    return '02:00:5e:%02x:%02x:01' % (i // 256, i % 256)


def _plan(ns, scenario):
    """Task parameters: one 500-link batch, 500 one-by-one steps, or 500 steps whose last link the
    kernel refuses (its lower device is a bridge port: EBUSY), so the 500 are undone."""
    if scenario == 'batch':
        return dict(netns=ns, lower='v0', mode='bridge', links=[{'name': 'b%d' % i} for i in range(N)])
    links = [{'name': 's%d' % i, 'mode': 'source', 'source_macs': [_source_mac(i)]} for i in range(N)]
    if scenario == 'undo':
        sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
        sh('ip', '-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1')
        sh('ip', '-n', ns, 'link', 'set', 'w0', 'master', 'br0')
        links.append({'name': 'refused', 'lower': 'w0', 'mode': 'bridge'})
    return dict(netns=ns, lower='v0', links=links)


class LinkEvents:
    """The kernel's link events in a namespace for the task's links, by name: created and deleted."""

    LINE = re.compile(r'^(Deleted )?\d+: ([^:@\s]+)')

    def __init__(self, ns, names):
        self.names = names
        self.created, self.deleted = set(), set()
        self.listening = False
        self.proc = subprocess.Popen(['ip', '-n', ns, 'monitor', 'link'], stdout=subprocess.PIPE, text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        # The monitor is listening once it reports a change made after it started.
        deadline = time.monotonic() + 5
        while not self.listening:
            sh('ip', '-n', ns, 'link', 'set', 'v1', 'alias', 'hvt-listening')
            assert time.monotonic() < deadline, 'ip monitor never started'
            time.sleep(0.05)

    def _read(self):
        for line in self.proc.stdout:
            match = self.LINE.match(line)
            if match and match.group(2) in self.names:
                (self.deleted if match.group(1) else self.created).add(match.group(2))
            elif match and match.group(2) == 'v1':
                self.listening = True

    def wait(self, which, count, child, timeout=30):
        deadline = time.monotonic() + timeout
        while len(getattr(self, which)) < count:
            assert child.poll() is None, 'the run ended before %d links were %s' % (count, which)
            assert time.monotonic() < deadline, 'only %d links %s after %s s' % (
                len(getattr(self, which)), which, timeout)
            time.sleep(0.002)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


# (scenario, when the signal is sent: after the k-th link was created / deleted, signal)
MOMENTS = [(scenario, k, sig) for scenario in ('batch', 'steps')
           for k, sig in zip((1, 125, 250, 375, N), (signal.SIGTERM, signal.SIGINT, signal.SIGHUP) * 2)]
MOMENTS += [('undo', k, sig) for k, sig in zip((1, 150, 350), (signal.SIGTERM, signal.SIGINT, signal.SIGHUP))]


@pytest.mark.parametrize('scenario, k, sig', MOMENTS,
                         ids=['%s-%s-%d' % (m[0], m[2].name, m[1]) for m in MOMENTS])
def test_a_stop_signal_leaves_all_or_nothing_and_a_true_message(ns, scenario, k, sig):
    params = _plan(ns, scenario)
    names = set(link['name'] for link in params['links'])
    events = LinkEvents(ns, names)
    before = snapshot(ns)
    collections = os.path.join(REPO, '.venv', 'collections')
    child = subprocess.Popen([sys.executable, '-c', CHILD, collections, json.dumps(params)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if scenario == 'undo':
            events.wait('created', N, child)  # every link made; now the refused one, then the undo
            events.wait('deleted', k, child)
        else:
            events.wait('created', k, child)
        child.send_signal(sig)
        sent = time.monotonic()
        try:
            out, err = child.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail('the run did not end within 15 s of %s (hung?)' % sig.name)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        events.stop()
    assert child.returncode == 0, err
    result = json.loads(out)
    after = snapshot(ns)
    made = names & set(after)
    if 'error' in result:
        # nothing of the task is left, and the message says so, naming the signal
        assert made == set() and after == before, result['error']
        if scenario == 'undo':
            assert 'refused' in result['error'] and 'undone (%d actions)' % N in result['error']
        else:
            assert result['error'].startswith('interrupted by %s ' % sig.name), result['error']
            assert ('undone' in result['error'] or 'before anything was changed' in result['error'])
    else:
        # only the last moment can come after the work was done and verified: then all of it stays
        assert k == N and scenario != 'undo' and made == names and result['links'] == N
    assert took < 10, 'the run took %.1f s to end after %s' % (took, sig.name)
    # Free again: the run is gone and nothing of it holds the lock (another test run on the same
    # machine may hold it for a while, hence the wait; the error names any holder).
    with apply.HostLock(timeout=30):
        pass
