"""host_profile_persist: systemd-networkd, checked by systemd's own reading of the files: the
profile is applied with persistence, then systemd-networkd (systemd 252, the machine's own binary)
brings up a fresh namespace from the rendered files alone - a reboot - and the links it makes must
be the ones the role made. udev (udevadm 252, unpacked by scripts/setup, never installed or run as
a daemon here) applies the role's macvtap rule to a device node, and must give the profile's owner
and mode.

networkd runs inside the fresh namespace only, in a private mount namespace of its own: /run is
empty with the rendered files as /run/systemd/network, /etc/systemd/network is emptied, /sys is
read-only (networkd then does not wait for udev, as in a container; no udevd runs here) and
/dev/net/tun is mode 0666 as on a stock system (this container's is 0600, and networkd drops root).
What networkd sends (IPv6 router solicitations) stays in the namespace: the uplink's far end is there.
"""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import links, new_netns, del_netns, sh
from test_host_profile import site

NETWORKD = '/lib/systemd/systemd-networkd'
UDEVADM = os.environ.get('HOSTNET_UDEVADM') or os.path.join(sys.prefix, 'udev', 'bin', 'udevadm')

SPEC = {
    'lowers_up': ['uplink'],
    'macvlan': [
        {'name': 'vepa0', 'lower': 'uplink', 'mode': 'vepa'},
        {'name': 'src0', 'lower': 'uplink', 'mode': 'source',
         'source_macs': ['02:00:00:00:5c:01', '02:00:00:00:5c:02']},
        {'name': 'hostside', 'lower': 'uplink', 'mode': 'bridge', 'mac': '02:00:00:00:aa:01', 'mtu': 1400},
        {'name': 'spare0', 'lower': 'uplink', 'mode': 'private', 'admin_state': 'down'},
    ],
    'macvtap': [{'name': 'vm0tap', 'lower': 'uplink', 'mode': 'bridge', 'mac': '02:00:00:00:aa:02'}],
    'taps': [
        {'name': 'vnet0', 'bridge': 'br0', 'vnet_hdr': True, 'multi_queue': True, 'owner': 'nobody'},
        {'name': 'vnet1', 'vnet_hdr': True},
        {'name': 'tun0', 'mode': 'tun', 'admin_state': 'down'},
    ],
}
NAMES = [entry['name'] for key in ('macvlan', 'macvtap', 'taps') for entry in SPEC[key]]
MACS = {'hostside', 'vm0tap'}


def view(ns):
    """What the profile decides about each of its links, as iproute2 reads it back."""
    have = links(ns)
    out = {}
    for name in NAMES:
        link = have.get(name)
        if link is None:
            out[name] = None
            continue
        info = link.get('linkinfo', {})
        data = info.get('info_data') or {}
        out[name] = {
            'kind': info.get('info_kind'), 'mode': data.get('mode'), 'lower': link.get('link'),
            'up': 'UP' in link['flags'], 'mtu': link['mtu'], 'master': link.get('master'),
            'sources': sorted(data.get('macaddr_data') or []),
            'mac': link['address'] if name in MACS else None,
            'tun': dict((key, data.get(key)) for key in ('type', 'pi', 'vnet_hdr', 'multi_queue', 'user', 'group')),
        }
    return out


# The host's own bridge for its VMs' taps, as its owner persists it: networkd joins a tap to a
# bridge (Bridge=) only when networkd itself creates that bridge from a .netdev.
USER_BRIDGE = '[NetDev]\nName=br0\nKind=bridge\n'


def run_networkd(ns, config_dir, until, timeout=15.0):
    """systemd-networkd in namespace ``ns`` on the files of ``config_dir`` until ``until()`` holds
    (or the timeout); then stopped. Returns its log."""
    script = '; '.join([
        'set -e', 'mount --make-rprivate /', 'mount -t tmpfs tmpfs /run',
        'mkdir -p /run/systemd/network /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp',
        'chown -R systemd-network:systemd-network /run/systemd/netif',
        'mount --bind %s /run/systemd/network' % config_dir,
        'if [ -d /etc/systemd/network ]; then mount -t tmpfs tmpfs /etc/systemd/network; fi',
        'mount -o remount,ro /sys',
        'mount -t tmpfs tmpfs /dev/net', 'mknod -m 0666 /dev/net/tun c 10 200',
        'exec %s' % NETWORKD])
    env = dict(os.environ, SYSTEMD_LOG_TARGET='console', SYSTEMD_LOG_LEVEL='info')
    proc = subprocess.Popen(['ip', 'netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private',
                             'sh', '-c', script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, text=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not until():
            time.sleep(0.1)
        time.sleep(0.5)  # let it finish what it started (a bridge join, an activation)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        log = proc.communicate(timeout=15)[0]
    return log


def test_networkd_rebuilds_the_profile_from_the_persisted_files(switched, tmp_path):
    assert os.access(NETWORKD, os.X_OK), 'systemd-networkd is missing: scripts/setup installs it (package systemd)'
    host, _switch = switched
    sh('ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge')
    persist_dir = tmp_path / 'network'
    persist_dir.mkdir()
    (persist_dir / '60-br0.netdev').write_text(USER_BRIDGE)
    extra = ['-e', 'host_profile_persist=systemd-networkd', '-e', 'host_profile_persist_dir=%s' % persist_dir,
             '-e', 'host_profile_udev_dir=%s' % (tmp_path / 'udev')]
    done, recap = site(host, None, *extra, host_profile_spec=SPEC)
    assert recap['failed'] == 0 and recap['changed'] > 0, done.stdout[-3000:]
    assert 'systemd-networkd does not create bridge' not in done.stdout + done.stderr
    applied = view(host)
    assert all(applied.values()), applied

    rebooted = new_netns('r')  # after the reboot: the uplink (a veth here) and the files, nothing else
    try:
        sh('ip', '-n', rebooted, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'far')
        sh('ip', '-n', rebooted, 'link', 'set', 'far', 'up')
        want = dict((name, state['up']) for name, state in applied.items())

        def settled():
            now = view(rebooted)
            return all(now[name] is not None and now[name]['up'] == up for name, up in want.items())
        log = run_networkd(rebooted, persist_dir, settled)
        rebuilt = view(rebooted)
        differences = dict((name, {'applied': applied[name], 'after reboot': rebuilt[name]})
                           for name in NAMES if rebuilt[name] != applied[name])
        assert differences == {}, json.dumps(differences, indent=1) + '\nnetworkd said:\n' + log[-3000:]
    finally:
        del_netns(rebooted)


def test_files_of_what_the_profile_removes_go_too(switched, tmp_path):
    """A stale .netdev would bring a removed link back at the next boot: an entry marked absent
    takes its files with it (and its lower's .network when no link is left on it); with purge,
    every file of ours the profile does not list goes. Check mode removes nothing."""
    host, _switch = switched
    sh('ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge')
    persist_dir = tmp_path / 'network'
    extra = ['-e', 'host_profile_persist=systemd-networkd', '-e', 'host_profile_persist_dir=%s' % persist_dir,
             '-e', 'host_profile_udev_dir=%s' % (tmp_path / 'udev')]

    def files():
        return sorted(name[len('70-hostnet-vif-'):] for name in os.listdir(persist_dir))
    done, recap = site(host, None, *extra, host_profile_spec=SPEC)
    # nothing here creates br0 for networkd: the module warns that vnet0 would not rejoin it at boot
    said = ' '.join((done.stdout + done.stderr).split())
    assert '[WARNING]: systemd-networkd does not create bridge br0' in said, said[-3000:]
    assert 'taps vnet0 will not be ports of br0' in said
    everything = files()
    assert 'vepa0.netdev' in everything and 'src0.network' in everything and 'tun0.netdev' in everything

    absent = dict(SPEC, macvlan=[dict(SPEC['macvlan'][0], state='absent')] + SPEC['macvlan'][1:],
                  taps=SPEC['taps'][:2] + [dict(SPEC['taps'][2], state='absent')])
    _done, recap = site(host, None, *extra, check=True, host_profile_spec=absent)
    assert recap['failed'] == 0 and files() == everything
    done, recap = site(host, None, *extra, host_profile_spec=absent)
    assert recap['failed'] == 0, done.stdout[-3000:]
    assert files() == sorted(set(everything) - {'vepa0.netdev', 'vepa0.network', 'tun0.netdev', 'tun0.network'})

    only_vm = {'lowers_up': ['uplink'], 'macvtap': SPEC['macvtap']}
    done, recap = site(host, None, *extra, '-e', 'host_profile_purge=true', host_profile_spec=only_vm)
    assert recap['failed'] == 0, done.stdout[-3000:]
    assert files() == ['uplink.network', 'vm0tap.netdev', 'vm0tap.network']
    assert 'vm0tap' in (persist_dir / '70-hostnet-vif-uplink.network').read_text()
    assert 'src0' not in (persist_dir / '70-hostnet-vif-uplink.network').read_text()
    _again, recap = site(host, None, *extra, '-e', 'host_profile_purge=true', host_profile_spec=only_vm)
    assert recap['changed'] == 0


def udev_gives(ns, rules_dir, link):
    """(owner, octal mode) that udev's rules give the character device of macvtap ``link``:
    `udevadm test` (which applies permissions) in a private mount namespace where /run holds the
    rules of ``rules_dir``, the machine's /etc/udev/rules.d is hidden, and /dev is a tmpfs with
    only that node in it - the machine's /dev is never touched."""
    found = sh('ip', 'netns', 'exec', ns, 'sh', '-c', 'cd /sys/class/net/%s/macvtap && for d in *; do '
               'echo "$d $(cat $d/dev)"; done' % link).stdout.split()
    node, (major, minor) = found[0], found[1].split(':')
    script = '; '.join([
        'set -e', 'mount -t tmpfs tmpfs /run', 'mkdir -p /run/udev/rules.d',
        'cp %s/*.rules /run/udev/rules.d/' % rules_dir,
        'if [ -d /etc/udev/rules.d ]; then mount -t tmpfs tmpfs /etc/udev/rules.d; fi',
        'mount -t tmpfs tmpfs /dev', 'mknod -m 666 /dev/null c 1 3',
        'mknod -m 600 /dev/%s c %s %s' % (node, major, minor),
        '%s test --action=add /sys/class/macvtap/%s >/dev/null 2>&1' % (UDEVADM, node),
        'stat -c "%%U %%a" /dev/%s' % node])
    out = sh('ip', 'netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script)
    owner, mode = out.stdout.split()
    return owner, mode


def test_udev_gives_macvtap_devices_the_profiles_ownership(switched, tmp_path):
    """bridge_local's macvtaps belong to the QEMU user with mode 0660: the rule the role writes
    makes udev set exactly that on the device node when it appears (at boot, or when recreated)."""
    assert os.access(UDEVADM, os.X_OK), 'udevadm is missing: scripts/setup unpacks it (%s)' % UDEVADM
    host, _switch = switched
    extra = ['-e', 'host_profile_persist=systemd-networkd', '-e', 'host_profile_persist_dir=%s' % tmp_path,
             '-e', 'host_profile_udev_dir=%s' % (tmp_path / 'udev'), '-e', 'profile_qemu_user=nobody']
    done, recap = site(host, 'bridge_local', *extra)
    assert recap['failed'] == 0, done.stdout[-3000:]
    assert [udev_gives(host, tmp_path / 'udev', link) for link in ('vm0tap', 'vm1tap')] == [('nobody', '660')] * 2
    # and the rule is what decides: without it the node keeps the kernel's root 600
    (tmp_path / 'none').mkdir()
    (tmp_path / 'none' / 'empty.rules').write_text('')
    assert udev_gives(host, tmp_path / 'none', 'vm0tap') == ('root', '600')


def persist_args(tmp_path):
    return ['-e', 'host_profile_persist=systemd-networkd', '-e', 'host_profile_persist_dir=%s' % (tmp_path / 'network'),
            '-e', 'host_profile_udev_dir=%s' % (tmp_path / 'udev')]


def test_udev_rule_has_a_canonical_mode_and_matches_only_its_own_device(switched, tmp_path):
    """device_mode: 0660 unquoted is the YAML integer 432: the rule must still say MODE="0660" (udev
    reads "432" as octal 0432). The rule for a macvtap named tap<N> must not apply to the /dev/tap<N>
    of another macvtap (whose ifindex is N), only to its own device."""
    import yaml
    assert os.access(UDEVADM, os.X_OK), 'udevadm is missing: scripts/setup unpacks it (%s)' % UDEVADM
    host, _switch = switched
    profile = tmp_path / 'profile.yml'
    profile.write_text('host_profile_spec:\n  lowers_up: [uplink]\n  macvtap:\n'
                       '    - {name: tap4242, lower: uplink, mode: bridge, owner: nobody, device_mode: 0660}\n')
    assert yaml.safe_load(profile.read_text())['host_profile_spec']['macvtap'][0]['device_mode'] == 432
    done, recap = site(host, None, *persist_args(tmp_path), '-e', '@%s' % profile)
    assert recap['failed'] == 0, done.stdout[-3000:]
    rules = (tmp_path / 'udev' / '70-hostnet-vif-macvtap.rules').read_text()
    assert 'MODE="0660"' in rules and '432' not in rules
    # another VM's macvtap whose ifindex (so its node, /dev/tap4242) is the first one's name
    sh('ip', '-n', host, 'link', 'add', 'link', 'uplink', 'name', 'othervm', 'index', '4242', 'type', 'macvtap')
    assert udev_gives(host, tmp_path / 'udev', 'tap4242') == ('nobody', '660')
    assert udev_gives(host, tmp_path / 'udev', 'othervm') == ('root', '600')


GLOB_RULE = "glob characters (* ? [ ]), '!', '|', quotes or backslash"


@pytest.mark.parametrize('spec, culprit, why', [
    ({'taps': [{'name': '!x', 'bridge': 'br0'}]}, "taps[0].name='!x'", GLOB_RULE),
    ({'macvtap': [{'name': 'vm*', 'lower': 'uplink'}]}, "macvtap[0].name='vm*'", GLOB_RULE),
    ({'macvlan': [{'name': 'a|uplink', 'lower': 'uplink'}]}, "macvlan[0].name='a|uplink'", GLOB_RULE),
    ({'macvlan': [{'name': 'ok0', 'lower': 'upl?nk'}]}, "macvlan[0].lower='upl?nk'", GLOB_RULE),
    ({'taps': [{'name': 'vnet9', 'bridge': 'br[0]'}]}, "taps[0].bridge='br[0]'", GLOB_RULE),
    ({'macvtap': [{'name': 'vm0', 'lower': 'uplink', 'owner': 'no body'}]}, "macvtap[0].owner='no body'",
     'expected a user name'),
    ({'macvtap': [{'name': 'vm0', 'lower': 'uplink', 'device_mode': '0o660'}]}, "macvtap[0].device_mode='0o660'",
     'expected an octal permission string'),
])
def test_names_read_as_patterns_are_refused_before_anything_changes(switched, tmp_path, spec, culprit, why):
    """A tap named '!x' with a bridge would give a .network file whose [Match] Name=!x matches every
    other interface (the uplink would join the bridge at boot); '*', '?', '[ ]' and udev's '|' match
    other devices too. The role fails first: no link, no file."""
    host, _switch = switched
    sh('ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge')
    before = sorted(links(host))
    done, recap = site(host, None, *persist_args(tmp_path), host_profile_spec=dict(spec, lowers_up=['uplink']))
    assert recap['failed'] == 1, done.stdout[-3000:]
    text = ' '.join(done.stdout.split())
    assert '%s is invalid' % culprit in text and why in text
    assert sorted(links(host)) == before
    assert not (tmp_path / 'network').exists() and not (tmp_path / 'udev').exists()


def test_an_absent_entrys_lower_cannot_reach_outside_the_persist_directory(switched, tmp_path):
    """An absent link's lower names the .network file the role removes: with
    x.network.d/../../victim it pointed, through the drop-in directory of a link named x, at a file
    outside the persist directory."""
    host, _switch = switched
    network = tmp_path / 'network'
    (network / '70-hostnet-vif-x.network.d').mkdir(parents=True)
    victim = tmp_path / 'victim.network'
    victim.write_text('[Match]\nName=eth0\n')
    spec = {'macvlan': [{'name': 'gone0', 'lower': 'x.network.d/../../victim', 'state': 'absent'}]}
    done, recap = site(host, None, *persist_args(tmp_path), host_profile_spec=spec)
    assert recap['failed'] == 1, done.stdout[-3000:]
    assert "macvlan[0].lower='x.network.d/../../victim' is invalid" in ' '.join(done.stdout.split())
    assert victim.read_text() == '[Match]\nName=eth0\n'


@pytest.mark.parametrize('how', ['world-writable', 'symlink'])
def test_a_persist_directory_another_user_could_change_is_refused(switched, tmp_path, how):
    host, _switch = switched
    network = tmp_path / 'network'
    if how == 'symlink':
        (tmp_path / 'real').mkdir()
        network.symlink_to(tmp_path / 'real')
    else:
        network.mkdir()
        network.chmod(0o777)
    spec = {'lowers_up': ['uplink'], 'macvlan': [{'name': 'vepa0', 'lower': 'uplink'}]}
    done, recap = site(host, None, *persist_args(tmp_path), host_profile_spec=spec)
    assert recap['failed'] == 1, done.stdout[-3000:]
    said = ' '.join(done.stdout.split())
    assert 'refusing to work there (another user could redirect or replace what root writes)' in said, said[-2000:]
    assert ('is a symbolic link' if how == 'symlink' else 'is writable by others than its owner (mode 0777)') in said
    assert 'vepa0' not in links(host)
    assert os.listdir(tmp_path / 'real' if how == 'symlink' else network) == []
