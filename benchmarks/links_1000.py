"""1,000 macvlans on one lower device: hostnet.vif beside `ip -batch`, in one run.

Prints medians of --repeat runs for: create from nothing, a no-op re-run of the same
declaration, vif_info facts of the namespace, and purge of all of them; the engine in-process
(run_links, run_info) and the real module through ansible-playbook (with the cost of an empty
one-task play beside it); and one dump of the namespace's links read three ways: `ip -d -j`,
pyroute2's full decode, and the engine's read (Kernel.dump_links). The last lines compare the
in-process rows with the project's targets. Everything happens in a namespace it creates
(hvb-...), removed at the end, also on Ctrl-C.

    .venv/bin/python benchmarks/links_1000.py [--links N] [--repeat R] [--no-playbook]
    .venv/bin/python benchmarks/links_1000.py --profile create|noop|purge
"""

import argparse
import atexit
import cProfile
import gc
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

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
_CANDIDATES = os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep)
_CANDIDATES.append(os.path.join(REPO, '.venv', 'collections'))
for path in _CANDIDATES:
    if path and os.path.isdir(os.path.join(path, 'ansible_collections', 'hostnet', 'vif')):
        COLLECTIONS = path
        break
else:
    sys.exit('collection not found: run scripts/setup first')
sys.path.insert(0, COLLECTIONS)

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kernel  # noqa: E402
from ansible_collections.hostnet.vif.plugins.module_utils._pipeline import run_info, run_links  # noqa: E402


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


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
    cmd = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, play]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def measure(n, repeat, with_playbook):
    rows = {}

    def add(key, value):
        rows.setdefault(key, []).append(value)
    workdir = tempfile.mkdtemp(prefix='hvb-')
    atexit.register(shutil.rmtree, workdir, True)  # the plays written there
    for _round in range(repeat):
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
    return dict((key, statistics.median(values)) for key, values in rows.items())


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


def report(n, medians):
    base = {'create': medians[('create', 'ip -batch')], 'noop': medians[('noop', 'ip -d -j link show')],
            'purge': medians[('purge', 'ip -batch (link del x N)')], 'overhead': None,
            'facts': medians[('facts', 'ip -d -j link show')], 'dump': medians[('dump', 'ip -d -j link show')]}
    print('%d macvlans on one veth, medians; ratios against the first row of each group' % n)
    print('%-9s %-30s %9s %10s' % ('what', 'how', 'seconds', 'vs ip'))
    for (what, how), seconds in medians.items():
        ratio = '%.2fx' % (seconds / base[what]) if base.get(what) else ''
        print('%-9s %-30s %9.3f %10s' % (what, how, seconds, ratio))
    print('targets (in-process, %d links):' % n)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--links', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--no-playbook', action='store_true')
    parser.add_argument('--profile', choices=['create', 'noop', 'purge'])
    args = parser.parse_args()
    if args.profile:
        profile(args.links, args.profile)
    else:
        report(args.links, measure(args.links, args.repeat, not args.no_playbook))


if __name__ == '__main__':
    main()
