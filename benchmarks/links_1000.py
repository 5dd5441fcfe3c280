"""1,000 macvlans on one lower device: hostnet.vif beside `ip -batch`, in one run.

Prints medians of --repeat runs for: create from nothing, a no-op re-run of the same
declaration, vif_info facts of the namespace, and purge of all of them; the engine in-process
(run_links, run_info) and the real module through ansible-playbook (with the cost of an empty
one-task play beside it); and one dump of the namespace's links read three ways: `ip -d -j`,
pyroute2's full decode, and the engine's read (Kernel.dump_links). The last lines compare the
in-process rows with the project's targets. Everything happens in a namespace it creates
(hvb-...), removed at the end, also on Ctrl-C.

With --baseline REV, the collection as committed at git revision REV (`git archive` into a
temporary directory) is measured in the same run: each round runs once per tree, baseline first,
each in a fresh interpreter importing only that tree's engine (warmed up on a few links first, as
later rounds of one process are), on its own namespace; the table gives both trees' medians and
current / baseline ratios, and marks rows more than 10% slower. With --profile, each tree is profiled.

    .venv/bin/python benchmarks/links_1000.py [--links N] [--repeat R] [--no-playbook] [--baseline REV]
    .venv/bin/python benchmarks/links_1000.py --profile create|noop|purge [--baseline REV]
"""

import argparse
import cProfile
import gc
import importlib
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import _trees  # benchmarks/, first on sys.path: what the three benchmarks share
from _trees import sh

REPO = _trees.REPO
_CANDIDATES = os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep)
_CANDIDATES.append(os.path.join(REPO, '.venv', 'collections'))
for path in _CANDIDATES:
    if path and os.path.isdir(os.path.join(path, 'ansible_collections', 'hostnet', 'vif')):
        COLLECTIONS = path
        break
else:
    sys.exit('collection not found: run scripts/setup first')
sys.path.insert(0, COLLECTIONS)
_UTILS = 'ansible_collections.hostnet.vif.plugins.module_utils.'
try:
    kernel = importlib.import_module(_UTILS + '_kernel')
    _pipeline = importlib.import_module(_UTILS + '_pipeline')
except ImportError:  # a --baseline revision before module_utils were private by name
    kernel = importlib.import_module(_UTILS + 'kernel')
    _pipeline = importlib.import_module(_UTILS + 'pipeline')
run_info, run_links = _pipeline.run_info, _pipeline.run_links
# the tree of the collection this process imported, and where a --baseline child finds this script
SCRIPT = os.path.abspath(__file__)


class Lab:
    def __init__(self):
        self.ns = 'hvb-%s' % uuid.uuid4().hex[:6]

    def __enter__(self):
        sh('ip', 'netns', 'add', self.ns)
        sh('ip', '-n', self.ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
        sh('ip', '-n', self.ns, 'link', 'set', 'v0', 'up')
        return self

    def __exit__(self, *exc):
        subprocess.run(['ip', 'netns', 'del', self.ns], check=False)

    def count(self):
        return len(json.loads(sh('ip', '-n', self.ns, '-j', 'link', 'show').stdout)) - 3

    def ip_batch(self, lines):
        with tempfile.NamedTemporaryFile('w', suffix='.batch') as handle:
            handle.write(''.join(line + '\n' for line in lines))
            handle.flush()
            start = time.perf_counter()
            sh('ip', '-n', self.ns, '-batch', handle.name)
            return time.perf_counter() - start


def params(ns, n):
    return dict(netns=ns, lower='v0', mode='bridge', links=[dict(name='m%d' % i) for i in range(n)])


def timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def playbook(ns, args, workdir):
    play = os.path.join(workdir, 'play.yml')
    with open(play, 'w') as handle:
        json.dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [args]}], handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1')
    if os.environ.get('HVB_TREE'):  # a --baseline child: the tree's own ansible.cfg, nothing else of the shell's
        env = dict((k, v) for k, v in env.items() if not k.startswith('ANSIBLE_') or k == 'ANSIBLE_COLLECTIONS_PATH')
        env.update(ANSIBLE_CONFIG=os.path.join(os.environ['HVB_TREE'], 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False')
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, play]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def measure(n, repeat, with_playbook):
    rows = {}

    def add(key, value):
        rows.setdefault(key, []).append(value)
    for _round in range(repeat):
        one_round(n, with_playbook, add)
    return dict((key, statistics.median(values)) for key, values in rows.items())


def one_round(n, with_playbook, add):
    """Every row once, on a namespace of its own; add(key, seconds) records each."""
    workdir = tempfile.mkdtemp(prefix='hvb-')
    try:
        with Lab() as lab:
            adds = ['link add link v0 name m%d type macvlan mode bridge' % i for i in range(n)]
            add(('create', 'ip -batch'), lab.ip_batch(adds))
            add(('noop', 'ip -d -j link show'), timed(lambda: sh('ip', '-n', lab.ns, '-d', '-j', 'link', 'show')))
            add(('purge', 'ip -batch (link del x N)'), lab.ip_batch(['link del m%d' % i for i in range(n)]))
            assert lab.count() == 0
            lab.ip_batch(adds + ['link set m%d group 4242' % i for i in range(n)])
            add(('purge', 'ip link del group'), timed(lambda: sh('ip', '-n', lab.ns, 'link', 'del', 'group', '4242')))
            add(('create', 'engine in-process'), timed(lambda: run_links(params(lab.ns, n), 'macvlan')))
            assert lab.count() == n
            add(('noop', 'engine in-process'), timed(lambda: run_links(params(lab.ns, n), 'macvlan')))
            add(('facts', 'ip -d -j link show'), timed(lambda: sh('ip', '-n', lab.ns, '-d', '-j', 'link', 'show')))
            measure_dumps(lab.ns, add)
            add(('facts', 'vif_info in-process'), timed(lambda: run_info(dict(netns=lab.ns))))
            purge = dict(netns=lab.ns, lower='v0', purge=True, links=[])
            add(('purge', 'engine in-process'), timed(lambda args=purge: run_links(args, 'macvlan')))
            assert lab.count() == 0
            if with_playbook:
                task = {'hostnet.vif.macvlan': params(lab.ns, n)}
                add(('create', 'module via ansible-playbook'), playbook(lab.ns, task, workdir))
                add(('noop', 'module via ansible-playbook'), playbook(lab.ns, task, workdir))
                add(('purge', 'module via ansible-playbook'),
                    playbook(lab.ns, {'hostnet.vif.macvlan': purge}, workdir))
                assert lab.count() == 0
                add(('overhead', 'empty one-task play'), playbook(lab.ns, {'ansible.builtin.meta': 'noop'}, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the plays written there


def warm_up():
    """What rounds after the first find done in one process: the engine's lazy imports (a kind's
    handler is imported on first use) and pyroute2's, on a few links of a namespace of its own."""
    with Lab() as lab:
        run_links(params(lab.ns, 5), 'macvlan')
        run_links(params(lab.ns, 5), 'macvlan')
        run_info(dict(netns=lab.ns))
        with kernel.Kernel(lab.ns) as kern:
            [kernel.parse_link(msg) for msg in kern.ipr.link('dump')]
            kern.dump_links()
        run_links(dict(netns=lab.ns, lower='v0', purge=True, links=[]), 'macvlan')


def measure_dumps(ns, add):
    """One dump of every link, read by iproute2, by pyroute2's full decode (what the engine used
    before its lean parsers) and by the engine (the session is opened beforehand; the cyclic GC
    paused, as during a module run)."""
    add(('dump', 'ip -d -j link show'), timed(lambda: sh('ip', '-n', ns, '-d', '-j', 'link', 'show')))
    gc.disable()
    try:
        with kernel.Kernel(ns) as kern:
            add(('dump', 'pyroute2 full decode'),
                timed(lambda: [kernel.parse_link(msg) for msg in kern.ipr.link('dump')]))
            add(('dump', 'engine (Kernel.dump_links)'), timed(kern.dump_links))
    finally:
        gc.enable()


# in-process targets on 1,000 links: (row, limit, what the limit is measured against)
TARGETS = ((('facts', 'vif_info in-process'), 5.0, 'x ip -d -j link show'),
           (('noop', 'engine in-process'), 0.2, 's'),
           (('create', 'engine in-process'), 2.0, 'x ip -batch'),
           (('purge', 'engine in-process'), 0.4, 's'))


def ip_rows(medians):
    """Each group's `ip` row, which the other rows of the group are compared with."""
    return {'create': medians[('create', 'ip -batch')], 'noop': medians[('noop', 'ip -d -j link show')],
            'purge': medians[('purge', 'ip -batch (link del x N)')], 'overhead': None,
            'facts': medians[('facts', 'ip -d -j link show')], 'dump': medians[('dump', 'ip -d -j link show')]}


def report(n, medians):
    base = ip_rows(medians)
    print('%d macvlans on one veth, medians; ratios against the first row of each group' % n)
    print('%-9s %-30s %9s %10s' % ('what', 'how', 'seconds', 'vs ip'))
    for (what, how), seconds in medians.items():
        ratio = '%.2fx' % (seconds / base[what]) if base.get(what) else ''
        print('%-9s %-30s %9.3f %10s' % (what, how, seconds, ratio))
    report_targets(n, medians)


def report_targets(n, medians, label=''):
    base = ip_rows(medians)
    print('targets (in-process, %d links)%s:' % (n, label))
    for key, limit, unit in TARGETS:
        value = medians[key] if unit == 's' else medians[key] / base[key[0]]
        print('  %-9s %-26s %7.2f%s (target <= %s%s) %s' % (
            key[0], key[1], value, unit[0], limit, unit[0], 'met' if value <= limit else 'NOT met'))


def profile(n, which):
    with Lab() as lab:
        if which != 'create':
            run_links(params(lab.ns, n), 'macvlan')
        args = params(lab.ns, n) if which != 'purge' else dict(netns=lab.ns, lower='v0', purge=True, links=[])
        prof = cProfile.Profile()
        prof.runcall(run_links, args, 'macvlan')
        pstats.Stats(prof).sort_stats('cumulative').print_stats(25)


# a row of the current tree more than this much slower than the baseline's is marked (issue 16's bar)
SLOWER_MARK = 1.10


def report_side_by_side(n, repeat, trees, medians):
    old, new = (medians[tree.label] for tree in trees)
    print('%d macvlans on one veth, medians of %d rounds per tree, interleaved (baseline first in each round);'
          ' ratio = current / baseline, above 1: current is slower' % (n, repeat))
    print('%-9s %-30s %10s %10s %8s' % ('what', 'how', 'baseline', 'current', 'ratio'))
    for key, before in old.items():
        after = new.get(key)
        if after is None:
            continue
        ratio = after / before
        mark = '  slower by more than %d%%' % round((SLOWER_MARK - 1) * 100) if ratio > SLOWER_MARK else ''
        print('%-9s %-30s %10.3f %10.3f %7.2fx%s' % (key[0], key[1], before, after, ratio, mark))
    print('(the `ip` rows do the same work for both trees: their ratios show the noise of the run)')
    for tree in trees:
        report_targets(n, medians[tree.label], ', %s' % tree.label)


class Tree(_trees.Tree):
    def run_child(self, argv):
        """This script in a fresh interpreter that imports this tree's engine (and runs this tree's
        modules and ansible.cfg in its plays); none of the shell's ANSIBLE_* variables."""
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
        env.update(ANSIBLE_COLLECTIONS_PATH=self.collections, HVB_TREE=self.root)
        child = subprocess.Popen([sys.executable, SCRIPT] + argv, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = child.communicate()
        except BaseException:
            child.terminate()  # not killed: on SIGTERM it removes its namespace
            child.wait(timeout=60)
            raise
        if child.returncode != 0:
            raise SystemExit('%s tree: %s failed:\n%s%s' % (self.label, ' '.join(argv), out[-2000:], err[-3000:]))
        return out


def measure_trees(trees, n, repeat, with_playbook):
    """--repeat rounds; in each, one child per tree, baseline first: {label: {row: median}}."""
    rows = dict((tree.label, {}) for tree in trees)
    argv = ['--child', '--links', str(n)] + ([] if with_playbook else ['--no-playbook'])
    for _round in range(repeat):
        for tree in trees:
            for what, how, seconds in json.loads(tree.run_child(argv).strip().splitlines()[-1]):
                rows[tree.label].setdefault((what, how), []).append(seconds)
    return dict((label, dict((key, statistics.median(values)) for key, values in found.items()))
                for label, found in rows.items())


def child_round(n, with_playbook):
    """One round in this process (a --baseline child): warm up, measure, print the rows as JSON."""
    warm_up()
    found = []
    one_round(n, with_playbook, lambda key, seconds: found.append([key[0], key[1], seconds]))
    print(json.dumps(found))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--links', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--no-playbook', action='store_true')
    parser.add_argument('--profile', choices=['create', 'noop', 'purge'])
    parser.add_argument('--baseline', metavar='REV',
                        help='also measure the collection as committed at this git revision, interleaved')
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    _trees.stop_on_signals()
    if args.child:
        child_round(args.links, not args.no_playbook)
    elif args.baseline:
        rev = sh('git', '-C', REPO, 'rev-parse', '--verify', args.baseline + '^{commit}').stdout.strip()
        workdir = tempfile.mkdtemp(prefix='hvb-base-')
        try:
            trees = [Tree('baseline', _trees.baseline_tree(rev, workdir), workdir), Tree('current', REPO, workdir)]
            print('baseline: %s at %s; current: the work tree %s' % (args.baseline, rev[:12], REPO))
            sys.stdout.flush()
            if args.profile:
                for tree in trees:
                    found = tree.run_child(['--profile', args.profile, '--links', str(args.links)])
                    print('\n== %s tree: --profile %s\n%s' % (tree.label, args.profile, found))
            else:
                report_side_by_side(args.links, args.repeat, trees,
                                    measure_trees(trees, args.links, args.repeat, not args.no_playbook))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    elif args.profile:
        profile(args.links, args.profile)
    else:
        report(args.links, measure(args.links, args.repeat, not args.no_playbook))


if __name__ == '__main__':
    main()
