"""What one big task costs through Ansible: a no-op hostnet.vif.macvlan task declaring 1,000 links
that already exist, measured end to end and split into its parts.

End to end (ansible-playbook, connection local, the links given as a play variable): the task,
the same task with one link, and an empty play (`meta: noop`) loading the same variable. The
module process alone: the AnsiballZ file the controller sent (kept with ANSIBLE_KEEP_REMOTE_FILES),
its size, and its run as the target runs it. Inside that process, timed step by step in a fresh
interpreter on the same payload (exploded): Python start-up, imports (ansible's basic, pyroute2,
the module and our module_utils), AnsibleModule() (argument validation, and its syslog line
`_log_invocation`), the engine (pipeline.run), and the result's emission (exit_json: no_log
scrubbing with remove_values, JSON encoding) and size. What is left of the task's time once the
empty play and the module process are taken away is the controller's handling of the big
arguments and result (templating, AnsiballZ, the worker's JSON decoding, the callback).

With --baseline REV the collection as committed at REV (`git archive` into a temporary directory)
is measured in the same run, interleaved, and ratios are printed. With --py-spy PATH (py-spy is
not in the project's venv: `python3 -m venv /tmp/spy && /tmp/spy/bin/pip install py-spy`) one
run of the task is sampled, worker processes included, and the heaviest functions are listed.
Everything happens in a namespace it creates (hvb-...), removed at the end, also on Ctrl-C.

    .venv/bin/python benchmarks/task_cost.py [--links 1000] [--repeat 5] [--baseline REV] [--py-spy PATH]
"""

import argparse
import collections
import json
import os
import re
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
BIN = os.path.dirname(sys.executable)
ANSIBLE_PLAYBOOK = os.path.join(BIN, 'ansible-playbook')
if not os.path.exists(ANSIBLE_PLAYBOOK):
    ANSIBLE_PLAYBOOK = shutil.which('ansible-playbook') or 'ansible-playbook'

# Runs in a fresh interpreter with the exploded payload first on sys.path, as AnsiballZ runs the
# module (ansible.module_utils._internal._ansiballz._loader.run_module), and times each step.
INNER = r'''
import json, sys, time
start = time.perf_counter()
debug_dir, module_fqn, profile = sys.argv[1:4]
sys.path.insert(0, debug_dir)
times = {}
def lap(key, since):
    now = time.perf_counter()
    times[key] = times.get(key, 0.0) + now - since
    return now
mark = time.perf_counter()
from ansible.module_utils._internal._ansiballz import _loader
from ansible.module_utils import basic
mark = lap('import ansible.module_utils.basic', mark)
try:
    import pyroute2  # noqa
except ImportError:
    pass
mark = lap('import pyroute2', mark)
package = module_fqn.rsplit('.', 2)[0]
try:
    glue = __import__(package + '.module_utils._module_glue', fromlist=['run'])
except ImportError:  # a --baseline revision before module_utils were private by name
    glue = __import__(package + '.module_utils.module_glue', fromlist=['run'])
__import__(package + '.module_utils._kinds.macv')
mark = lap('import the module_utils of the module', mark)

def wrap(owner, name, key):
    original = getattr(owner, name)
    def timed(*args, **kw):
        since = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            lap(key, since)
    setattr(owner, name, timed)
wrap(basic.AnsibleModule, '__init__', 'AnsibleModule() (argument validation)')
wrap(basic.AnsibleModule, '_log_invocation', '  of which _log_invocation (syslog line)')
wrap(glue, 'run_pipeline', 'engine (pipeline.run)')
wrap(basic.AnsibleModule, '_return_formatted', 'exit_json: result emission')
wrap(basic.AnsibleModule, '_record_module_result', '  of which JSON encoding and print')
for owner in (basic,):
    wrap(owner, 'remove_values', 'remove_values, every call (no_log scrub)')
with open(debug_dir + '/args', 'rb') as handle:
    params = handle.read()
out = sys.stdout
sys.stdout = buffer = __import__('io').StringIO()
try:
    _loader.run_module(json_params=params, profile=profile, module_fqn=module_fqn, modlib_path=debug_dir,
                       extensions={})
except SystemExit:
    pass
finally:
    sys.stdout = out
times['result bytes'] = len(buffer.getvalue().strip())
times['whole process (from its first line)'] = time.perf_counter() - start
result = json.loads(buffer.getvalue())
if result.get('failed'):
    raise SystemExit('module failed: %s' % result.get('msg'))
print(json.dumps(times))
'''


class Tree(_trees.Tree):
    def __init__(self, label, root, workdir):
        super().__init__(label, root, workdir)
        self.payloads = {}


class Lab:
    """A namespace with a veth lower device (its peer up) and N bridge-mode macvlans made by `ip -batch`."""

    def __init__(self, links):
        self.ns = 'hvb-%s' % uuid.uuid4().hex[:6]
        self.links = links

    def __enter__(self):
        sh('ip', 'netns', 'add', self.ns)
        try:
            sh('ip', '-n', self.ns, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
            sh('ip', '-n', self.ns, 'link', 'set', 'v1', 'up')
            sh('ip', '-n', self.ns, 'link', 'set', 'v0', 'up')
            lines = ''.join('link add link v0 name m%d up type macvlan mode bridge\n' % i for i in range(self.links))
            sh('ip', '-n', self.ns, '-batch', '-', input=lines)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(['ip', 'netns', 'del', self.ns], check=False)


def write_plays(ns, links, workdir):
    """task_N.yml, task_1.yml and empty.yml: the links as a play variable, as inventories give them."""
    entries = [{'name': 'm%d' % i} for i in range(links)]
    args = {'netns': ns, 'lower': 'v0', 'mode': 'bridge', 'links': '{{ vif_links }}'}
    plays = {'task_N': ({'hostnet.vif.macvlan': args}, entries),
             'task_1': ({'hostnet.vif.macvlan': args}, entries[:1]),
             'empty_meta': ({'ansible.builtin.meta': 'noop'}, entries)}
    paths = {}
    for key, (task, variable) in plays.items():
        paths[key] = os.path.join(workdir, key + '.yml')
        with open(paths[key], 'w') as handle:
            json.dump([{'hosts': 'localhost', 'gather_facts': False, 'vars': {'vif_links': variable},
                        'tasks': [task]}], handle)
    return paths


def playbook(tree, play, **env):
    cmd = [ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable,
           play]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=tree.env(**env), cwd=tree.root, check=False)
    took = time.perf_counter() - start
    # meta: noop leaves no recap line; a module task must be ok and unchanged
    recap_ok = ('meta' in os.path.basename(play)
                or re.search(r'ok=1\s+changed=0\s+unreachable=0\s+failed=0', done.stdout))
    if done.returncode != 0 or not recap_ok:
        raise SystemExit('%s: %s failed or changed something:\n%s%s' % (
            tree.label, os.path.basename(play), done.stdout[-3000:], done.stderr[-2000:]))
    return took


def keep_payload(tree, play, workdir, key):
    """Run the play once keeping the module file; explode it next to itself: (file, debug_dir, profile)."""
    remote_tmp = os.path.join(workdir, 'remote-%s-%s' % (tree.label, key))
    os.makedirs(remote_tmp)
    playbook(tree, play, ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_REMOTE_TMP=remote_tmp)
    found = [os.path.join(d, f) for d, _dirs, files in os.walk(remote_tmp) for f in files
             if f == 'AnsiballZ_macvlan.py']
    if len(found) != 1:
        raise SystemExit('%s: expected one kept AnsiballZ_macvlan.py under %s, found %r' % (
            tree.label, remote_tmp, found))
    with open(found[0]) as handle:
        text = handle.read()
    profile = re.search(r"^profile='([^']*)'", text, re.M)
    sh(sys.executable, found[0], 'explode')
    return found[0], os.path.join(os.path.dirname(found[0]), 'debug_dir'), profile.group(1) if profile else 'legacy'


def module_process(path):
    """The target's side of the task: the kept AnsiballZ file run as the controller runs it."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, path], capture_output=True, text=True, check=True)
    took = time.perf_counter() - start
    if json.loads(done.stdout).get('changed') is not False:
        raise SystemExit('the module process changed something or failed: %s' % done.stdout[:2000])
    return took, len(done.stdout.strip())


def inner_split(tree, debug_dir):
    module_fqn = 'ansible_collections.hostnet.vif.plugins.modules.macvlan'
    done = subprocess.run([sys.executable, '-c', INNER, debug_dir, module_fqn, tree.payloads['profile']],
                          capture_output=True, text=True, check=False, env=tree.env())
    if done.returncode != 0:
        raise SystemExit('%s: the split run failed:\n%s%s' % (tree.label, done.stdout[-2000:], done.stderr[-3000:]))
    return json.loads(done.stdout.strip().splitlines()[-1])


def python_startup():
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'pass'], check=True)
    return time.perf_counter() - start


ROWS = (
    ('e2e', 'ansible-playbook: the task, N links, no-op'),
    ('e2e', 'ansible-playbook: the task, 1 link, no-op'),
    ('e2e', 'ansible-playbook: empty play, same N-entry variable'),
    ('e2e', 'task minus empty play'),
    ('target', 'AnsiballZ file, N links (bytes)'),
    ('target', 'AnsiballZ file, 1 link (bytes)'),
    ('target', 'module process, N links'),
    ('target', 'module process, 1 link'),
    ('target', 'module result, N links (bytes)'),
    ('controller', 'task minus empty play minus module process'),
)


def measure(trees, links, repeat, workdir):
    rows = collections.defaultdict(list)
    with Lab(links) as lab:
        plays = write_plays(lab.ns, links, workdir)
        for tree in trees:
            path, debug_dir, profile = keep_payload(tree, plays['task_N'], workdir, 'N')
            one, _one_dir, _one_size = keep_payload(tree, plays['task_1'], workdir, '1')
            tree.payloads.update(N=path, one=one, debug_dir=debug_dir, profile=profile)
            rows[tree.label, 'AnsiballZ file, N links (bytes)'].append(os.path.getsize(path))
            rows[tree.label, 'AnsiballZ file, 1 link (bytes)'].append(os.path.getsize(one))
        for _round in range(repeat):
            rows['both', 'python -c pass (interpreter start-up)'].append(python_startup())
            for tree in trees:
                task = playbook(tree, plays['task_N'])
                empty = playbook(tree, plays['empty_meta'])
                rows[tree.label, 'ansible-playbook: the task, N links, no-op'].append(task)
                rows[tree.label, 'ansible-playbook: the task, 1 link, no-op'].append(playbook(tree, plays['task_1']))
                rows[tree.label, 'ansible-playbook: empty play, same N-entry variable'].append(empty)
                took, size = module_process(tree.payloads['N'])
                rows[tree.label, 'module process, N links'].append(took)
                rows[tree.label, 'module result, N links (bytes)'].append(size)
                rows[tree.label, 'module process, 1 link'].append(module_process(tree.payloads['one'])[0])
                rows[tree.label, 'task minus empty play'].append(task - empty)
                rows[tree.label, 'task minus empty play minus module process'].append(task - empty - took)
                for key, value in inner_split(tree, tree.payloads['debug_dir']).items():
                    rows[tree.label, 'split: ' + key].append(value)
    return dict((key, statistics.median(values)) for key, values in rows.items())


def report(trees, links, repeat, medians):
    labels = [t.label for t in trees]
    print('a no-op hostnet.vif.macvlan task declaring %d existing links; medians of %d (seconds unless bytes)'
          % (links, repeat))
    print('%-62s' % 'what' + ''.join('%14s' % label for label in labels)
          + ('%10s' % 'ratio' if len(labels) == 2 else ''))
    keys = [k for _group, k in ROWS]
    keys += sorted(set(k for (_label, k) in medians if k.startswith('split: ')), key=_split_order)
    startup = 'python -c pass (interpreter start-up)'
    print('%-62s%14.3f' % (startup, medians['both', startup]))
    for key in keys:
        values = [medians.get((label, key)) for label in labels]
        if all(v is None for v in values):
            continue
        cells = ''.join('%14s' % ('' if v is None else ('%d' % v if 'bytes' in key else '%.3f' % v)) for v in values)
        ratio = ''
        if len(values) == 2 and values[0] and values[1]:
            ratio = '%9.2fx' % (values[0] / values[1])
        print('%-62s%s%s' % (key.replace('N links', '%d links' % links), cells, ratio))
    if len(labels) == 2:
        print('(ratio: %s / %s; above 1: %s is smaller)' % (labels[0], labels[1], labels[1]))


SPLIT_ORDER = ['whole process', 'import ansible', 'import pyroute2', 'import the module', 'AnsibleModule',
               'of which _log', 'engine', 'exit_json', 'of which JSON', 'remove_values', 'result bytes']


def _split_order(key):
    for i, prefix in enumerate(SPLIT_ORDER):
        if key[len('split: '):].strip().startswith(prefix):
            return i
    return len(SPLIT_ORDER)


def spy(tree, pyspy, links, workdir):
    """One run of the task under py-spy (worker processes included): the functions holding the most
    samples, inclusive, grouped by what they do."""
    with Lab(links) as lab:
        plays = write_plays(lab.ns, links, workdir)
        playbook(tree, plays['task_N'])  # warm
        raw = os.path.join(workdir, 'spy-%s.txt' % tree.label)
        cmd = [pyspy, 'record', '--subprocesses', '--rate', '250', '--format', 'raw', '--output', raw, '--',
               ANSIBLE_PLAYBOOK, '-i', 'localhost,', '-c', 'local', '-e',
               'ansible_python_interpreter=%s' % sys.executable, plays['task_N']]
        subprocess.run(cmd, capture_output=True, text=True, env=tree.env(), cwd=tree.root, check=True)
    inclusive = collections.Counter()
    total = 0
    with open(raw) as handle:
        for line in handle:
            stack, _space, count = line.rstrip('\n').rpartition(' ')
            count = int(count)
            total += count
            seen = set()
            for frame in stack.split(';'):
                name = re.sub(r' \(.*?:\d+\)$', '', frame)
                name = name + ' (' + _short_file(frame) + ')'
                if name not in seen:
                    seen.add(name)
                    inclusive[name] += count
    print('\npy-spy, one run of the %d-link task (%s tree), %d samples at 250 Hz (%.2f s of CPU), inclusive:' % (
        links, tree.label, total, total / 250.0))
    for name, count in inclusive.most_common(60):
        print('%7.3f s  %5.1f%%  %s' % (count / 250.0, 100.0 * count / total, name))


def _short_file(frame):
    match = re.search(r'\((.*?):\d+\)$', frame)
    if not match:
        return '?'
    path = match.group(1)
    for marker in ('site-packages/', 'ansible_collections/', 'lib/python3'):
        if marker in path:
            return path.split(marker, 1)[1]
    return os.path.basename(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--links', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--baseline', metavar='REV',
                        help='also measure the collection as committed at this git revision')
    parser.add_argument('--py-spy', metavar='PATH', dest='pyspy', help='py-spy executable: sample one run of the task')
    args = parser.parse_args()
    _trees.stop_on_signals()
    workdir = tempfile.mkdtemp(prefix='hvb-cost-')
    try:
        trees = [Tree('current', REPO, workdir)]
        if args.baseline:
            rev = sh('git', '-C', REPO, 'rev-parse', '--verify', args.baseline + '^{commit}').stdout.strip()
            trees.insert(0, Tree('baseline', _trees.baseline_tree(rev, workdir), workdir))
            print('baseline: %s at %s; current: the work tree %s' % (args.baseline, rev[:12], REPO))
        report(trees, args.links, args.repeat, measure(trees, args.links, args.repeat, workdir))
        if args.pyspy:
            for tree in trees:
                spy(tree, args.pyspy, args.links, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
