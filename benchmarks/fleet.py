"""A simulated fleet: N network-namespace hosts (hvf-<run>-<i>), each with its own veth lower device,
converging a profile of 20 links (hostnet.vif.host_profile through playbooks/site.yml and the
hostnet.vif.netns connection) with --forks. Prints, per N, the wall time of the first run, the
per-host cost, and the second (idempotent) run's time; and `ip -batch` creating the same links
for scale. Every namespace is removed at the end, also on Ctrl-C.

    .venv/bin/python benchmarks/fleet.py [--hosts 10,25,50] [--links 20] [--forks 10]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
BIN = os.path.join(REPO, '.venv', 'bin')


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


def make_hosts(prefix, count):
    names = ['%s-%d' % (prefix, i) for i in range(count)]
    for name in names:
        sh('ip', 'netns', 'add', name)
        sh('ip', '-n', name, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'far')
        sh('ip', '-n', name, 'link', 'set', 'far', 'up')
    return names


def site(names, links, forks):
    spec = {'lowers_up': ['uplink'],
            'macvlan': [{'name': 'ep%d' % i, 'lower': 'uplink', 'mode': 'bridge'} for i in range(links)]}
    inventory = {'vm_hosts': {'hosts': dict((n, {}) for n in names), 'vars': {
        'ansible_connection': 'hostnet.vif.netns', 'ansible_python_interpreter': sys.executable,
        'ansible_become': False, 'host_profile_spec': spec}}}
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump(inventory, handle)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='default', ANSIBLE_FORKS=str(forks))
    start = time.monotonic()
    done = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', handle.name,
                           os.path.join(REPO, 'playbooks', 'site.yml')], capture_output=True, text=True, env=env,
                          cwd=REPO, check=False)
    took = time.monotonic() - start
    os.unlink(handle.name)
    recaps = re.findall(r'ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', done.stdout)
    if done.returncode != 0 or len(recaps) != len(names) or any(r[1] != '0' or r[2] != '0' for r in recaps):
        raise SystemExit('site.yml failed:\n' + done.stdout[-3000:] + done.stderr[-2000:])
    return took, sum(1 for r in recaps if r[0] != '0')


def ip_batch(names, links):
    """The same links made by one `ip -n NS -batch` per host, one after the other."""
    lines = '\n'.join('link add ipb%d link uplink type macvlan mode bridge' % i for i in range(links)) + '\n'
    start = time.monotonic()
    for name in names:
        sh('ip', '-n', name, '-batch', '-', input=lines)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--hosts', default='10,25,50')
    parser.add_argument('--links', type=int, default=20)
    parser.add_argument('--forks', type=int, default=10)
    args = parser.parse_args()
    run = uuid.uuid4().hex[:4]
    print('hosts  links/host  forks  first run  per host  changed  second run  changed  ip -batch (same links)')
    for count in (int(n) for n in args.hosts.split(',')):
        names = []
        try:
            names = make_hosts('hvf-%s-%d' % (run, count), count)
            first, changed = site(names, args.links, args.forks)
            second, changed_again = site(names, args.links, args.forks)
            batch = ip_batch(names, args.links)
            print('%5d  %10d  %5d  %8.1fs  %7.2fs  %7d  %9.1fs  %7d  %8.2fs' % (
                count, args.links, args.forks, first, first / count, changed, second, changed_again, batch))
            sys.stdout.flush()
        finally:
            for name in names:
                subprocess.run(['ip', 'netns', 'del', name], check=False)


if __name__ == '__main__':
    main()
