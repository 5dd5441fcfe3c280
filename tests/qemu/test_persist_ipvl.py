"""hostnet.vif.profile persists ipvlan and ipvtap links (persist=systemd-networkd), checked by systemd's own
programs on a kernel that has the drivers: Debian's 6.1 in the guest of scripts/qemu-sriov, which sees this
machine's root file system, so the same systemd-networkd (252) and the udevadm scripts/setup unpacked.

The profile is applied in an hvt- namespace; then systemd-networkd brings up a fresh namespace from the
written files alone (a reboot: only the uplink, a veth, exists) and must make the same links; and `udevadm
test` must give an ipvtap's character device the owner and mode of the profile's rule, and leave another
ipvtap's /dev/tapN alone. networkd runs as tests/kernel/test_persist_systemd.py runs it: in the fresh
namespace and a private mount namespace of its own (/run empty but for the files, /etc/systemd/network
hidden, /sys read-only so it does not wait for udev, which does not run here)."""

import os
import signal
import subprocess
import sys
import time

from conftest import sh
from test_ipvlan import ip_links, ipvl_of

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline

NETWORKD = '/lib/systemd/systemd-networkd'
# udevadm 252, unpacked by scripts/setup into the environment (the guest sees it over 9p)
UDEVADM = os.environ.get('HOSTNET_UDEVADM') or os.path.join(sys.prefix, 'udev', 'bin', 'udevadm')

LOWERS = ('uplink', 'up2', 'up3')  # veths: each lower device has its own mode and flag
PROFILE = {
    'lowers_up': list(LOWERS),
    'ipvlan': [{'name': 'c0', 'lower': 'uplink', 'mode': 'l2', 'flag': 'private', 'mtu': 1400},
               {'name': 'c1', 'lower': 'up2', 'mode': 'l3s', 'flag': 'vepa'},
               {'name': 'c2', 'lower': 'up3'}],  # the defaults: l3 bridge
    'ipvtap': [{'name': 'tap4242', 'lower': 'uplink', 'mode': 'l2', 'flag': 'private', 'owner': 'nobody',
                'device_mode': 432},  # an unquoted YAML 0660
               {'name': 'spare0', 'lower': 'uplink', 'mode': 'l2', 'flag': 'private', 'admin_state': 'down'}],
}
NAMES = ('c0', 'c1', 'c2', 'tap4242', 'spare0')


def view(ns):
    """What the profile decides about each link, as iproute2 reads it back."""
    have = ip_links(ns)
    return dict((name, None if name not in have else {
        'kind_mode_flag': ipvl_of(ns, name), 'lower': have[name].get('link'), 'mtu': have[name]['mtu'],
        'up': 'UP' in have[name]['flags']}) for name in NAMES)


def uplinks(namespaces_fixture, tag):
    ns = namespaces_fixture(tag)
    for position, lower in enumerate(LOWERS):
        sh('ip', '-n', ns, 'link', 'add', lower, 'type', 'veth', 'peer', 'name', 'far%d' % position)
        for dev in (lower, 'far%d' % position):
            sh('ip', '-n', ns, 'link', 'set', dev, 'up')
    return ns


def run_networkd(ns, config_dir, until, timeout=120.0):
    """systemd-networkd in ``ns`` on the files of ``config_dir`` until ``until()`` (or the timeout: TCG is
    slow, this only waits); then stopped. Returns its log."""
    # config_dir is under the guest's /run/tmp: bound over /etc/systemd/network before /run is replaced
    script = '; '.join([
        'set -e', 'mount --make-rprivate /', 'mount --bind %s /etc/systemd/network' % config_dir,
        'mount -t tmpfs tmpfs /run',
        'mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp',
        'chown -R systemd-network:systemd-network /run/systemd/netif',
        'mount -o remount,ro /sys',
        'exec %s' % NETWORKD])
    env = dict(os.environ, SYSTEMD_LOG_TARGET='console', SYSTEMD_LOG_LEVEL='info')
    proc = subprocess.Popen(['ip', 'netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private',
                             'sh', '-c', script], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, text=True)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None and not until():
            time.sleep(0.5)
        time.sleep(2)  # let it finish what it started (an activation)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        log = proc.communicate(timeout=60)[0]
    return log


def udev_gives(ns, rules_dir, link):
    """(owner, octal mode) udev's rules of ``rules_dir`` give the character device of ipvtap ``link``
    (/sys/class/net/<link>/ipvtap/tapN, class "ipvtap"): `udevadm test` in a private mount namespace where
    /run holds only those rules, /etc/udev/rules.d is hidden and /dev is a tmpfs with only that node."""
    found = sh('ip', 'netns', 'exec', ns, 'sh', '-c', 'cd /sys/class/net/%s/ipvtap && for d in *; do '
               'echo "$d $(cat $d/dev)"; done' % link).stdout.split()
    node, (major, minor) = found[0], found[1].split(':')
    # rules_dir is under the guest's /run/tmp: read before /run is replaced
    script = '; '.join([
        'set -e', 'mount --make-rprivate /', 'rules="$(cat %s/*.rules)"' % rules_dir,
        'mount -t tmpfs tmpfs /run', 'mkdir -p /run/udev/rules.d',
        'printf "%s\\n" "$rules" > /run/udev/rules.d/70-under-test.rules',
        'if [ -d /etc/udev/rules.d ]; then mount -t tmpfs tmpfs /etc/udev/rules.d; fi',
        'mount -t tmpfs tmpfs /dev', 'mknod -m 666 /dev/null c 1 3',
        'mknod -m 600 /dev/%s c %s %s' % (node, major, minor),
        '%s test --action=add /sys/class/ipvtap/%s >/run/udev.log 2>&1 || { cat /run/udev.log; exit 1; }'
        % (UDEVADM, node),
        'stat -c "%%U %%a" /dev/%s' % node])
    out = sh('ip', 'netns', 'exec', ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script)
    owner, mode = out.stdout.split()
    return owner, mode


def test_networkd_and_udev_rebuild_a_profiles_ipvlan_and_ipvtap_links(namespaces, tmp_path):  # noqa: F811
    assert os.access(NETWORKD, os.X_OK), 'systemd-networkd is missing: scripts/setup installs it (package systemd)'
    assert os.access(UDEVADM, os.X_OK), 'udevadm is missing: scripts/setup unpacks it (%s)' % UDEVADM
    host = uplinks(namespaces, 'h')
    network, udev = tmp_path / 'network', tmp_path / 'udev'
    result = pipeline.run_profile(dict(PROFILE, netns=host, persist='systemd-networkd', persist_dir=str(network),
                                       udev_dir=str(udev)))
    assert result['changed'] is True
    assert sorted(os.path.basename(p) for p in result['persisted']) == ['70-hostnet-vif-%s' % n for n in (
        'c0.netdev', 'c0.network', 'c1.netdev', 'c1.network', 'c2.netdev', 'c2.network', 'ipvtap.rules',
        'spare0.netdev', 'spare0.network', 'tap4242.netdev', 'tap4242.network', 'up2.network', 'up3.network',
        'uplink.network')]
    assert '[IPVLAN]\nMode=L3S\nFlags=vepa\n' in (network / '70-hostnet-vif-c1.netdev').read_text()
    assert (network / '70-hostnet-vif-uplink.network').read_text().endswith(
        '[Network]\nIPVLAN=c0\nIPVTAP=tap4242\nIPVTAP=spare0\n')
    applied = view(host)
    assert applied['c0'] == {'kind_mode_flag': ('ipvlan', 'l2', 'private'), 'lower': 'uplink', 'mtu': 1400,
                             'up': True}
    assert [applied[name]['kind_mode_flag'] for name in ('c1', 'c2', 'tap4242')] == [
        ('ipvlan', 'l3s', 'vepa'), ('ipvlan', 'l3', 'bridge'), ('ipvtap', 'l2', 'private')]
    assert applied['spare0']['up'] is False

    # the reboot: only the uplink exists, and the files
    rebooted = uplinks(namespaces, 'r')

    def settled():
        now = view(rebooted)
        return all(now[name] is not None and now[name]['up'] == applied[name]['up'] for name in NAMES)
    log = run_networkd(rebooted, network, settled)
    assert view(rebooted) == applied, 'networkd said:\n' + log[-3000:]

    # udev gives the profile's ipvtap its owner and four-digit mode; another ipvtap whose node is /dev/tap4242
    # (ifindex 4242: the first one's name) keeps the kernel's root 600; and without the rule, so does the first
    sh('ip', '-n', rebooted, 'link', 'add', 'link', 'uplink', 'name', 'othervm', 'index', '4242', 'type', 'ipvtap',
       'mode', 'l2', 'private')
    rules = (udev / '70-hostnet-vif-ipvtap.rules').read_text()
    assert 'SUBSYSTEM=="ipvtap", SUBSYSTEMS=="net", KERNELS=="tap4242", OWNER="nobody", MODE="0660"\n' in rules
    assert udev_gives(rebooted, udev, 'tap4242') == ('nobody', '660')
    assert udev_gives(rebooted, udev, 'othervm') == ('root', '600')
    (tmp_path / 'none').mkdir()
    (tmp_path / 'none' / 'empty.rules').write_text('')
    assert udev_gives(rebooted, tmp_path / 'none', 'tap4242') == ('root', '600')

    # a second run writes nothing
    again = pipeline.run_profile(dict(PROFILE, netns=host, persist='systemd-networkd', persist_dir=str(network),
                                      udev_dir=str(udev)))
    assert again['changed'] is False and again['actions'] == []
