"""The host_profile role and playbooks/site.yml through the hostnet.vif.netns connection: a
namespace wired to a Linux-bridge switch is the inventory host. Each ready profile converges,
a second run changes nothing, the result is what the profile says (read back with iproute2), and
the relay expectation of vepa_edge fails loudly when the switch does not hairpin."""

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO, links, sh

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline

BIN = os.path.dirname(sys.executable)


def site(host, profile, *extra, check=False, **host_vars):
    """playbooks/site.yml on one namespace host with a ready profile (or, with profile None, the
    host_vars' own host_profile_spec); the output and the host's recap counts."""
    host_vars = dict({'ansible_connection': 'hostnet.vif.netns', 'ansible_python_interpreter': sys.executable,
                      'ansible_become': False, 'profile_uplink': 'uplink'}, **host_vars)
    if profile:
        host_vars['hostnet_profile'] = profile
    inventory = {'vm_hosts': {'hosts': {host: host_vars}}}
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', '/dev/stdin', os.path.join(REPO, 'playbooks', 'site.yml')]
    cmd += (['--check', '--diff'] if check else []) + list(extra)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_STDOUT_CALLBACK='default')
    done = subprocess.run(cmd, input=json.dumps(inventory), capture_output=True, text=True, env=env, cwd=REPO,
                          check=False)
    recap = re.search(r'%s\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)' % re.escape(host),
                      done.stdout)
    assert recap, done.stdout[-3000:] + done.stderr[-2000:]
    return done, dict(zip(('ok', 'changed', 'unreachable', 'failed'), map(int, recap.groups())))


def macv(ns):
    return dict((name, (link['linkinfo']['info_kind'], link['linkinfo']['info_data']['mode']))
                for name, link in links(ns).items()
                if link.get('linkinfo', {}).get('info_kind') in ('macvlan', 'macvtap'))


@pytest.mark.parametrize('profile, expected', [
    ('vepa_edge', {'vepa0': ('macvlan', 'vepa'), 'vepa1': ('macvlan', 'vepa')}),
    ('bridge_local', {'vm0tap': ('macvtap', 'bridge'), 'vm1tap': ('macvtap', 'bridge'),
                      'hostside': ('macvlan', 'bridge')}),
    ('private_isolated', {'tenant0': ('macvlan', 'private'), 'tenant1': ('macvlan', 'private')}),
])
def test_profile_converges_then_changes_nothing(switched, profile, expected):
    host, switch = switched
    # what the profile's relay expectation wants: vepa_edge requires hairpin, private_isolated forbids it
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=profile != 'private_isolated'))
    sh('ip', '-n', host, 'link', 'set', 'uplink', 'down')  # lowers_up brings it up
    predicted, recap = site(host, profile, check=True)
    assert recap['failed'] == 0 and recap['changed'] > 0 and macv(host) == {}, predicted.stdout[-3000:]
    done, recap = site(host, profile)
    assert recap['failed'] == 0 and recap['changed'] > 0, done.stdout[-3000:]
    assert macv(host) == expected and 'UP' in links(host)['uplink']['flags']
    # the role is one hostnet.vif.profile task, which reads the host back and verifies it
    assert 'TASK [hostnet.vif.host_profile : Apply the host profile as one transaction]' in done.stdout
    again, recap = site(host, profile)
    assert recap['failed'] == 0 and recap['changed'] == 0, again.stdout[-3000:]


def test_vepa_edge_fails_loudly_when_the_switch_does_not_hairpin(switched):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=False))
    done, recap = site(host, 'vepa_edge')
    assert recap['failed'] == 1
    assert 'VEPA endpoints on uplink cannot reach each other' in done.stdout


def test_a_missing_namespace_is_unreachable_with_a_clear_message():
    done, recap = site('hvt-no-such-namespace', 'vepa_edge')
    assert recap['unreachable'] == 1 and 'network namespace' in done.stdout and 'does not exist' in done.stdout


# Keys systemd.netdev(5) and systemd.network(5) document for the sections the role writes (systemd 252).
SYSTEMD_KEYS = {
    'NetDev': {'Name', 'Kind', 'MACAddress', 'MTUBytes'},
    'MACVLAN': {'Mode', 'SourceMACAddress'}, 'MACVTAP': {'Mode', 'SourceMACAddress'},
    'Match': {'Name'}, 'Network': {'MACVLAN', 'MACVTAP', 'Bridge'}, 'Link': {'ActivationPolicy'},
}


def systemd_sections(path):
    sections = []
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            if line.startswith('['):
                sections.append((line.strip('[]'), []))
                continue
            key, value = line.split('=', 1)
            assert key in SYSTEMD_KEYS[sections[-1][0]], (path, key)
            sections[-1][1].append((key, value))
    return sections


def test_persist_systemd_networkd_renders_the_profile(switched, tmp_path):
    """bridge_local with host_profile_persist=systemd-networkd: check mode writes nothing, the run
    writes .netdev/.network files and the macvtap udev rule (keys checked against the systemd
    manuals here; test_persist_networkd.py has systemd-networkd itself rebuild a profile from such
    files, while udevd cannot run here), a second run changes nothing."""
    host, _switch = switched
    extra = ['-e', 'host_profile_persist=systemd-networkd', '-e', 'host_profile_persist_dir=%s' % tmp_path,
             '-e', 'host_profile_udev_dir=%s' % tmp_path, '-e', 'profile_qemu_user=nobody']
    _done, recap = site(host, 'bridge_local', *extra, check=True)
    assert recap['failed'] == 0 and sorted(os.listdir(tmp_path)) == []
    done, recap = site(host, 'bridge_local', *extra)
    assert recap['failed'] == 0, done.stdout[-3000:]
    assert sorted(os.listdir(tmp_path)) == [
        '70-hostnet-vif-hostside.netdev', '70-hostnet-vif-hostside.network', '70-hostnet-vif-macvtap.rules',
        '70-hostnet-vif-uplink.network', '70-hostnet-vif-vm0tap.netdev', '70-hostnet-vif-vm0tap.network',
        '70-hostnet-vif-vm1tap.netdev', '70-hostnet-vif-vm1tap.network']
    assert systemd_sections(tmp_path / '70-hostnet-vif-vm0tap.network') == [
        ('Match', [('Name', 'vm0tap')]), ('Link', [('ActivationPolicy', 'up')])]
    assert systemd_sections(tmp_path / '70-hostnet-vif-vm0tap.netdev') == [
        ('NetDev', [('Name', 'vm0tap'), ('Kind', 'macvtap')]), ('MACVTAP', [('Mode', 'bridge')])]
    assert systemd_sections(tmp_path / '70-hostnet-vif-uplink.network') == [
        ('Match', [('Name', 'uplink')]),
        ('Network', [('MACVLAN', 'hostside'), ('MACVTAP', 'vm0tap'), ('MACVTAP', 'vm1tap')])]
    rules = [line for line in (tmp_path / '70-hostnet-vif-macvtap.rules').read_text().splitlines()
             if line and not line.startswith('#')]
    assert rules == ['SUBSYSTEM=="macvtap", SUBSYSTEMS=="net", KERNELS=="%s", OWNER="nobody", MODE="0660"' % name
                     for name in ('vm0tap', 'vm1tap')]
    _again, recap = site(host, 'bridge_local', *extra)
    assert recap['changed'] == 0


def test_a_profile_that_fails_at_its_last_link_leaves_nothing_of_itself(switched, tmp_path):
    """The role used to run one module per kind: a profile whose macvtap the kernel refuses (its lower
    device is a bridge port: EBUSY) left its macvlans and the uplink brought up on the host, and
    wrote no files. Now the profile is one transaction: nothing of it stays, the message says so."""
    host, _switch = switched
    sh('ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', host, 'link', 'add', 'port0', 'type', 'veth', 'peer', 'name', 'port0p')
    sh('ip', '-n', host, 'link', 'set', 'port0', 'master', 'br0')
    sh('ip', '-n', host, 'link', 'set', 'uplink', 'down')
    before = sorted(links(host))
    spec = {'lowers_up': ['uplink'],
            'macvlan': [{'name': 'vepa0', 'lower': 'uplink'}, {'name': 'vepa1', 'lower': 'uplink'}],
            'macvtap': [{'name': 'vm0', 'lower': 'uplink'}, {'name': 'vm1', 'lower': 'port0'}]}
    done, recap = site(host, None, host_profile_spec=spec)
    said = ' '.join(done.stdout.split())
    assert recap['failed'] == 1, said[-3000:]
    assert sorted(links(host)) == before and 'UP' not in links(host)['uplink']['flags']
    assert 'vm1' in said and 'EBUSY' in said and 'everything this profile had changed was undone' in said
