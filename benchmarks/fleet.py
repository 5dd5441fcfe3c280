"""A simulated fleet: N network-namespace hosts (hvf-<run>-<i>), each with its own veth lower device,
converging a profile of 20 links (hostnet.vif.host_profile through playbooks/site.yml and the
hostnet.vif.netns connection) with --forks. Prints, per N, the wall time of the first run, the
per-host cost, the second (idempotent) run's time, and per host how many tasks ran (ok), changed
and were skipped; and `ip -batch` creating the same links for scale. Every namespace is removed at
the end, also on Ctrl-C.

With --baseline REV, the collection as it is at git revision REV (`git archive` into a temporary
directory) runs the same fleets in the same run, each size on fresh namespaces for each tree, the
two trees interleaved; a last table gives baseline / current ratios.

The script sets up what ansible-playbook needs itself (a collections path per tree, the tree's
ansible.cfg and playbooks/site.yml): it does not depend on scripts/env being sourced.

    .venv/bin/python benchmarks/fleet.py [--hosts 10,25,50] [--links 20] [--forks 10] [--baseline REV]
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import _trees  # benchmarks/, first on sys.path: what the three benchmarks share
from _trees import sh

REPO = _trees.REPO
# ansible-playbook beside the interpreter that runs this script (.venv/bin), else the one on PATH
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
if not os.path.exists(ANSIBLE_PLAYBOOK):
    ANSIBLE_PLAYBOOK = shutil.which('ansible-playbook') or 'ansible-playbook'
RECAP = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)', re.M)


def make_hosts(prefix, count):
    names = []
    for i in range(count):
        name = '%s-%d' % (prefix, i)
        sh('ip', 'netns', 'add', name)
        names.append(name)
        sh('ip', '-n', name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'far')
        sh('ip', '-n', name, 'link', 'set', 'far', 'up')
    return names


@contextlib.contextmanager
def hosts(prefix, count):
    names = []
    try:
        names = make_hosts(prefix, count) if count else []
        yield names
    finally:
        for name in names:
            subprocess.run(['ip', 'netns', 'del', name], check=False)
        # make_hosts may have stopped half way: remove whatever carries the prefix
        left = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, check=False).stdout
        for line in left.splitlines():
            name = line.split()[0] if line.split() else ''
            if name.startswith(prefix + '-'):
                subprocess.run(['ip', 'netns', 'del', name], check=False)


def site(tree, names, links, forks, workdir):
    """One ansible-playbook run of the tree's playbooks/site.yml over the hosts: (seconds, per-host recaps)."""
    spec = {'lowers_up': ['uplink'],
            'macvlan': [{'name': 'ep%d' % i, 'lower': 'uplink', 'mode': 'bridge'} for i in range(links)]}
    inventory = {'vm_hosts': {'hosts': dict((n, {}) for n in names), 'vars': {
        'ansible_connection': 'hostnet.vif.netns', 'ansible_python_interpreter': sys.executable,
        'ansible_become': False, 'host_profile_spec': spec}}}
    path = os.path.join(workdir, 'inventory.json')
    with open(path, 'w') as handle:
        json.dump(inventory, handle)
    start = time.monotonic()
    done = subprocess.run([ANSIBLE_PLAYBOOK, '-i', path, os.path.join(tree.root, 'playbooks', 'site.yml')],
                          capture_output=True, text=True, cwd=tree.root, check=False,
                          env=tree.env(ANSIBLE_STDOUT_CALLBACK='default', ANSIBLE_FORKS=str(forks)))
    took = time.monotonic() - start
    recaps = dict((m[0], [int(x) for x in m[1:]]) for m in RECAP.findall(done.stdout))
    if done.returncode != 0 or sorted(recaps) != sorted(names) or any(r[2] or r[3] for r in recaps.values()):
        raise SystemExit('%s: site.yml failed (exit %d):\n%s%s' % (
            tree.label, done.returncode, done.stdout[-3000:], done.stderr[-2000:]))
    return took, recaps


def per_host(recaps):
    """Tasks per host as the recap counts them: ran (ok, changed included), changed, skipped; the
    most any host had (the hosts are identical, so this is every host's figure)."""
    return tuple(max(r[i] for r in recaps.values()) for i in (0, 1, 4))


def ip_batch(names, links):
    """The same links made by one `ip -n NS -batch` per host, one after the other."""
    lines = '\n'.join('link add ipb%d link uplink type macvlan mode bridge' % i for i in range(links)) + '\n'
    start = time.monotonic()
    for name in names:
        sh('ip', '-n', name, '-batch', '-', input=lines)
    return time.monotonic() - start


HEADER = ('tree       hosts  links/host  forks  first run  per host  ok/chg/skip per host  '
          'second run  per host  ok/chg/skip per host  ip -batch')
ROW = '%-9s  %5d  %10d  %5d  %8.1fs  %7.2fs  %20s  %9.1fs  %7.2fs  %20s  %8.2fs'


def measure(tree, count, links, forks, run, workdir):
    with hosts('hvf-%s-%s%d' % (run, tree.label[0], count), count) as names:
        first, recaps = site(tree, names, links, forks, workdir)
        second, recaps_again = site(tree, names, links, forks, workdir)
        batch = ip_batch(names, links)
    row = dict(first=first, second=second, tasks=per_host(recaps), tasks_again=per_host(recaps_again), batch=batch)
    print(ROW % (tree.label, count, links, forks, first, first / count, '%d/%d/%d' % row['tasks'],
                 second, second / count, '%d/%d/%d' % row['tasks_again'], batch))
    sys.stdout.flush()
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--hosts', default='10,25,50')
    parser.add_argument('--links', type=int, default=20)
    parser.add_argument('--forks', type=int, default=10)
    parser.add_argument('--baseline', metavar='REV',
                        help='also run the collection as committed at this git revision, for a side-by-side comparison')
    args = parser.parse_args()
    _trees.stop_on_signals()
    counts = [int(n) for n in args.hosts.split(',')]
    run = uuid.uuid4().hex[:4]
    workdir = tempfile.mkdtemp(prefix='hvf-')
    try:
        trees = [_trees.Tree('current', REPO, workdir)]
        if args.baseline:
            rev = sh('git', '-C', REPO, 'rev-parse', '--verify', args.baseline + '^{commit}').stdout.strip()
            trees.insert(0, _trees.Tree('baseline', _trees.baseline_tree(rev, workdir), workdir))
            print('baseline: %s at %s; current: the work tree %s' % (args.baseline, rev[:12], REPO))
        print(HEADER)
        results = {}
        for count in counts:
            for tree in trees:
                results[tree.label, count] = measure(tree, count, args.links, args.forks, run, workdir)
        if args.baseline:
            print('\nbaseline / current (above 1: current is faster)')
            print('hosts  first run  second run  tasks run per host (first)')
            for count in counts:
                old, new = results['baseline', count], results['current', count]
                ratios = (old['first'] / new['first'], old['second'] / new['second'])
                print('%5d  %8.2fx  %9.2fx  %d -> %d' % ((count,) + ratios + (old['tasks'][0], new['tasks'][0])))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
