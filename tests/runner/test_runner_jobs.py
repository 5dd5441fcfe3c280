"""What AWX runs, run here: ansible-runner (pinned in tests/runner/requirements.txt, like the execution
environment) executes playbooks/site.yml from a private data directory against an inventory of network
namespace hosts (the hostnet.vif.netns connection), with the collection on a collections path of its own,
as a "Check" job and then as a "Run" job. The job events (artifacts/<ident>/job_events/*.json, what AWX
stores and shows) must show each host's changes and no failure; the kernel, read with iproute2, must be
untouched after Check and as the profiles say after Run. scripts/runner makes the environment and runs this."""

import glob
import json
import os
import shutil
import subprocess
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RUNNER_VENV = os.environ.get('HOSTNET_RUNNER_VENV', os.path.join(REPO, '.venv', 'runner'))
RUNNER_BIN = os.path.join(RUNNER_VENV, 'bin')
# host -> (ready profile, the macvlan/macvtap links it makes, the module that makes them)
HOSTS = {
    # the module whose events carry the host's changes: the role applies the whole profile in one task
    'a': ('vepa_edge', {'vepa0': ('macvlan', 'vepa'), 'vepa1': ('macvlan', 'vepa')}, 'hostnet.vif.profile'),
    'b': ('bridge_local', {'vm0tap': ('macvtap', 'bridge'), 'vm1tap': ('macvtap', 'bridge'),
                           'hostside': ('macvlan', 'bridge')}, 'hostnet.vif.profile'),
}


def sh(*cmd):
    return subprocess.run(list(cmd), check=True, capture_output=True, text=True)


def kernel_view(ns):
    """Each link's kind, mode, flags, master and MAC, as iproute2 reports them."""
    view = {}
    for link in json.loads(sh('ip', '-n', ns, '-j', '-d', 'link', 'show').stdout):
        info = link.get('linkinfo', {})
        view[link['ifname']] = (info.get('info_kind'), (info.get('info_data') or {}).get('mode'),
                                tuple(sorted(link.get('flags', []))), link.get('master'), link.get('address'))
    return view


def macv(ns):
    return dict((name, (kind, mode)) for name, (kind, mode, _flags, _master, _mac) in kernel_view(ns).items()
                if kind in ('macvlan', 'macvtap'))


@pytest.fixture
def hosts():
    """Per host a namespace whose uplink (down) is wired to a Linux bridge in a switch namespace that
    hairpins (vepa_edge requires reflective relay); all removed afterwards, whatever happens."""
    tag = uuid.uuid4().hex[:5]
    made, names = [], {}
    try:
        for key in HOSTS:
            host, switch = 'hvt-rn%s-%s' % (tag, key), 'hvt-rn%s-%s-sw' % (tag, key)
            for ns in (host, switch):
                sh('ip', 'netns', 'add', ns)
                made.append(ns)
            sh('ip', '-n', switch, 'link', 'add', 'sw0', 'type', 'bridge')
            sh('ip', '-n', switch, 'link', 'add', 'swp', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', host)
            sh('ip', '-n', switch, 'link', 'set', 'swp', 'master', 'sw0')
            sh('ip', '-n', switch, 'link', 'set', 'swp', 'type', 'bridge_slave', 'hairpin', 'on')
            for link in ('sw0', 'swp'):
                sh('ip', '-n', switch, 'link', 'set', link, 'up')
            names[key] = host
        yield names
    finally:
        for ns in made:
            subprocess.run(['ip', 'netns', 'del', ns], check=False)
            shutil.rmtree(os.path.join('/dev/hostnet-vif', ns), ignore_errors=True)


@pytest.fixture
def private_data_dir(tmp_path, hosts):
    """An AWX-like private data directory: the project (the playbooks), the inventory, the environment."""
    assert os.access(os.path.join(RUNNER_BIN, 'ansible-runner'), os.X_OK), \
        'no ansible-runner in %s: run scripts/runner, which makes that environment' % RUNNER_VENV
    # The collection as the execution environment holds it, under ansible_collections/hostnet/vif (the checkout
    # itself: tests/build/test_galaxy_build.py proves the built tarball installs and runs; building it here
    # would double this test's time).
    collections = tmp_path / 'collections'
    (collections / 'ansible_collections' / 'hostnet').mkdir(parents=True)
    os.symlink(REPO, str(collections / 'ansible_collections' / 'hostnet' / 'vif'))
    data = tmp_path / 'pdd'
    shutil.copytree(os.path.join(REPO, 'playbooks'), str(data / 'project' / 'playbooks'))
    host_vars = {'ansible_connection': 'hostnet.vif.netns', 'ansible_become': False, 'profile_uplink': 'uplink',
                 'ansible_python_interpreter': os.path.join(RUNNER_BIN, 'python')}
    inventory = {'vm_hosts': {'hosts': dict((hosts[key], dict(host_vars, hostnet_profile=HOSTS[key][0]))
                                            for key in HOSTS)}}
    (data / 'inventory').mkdir()
    (data / 'inventory' / 'hosts.yml').write_text(json.dumps(inventory))
    (data / 'env').mkdir()
    (data / 'env' / 'envvars').write_text(json.dumps({'ANSIBLE_COLLECTIONS_PATH': str(collections),
                                                      'ANSIBLE_NOCOLOR': '1'}))
    return data


def job(data, ident, check=False):
    """ansible-runner run, as AWX's job types do: Check is --check (with Show Changes, --diff). Returns the
    runner's status and the job events in order."""
    cmdline = data / 'env' / 'cmdline'
    if check:
        cmdline.write_text('--check --diff')
    elif cmdline.exists():
        cmdline.unlink()
    env = dict(os.environ, PATH=RUNNER_BIN + os.pathsep + os.environ['PATH'])
    env.pop('ANSIBLE_CONFIG', None)
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)  # only the installed copy (env/envvars) may count
    done = subprocess.run([os.path.join(RUNNER_BIN, 'ansible-runner'), 'run', str(data), '-p', 'playbooks/site.yml',
                           '--ident', ident], capture_output=True, text=True, env=env, check=False)
    artifacts = data / 'artifacts' / ident
    events = []
    for path in glob.glob(str(artifacts / 'job_events' / '*.json')):
        with open(path) as handle:
            events.append(json.load(handle))
    events.sort(key=lambda event: event['counter'])
    status = (artifacts / 'status').read_text().strip() if (artifacts / 'status').exists() else None
    return done, status, events


def per_host(events):
    """host -> (actions of its tasks reported changed, count of ok events, the ip-style lines they
    reported)."""
    seen = {}
    for event in events:
        data = event.get('event_data') or {}
        if event['event'] == 'runner_on_ok':
            entry = seen.setdefault(data['host'], [set(), 0, []])
            entry[1] += 1
            if data['res'].get('changed'):
                entry[0].add(data['task_action'])
                entry[2].extend(data['res'].get('actions') or [])
    return seen


def assert_clean(done, status, events, hosts):
    bad = [e['event'] for e in events if e['event'] in ('runner_on_failed', 'runner_on_unreachable',
                                                        'runner_on_async_failed')]
    assert done.returncode == 0 and status == 'successful' and not bad, \
        (bad, done.stdout[-3000:], done.stderr[-2000:])
    [stats] = [e['event_data'] for e in events if e['event'] == 'playbook_on_stats']
    for host in hosts.values():
        assert stats['changed'].get(host, 0) > 0 and host not in stats['failures'] and host not in stats['dark']
    assert events[-1]['event'] == 'playbook_on_stats'


def test_check_job_then_run_job(private_data_dir, hosts):
    for host in hosts.values():
        assert macv(host) == {} and 'UP' not in kernel_view(host)['uplink'][2]
    before = dict((host, kernel_view(host)) for host in hosts.values())

    done, status, events = job(private_data_dir, 'check', check=True)
    assert_clean(done, status, events, hosts)
    changes = per_host(events)
    for key, host in hosts.items():
        assert HOSTS[key][2] in changes[host][0], changes  # the plan says what the Run would change
        for name in HOSTS[key][1]:  # ... link by link
            assert any(' name %s ' % name in line for line in changes[host][2]), (name, changes[host][2])
    for host in hosts.values():
        assert kernel_view(host) == before[host]  # Check changed nothing in the kernel

    done, status, events = job(private_data_dir, 'run')
    assert_clean(done, status, events, hosts)
    changes = per_host(events)
    for key, host in hosts.items():
        assert HOSTS[key][2] in changes[host][0], changes
        assert macv(host) == HOSTS[key][1]
        assert 'UP' in kernel_view(host)['uplink'][2]
