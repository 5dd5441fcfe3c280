"""hostnet.vif.profile: the whole host profile as one transaction, against the real kernel.

Most cases run inside the SR-IOV emulator's host (tests/kernel/sriov_emulator.py: a child process
with its own network and mount namespaces, an emulated PF pfemu0 whose VF settings the module
changes over the emulated per-VF netlink), where a read-only tmpfs can make a file write fail at
apply time. Snapshots are the kernel's own view (`ip -j -d link`), the emulated PF's VF settings
and the bytes of every file in the persistence directories.
"""

import json
import os
import signal
import subprocess
import tempfile
import time

import pytest
from conftest import sh
from sriov_emulator import emulated_host
from test_persist_systemd import NAMES as NETWORKD_NAMES
from test_persist_systemd import SPEC as NETWORKD_SPEC
from test_persist_systemd import UDEVADM, USER_BRIDGE, run_networkd, udev_gives, view

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def _stable(value):
    """iproute2's JSON without what moves by itself: timers, and the qdisc (a device that was up once
    keeps the default qdisc the kernel attached to it: not state the profile sets or could restore)."""
    if isinstance(value, dict):
        return dict((k, _stable(v)) for k, v in value.items() if not k.endswith('_timer') and k != 'qdisc')
    return value


def _ip_links():
    return dict((link['ifname'], _stable(link)) for link in json.loads(sh('ip', '-j', '-d', 'link', 'show').stdout))


def _files(*directories):
    out = {}
    for directory in directories:
        for root, _dirs, names in os.walk(directory):
            for name in names:
                with open(os.path.join(root, name)) as handle:
                    out[os.path.join(root, name)] = handle.read()
    return out


def _snapshot(host, *directories):
    """Everything a profile may change: links (kind, mode, flags, tun flags, bridge port and
    hairpin, addresses, MTU, index), the emulated VF settings, the files."""
    return {'links': _ip_links(), 'vfs': host.netlink.get(), 'files': _files(*directories)}


def _changed(before, after):
    """What differs between two snapshots, key by key (empty: nothing)."""
    out = {}
    for part in ('links', 'files'):
        for name in sorted(set(before[part]) | set(after[part])):
            if before[part].get(name) != after[part].get(name):
                out['%s %s' % (part, name)] = (before[part].get(name), after[part].get(name))
    if before['vfs'] != after['vfs']:
        out['vfs'] = (before['vfs'], after['vfs'])
    return out


def _explain(changed):
    """The differing fields only, before and after."""
    def only(one, other):
        return dict((k, v) for k, v in one.items() if other.get(k) != v) if isinstance(one, dict) else one
    return json.dumps(dict((key, {'before': only(old, new or {}), 'after': only(new, old or {})})
                           for key, (old, new) in changed.items()), default=str)


def _settled(before, host, *directories):
    """_changed once derived state has followed: a bridge's carrier and operstate follow its ports'
    through the kernel's linkwatch, up to a second later. Not a timing assertion: it only waits."""
    deadline = time.monotonic() + 3
    while True:
        changed = _changed(before, _snapshot(host, *directories))
        if not changed or time.monotonic() > deadline:
            return changed
        time.sleep(0.1)


def _prepare(host):
    """The host before the profile: 2 VFs (VF 0 with VLAN 5), an uplink that is down, a macvlan
    keep0 in mode vepa, a bridge br0 with a tap vnet0 (hairpin off) and a veth port0, an old file."""
    pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 0, 'vlan': 5}]})
    sh('ip', 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'far')
    sh('ip', 'link', 'set', 'far', 'up')
    sh('ip', 'link', 'add', 'link', 'uplink', 'name', 'keep0', 'type', 'macvlan', 'mode', 'vepa')
    sh('ip', 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', 'link', 'set', 'br0', 'up')
    sh('ip', 'tuntap', 'add', 'dev', 'vnet0', 'mode', 'tap')
    sh('ip', 'link', 'set', 'vnet0', 'master', 'br0')
    sh('ip', 'link', 'add', 'port0', 'type', 'veth', 'peer', 'name', 'port0p')
    sh('ip', 'link', 'set', 'port0', 'master', 'br0')
    root = tempfile.mkdtemp(prefix='hvt-profile-')
    os.chmod(root, 0o755)
    network, udev = os.path.join(root, 'network'), os.path.join(root, 'udev')
    os.mkdir(network, 0o755)
    os.mkdir(udev, 0o755)
    with open(os.path.join(network, '70-hostnet-vif-keep0.netdev'), 'w') as handle:
        handle.write('# an earlier version of this file\n')
    return network, udev


def _profile(network, udev, **extra):
    params = {
        'sriov': [{'pf': 'pfemu0', 'vfs': [{'vf': 0, 'vlan': 7}, {'vf': 1, 'trust': True}]}],
        'lowers_up': ['uplink'],
        'macvlan': [{'name': 'keep0', 'lower': 'uplink', 'mode': 'bridge'},
                    {'name': 'new0', 'lower': 'uplink', 'mode': 'private'}],
        'macvtap': [{'name': 'vm0', 'lower': 'uplink', 'mode': 'bridge', 'device_mode': 432}],
        'taps': [{'name': 'vnet0', 'bridge': 'br0', 'vnet_hdr': True}, {'name': 'vnet1', 'bridge': 'br0'}],
        'hairpin': [{'name': 'vnet0', 'hairpin': True}],
        'persist': 'systemd-networkd', 'persist_dir': network, 'udev_dir': udev,
    }
    params.update(extra)
    return params


def _refused(params):
    try:
        pipeline.run_profile(params)
    except VifError as exc:
        return exc
    raise AssertionError('not refused')


@pytest.mark.parametrize('failure', ['last macvtap on a bridge port (EBUSY)', 'last file (read-only file system)'])
def test_a_late_failure_leaves_links_taps_hairpin_vfs_and_files_exactly_as_before(failure):
    """The profile changes VF settings, brings the uplink up, changes and creates macvlans, creates
    a macvtap, changes and creates taps, turns hairpin on and writes files; then its last kernel
    object (a macvtap on a bridge port: the kernel answers EBUSY) or its last file (the udev rule,
    on a read-only file system) fails. Everything is as before, and the message says what failed
    and that it was undone."""
    def body(host):
        network, udev = _prepare(host)
        params = _profile(network, udev)
        if failure.startswith('last macvtap'):
            params['macvtap'] = params['macvtap'] + [{'name': 'bad0', 'lower': 'port0', 'mode': 'bridge'}]
        else:
            sh('mount', '-t', 'tmpfs', '-o', 'ro,mode=0755', 'tmpfs', udev)
        before = _snapshot(host, network, udev)
        error = _refused(params)
        changed = _settled(before, host, network, udev)
        assert changed == {}, _explain(changed)
        assert 'everything this profile had changed was undone' in error.msg
        return error.msg
    msg = emulated_host(body)
    if failure.startswith('last macvtap'):
        assert msg.startswith('macvtap: ') and 'bad0' in msg and 'EBUSY' in msg, msg
    else:
        assert msg.startswith('files: ') and '70-hostnet-vif-macvtap.rules failed' in msg, msg


def test_sigterm_during_the_apply_undoes_everything():
    """SIGTERM arrives while hairpin is being set (after VF settings, lowers, links, taps were
    applied): the step finishes, then everything is undone and the message says so."""
    def body(host):
        network, udev = _prepare(host)
        before = _snapshot(host, network, udev)
        original = apply.SetHairpin.do

        def hairpin_then_sigterm(self, ctx):
            original(self, ctx)
            os.kill(os.getpid(), signal.SIGTERM)
        apply.SetHairpin.do = hairpin_then_sigterm
        try:
            error = _refused(_profile(network, udev))
        finally:
            apply.SetHairpin.do = original
        changed = _settled(before, host, network, udev)
        assert changed == {}, _explain(changed)
        return error.msg
    msg = emulated_host(body)
    assert msg.startswith('interrupted by SIGTERM while applying the profile; everything this profile had changed '
                          'was undone (') and 'actions)' in msg, msg


def test_check_mode_changes_nothing_shows_everything_diff_is_truthful_and_a_second_run_changes_nothing():
    def body(host):
        network, udev = _prepare(host)
        params = _profile(network, udev)
        before = _snapshot(host, network, udev)
        predicted = pipeline.run_profile(dict(params), check_mode=True, diff=True)
        changed = _settled(before, host, network, udev)
        assert changed == {}, _explain(changed)
        real = pipeline.run_profile(dict(params), diff=True)
        assert real['changed'] and real['actions'] == predicted['actions']
        assert real['diff'] == predicted['diff']
        again = pipeline.run_profile(dict(params), diff=True)
        assert again['changed'] is False and again['actions'] == [] and again['diff'] == []
        return predicted
    predicted = emulated_host(body)
    actions = predicted['actions']
    # every kind, in the safe order (SR-IOV, lowers, macvlan, macvtap, taps, hairpin), files last
    expected = ['ip link set pfemu0 vf 0 vlan 7', 'ip link set pfemu0 vf 1 trust on', 'ip link set uplink up',
                'name new0 type macvlan mode private', 'ip link set keep0 up type macvlan mode bridge',
                'name vm0 type macvtap mode bridge', 'chmod 0660 <character device of vm0>',
                'ip tuntap add dev vnet1 mode tap', 'set vnet_hdr of vnet0 on',
                'ip link set vnet0 type bridge_slave hairpin on']
    positions = [next(i for i, line in enumerate(actions) if want in line) for want in expected]
    assert positions == sorted(positions), actions
    files = [line for line in actions if line.startswith('write ')]
    assert actions[-len(files):] == files and len(files) == 13, actions
    diffs = dict((d['after_header'].split(' ')[0], d) for d in predicted['diff'])
    assert 'vlan 7' in diffs['sriov']['after'] and 'vlan 5' in diffs['sriov']['before']
    assert 'macvlan keep0: lower uplink, mode vepa' in diffs['macvlan']['before']
    assert 'macvlan keep0: lower uplink, mode bridge' in diffs['macvlan']['after']
    assert 'hairpin on' in diffs['hairpin']['after'] and 'hairpin off' in diffs['hairpin']['before']
    rules = [d for d in predicted['diff'] if d['after_header'].endswith('70-hostnet-vif-macvtap.rules')][0]
    assert rules['before'] == '' and 'KERNELS=="vm0", MODE="0660"' in rules['after']
    netdev = [d for d in predicted['diff'] if d['after_header'].endswith('70-hostnet-vif-keep0.netdev')][0]
    assert netdev['before'] == '# an earlier version of this file\n' and 'Mode=bridge' in netdev['after']


def test_a_reduction_of_the_vf_count_is_refused_beside_other_changes_and_allowed_alone():
    """Going from 2 VFs to 1 destroys both: with other changes in the same profile (whose failure
    would need the VFs back) it is refused before anything changes; alone it goes through."""
    def body(host):
        network, udev = _prepare(host)
        params = _profile(network, udev, sriov=[{'pf': 'pfemu0', 'num_vfs': 1, 'allow_reset': True}])
        before = _snapshot(host, network, udev)
        error = _refused(params)
        changed = _settled(before, host, network, udev)
        assert changed == {}, _explain(changed)
        alone = pipeline.run_profile({'sriov': [{'pf': 'pfemu0', 'num_vfs': 1, 'allow_reset': True}],
                                      'persist': 'systemd-networkd', 'persist_dir': network})
        return error.msg, error.field, alone['actions'], host.sysfs('sriov_numvfs')
    msg, field, actions, count = emulated_host(body)
    assert field == 'sriov[0].num_vfs' and 'destroys its 2 VFs' in msg and 'nothing was changed' in msg
    assert 'Apply this count change on its own first' in msg and 'ip link set uplink up' in msg
    # alone: the .link file first, then the count change
    assert actions[0].startswith('write ') and actions[0].endswith('.link') and 'echo 1 >' in actions[1]
    assert count == '1'


def test_a_reduction_of_the_vf_count_is_refused_with_vf_settings_of_its_own_pf():
    """The VF settings of the same PF cannot follow the reduction either: a refused setting would need
    the destroyed VFs back. Refused before anything changes, naming hostnet.vif.sriov for the count."""
    def body(host):
        network, udev = _prepare(host)
        entry = {'pf': 'pfemu0', 'num_vfs': 1, 'allow_reset': True, 'vfs': [{'vf': 0, 'trust': True}]}
        before = _snapshot(host, network, udev)
        error = _refused({'sriov': [entry], 'persist': 'systemd-networkd', 'persist_dir': network})
        return error.msg, error.field, _settled(before, host, network, udev)
    msg, field, changed = emulated_host(body)
    assert changed == {}, _explain(changed)
    assert field == 'sriov[0].num_vfs' and 'hostnet.vif.sriov' in msg and 'vf 0' in msg, msg


def test_errors_name_the_profile_entry_and_field_and_change_nothing(switched, tmp_path):
    host, _switch = switched
    sh('ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge')
    before = sh('ip', '-n', host, '-j', '-d', 'link', 'show').stdout
    cases = [
        ({'macvtap': [{'name': 'vm0', 'lower': 'uplink'}, {'name': 'vm1', 'lower': 'uplink'},
                      {'name': 'vm2', 'lower': 'uplink', 'device_mode': 'rw'}]}, 'macvtap[2].device_mode'),
        ({'taps': [{'name': '!x', 'bridge': 'br0'}]}, 'taps[0].name'),
        ({'macvlan': [{'name': 'ok0', 'lower': 'upl*nk'}]}, 'macvlan[0].lower'),
        ({'macvtap': [{'name': 'vm[0]', 'lower': 'uplink'}]}, 'macvtap[0].name'),
        ({'macvlan': [{'name': 'ok0', 'lower': 'nosuch'}]}, 'macvlan[0].lower'),
        ({'hairpin': ['uplink']}, 'hairpin[0].name'),
    ]
    for spec, field in cases:
        params = dict(spec, netns=host, persist='systemd-networkd', persist_dir=str(tmp_path / 'n'),
                      udev_dir=str(tmp_path / 'u'))
        error = _refused(params)
        assert error.field == field and error.msg.startswith(field), (field, error.msg)
    assert sh('ip', '-n', host, '-j', '-d', 'link', 'show').stdout == before
    assert os.listdir(tmp_path) == []


def test_unquoted_0660_gives_mode_0660_and_the_rule_of_tap7_never_touches_another_macvtaps_node(switched, tmp_path):
    """device_mode 432 (YAML's reading of an unquoted 0660) is written MODE="0660", and udev gives
    the node 0660. The rule of a macvtap named tap7 matches its own device, not the /dev/tap7 of
    another macvtap whose ifindex is 7."""
    assert os.access(UDEVADM, os.X_OK), 'udevadm is missing: scripts/setup unpacks it (%s)' % UDEVADM
    host, _switch = switched
    udev = tmp_path / 'udev'
    pipeline.run_profile({'netns': host, 'macvtap': [{'name': 'tap7', 'lower': 'uplink', 'owner': 'nobody',
                                                      'device_mode': 432}],
                          'persist': 'systemd-networkd', 'persist_dir': str(tmp_path / 'network'),
                          'udev_dir': str(udev)})
    rules = (udev / '70-hostnet-vif-macvtap.rules').read_text()
    assert 'SUBSYSTEM=="macvtap", SUBSYSTEMS=="net", KERNELS=="tap7", OWNER="nobody", MODE="0660"' in rules
    assert '432' not in rules
    sh('ip', '-n', host, 'link', 'add', 'link', 'uplink', 'name', 'othervm', 'index', '7', 'type', 'macvtap')
    assert udev_gives(host, udev, 'tap7') == ('nobody', '660')
    assert udev_gives(host, udev, 'othervm') == ('root', '600')


def test_networkd_rebuilds_the_links_from_the_files_the_module_wrote(switched, tmp_path):
    """The module's files alone, read by systemd-networkd in a fresh namespace (a reboot), give
    the links the module made (test_persist_systemd.py's sandbox)."""
    from conftest import del_netns, new_netns
    host, _switch = switched
    sh('ip', '-n', host, 'link', 'add', 'br0', 'type', 'bridge')
    persist_dir = tmp_path / 'network'
    persist_dir.mkdir()
    (persist_dir / '60-br0.netdev').write_text(USER_BRIDGE)
    result = pipeline.run_profile(dict(NETWORKD_SPEC, netns=host, persist='systemd-networkd',
                                       persist_dir=str(persist_dir), udev_dir=str(tmp_path / 'udev')))
    assert result['changed'] and 'warnings' not in result
    applied = view(host)
    assert all(applied.values()), applied
    rebooted = new_netns('r')
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
                           for name in NETWORKD_NAMES if rebuilt[name] != applied[name])
        assert differences == {}, json.dumps(differences, indent=1) + '\nnetworkd said:\n' + log[-3000:]
    finally:
        del_netns(rebooted)


def test_absent_entries_take_their_files_and_purge_takes_the_unlisted_ones(switched, tmp_path):
    host, _switch = switched
    network = tmp_path / 'network'
    common = dict(netns=host, persist='systemd-networkd', persist_dir=str(network), udev_dir=str(tmp_path / 'u'))
    pipeline.run_profile(dict(common, macvlan=[{'name': 'a0', 'lower': 'uplink'}, {'name': 'b0', 'lower': 'uplink'}]))
    assert sorted(os.listdir(network)) == ['70-hostnet-vif-a0.netdev', '70-hostnet-vif-a0.network',
                                           '70-hostnet-vif-b0.netdev', '70-hostnet-vif-b0.network',
                                           '70-hostnet-vif-uplink.network']
    gone = pipeline.run_profile(dict(common, macvlan=[{'name': 'a0', 'state': 'absent'},
                                                      {'name': 'b0', 'lower': 'uplink'}]), diff=True)
    assert 'rm %s' % (network / '70-hostnet-vif-a0.netdev') in gone['actions']
    assert sorted(os.listdir(network)) == ['70-hostnet-vif-b0.netdev', '70-hostnet-vif-b0.network',
                                           '70-hostnet-vif-uplink.network']
    (network / '70-hostnet-vif-stale.network').write_text('[Match]\nName=stale\n')
    pipeline.run_profile(dict(common, purge=True, macvlan=[{'name': 'b0', 'lower': 'uplink'}]))
    assert sorted(os.listdir(network)) == ['70-hostnet-vif-b0.netdev', '70-hostnet-vif-b0.network',
                                           '70-hostnet-vif-uplink.network']


def test_the_module_runs_through_ansible_as_one_task(switched, tmp_path):
    """hostnet.vif.profile as a real module (AnsibleModule wiring, fail_json on a bad entry)."""
    host, _switch = switched
    play = tmp_path / 'play.yml'
    play.write_text(json.dumps([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'hostnet.vif.profile': {'netns': host, 'lowers_up': ['uplink'],
                                 'macvlan': [{'name': 'mv0', 'lower': 'uplink', 'mode': 'bridge'}]},
         'register': 'out'},
        {'ansible.builtin.assert': {'that': ['out.changed', "out.macvlan[0].name == 'mv0'"]}},
        {'hostnet.vif.profile': {'netns': host, 'macvlan': [{'name': 'mv*', 'lower': 'uplink'}]},
         'register': 'bad', 'ignore_errors': True},
        {'ansible.builtin.assert': {'that': ["bad.failed", "bad.field == 'macvlan[0].name'"]}},
    ]}]))
    import sys
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           '-c', 'local', '-e', 'ansible_python_interpreter=%s' % sys.executable, str(play)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_kinds_on_vfs_the_profile_creates_are_planned_once_they_exist():
    """Check mode cannot know the interface names of VFs that do not exist yet: a kind that sits on
    them is listed in ``unpredicted`` instead of refused. Applied, it is checked once the VFs exist;
    here VF 1's interface never appears (its stand-in is removed), so the run fails naming the entry
    and the VF count it had raised goes back to 0."""
    def body(host):
        sh('ip', 'link', 'del', 'pfemu0v1')
        params = {'sriov': [{'pf': 'pfemu0', 'num_vfs': 2}], 'lowers_up': ['pfemu0v0', 'pfemu0v1']}
        predicted = pipeline.run_profile(dict(params), check_mode=True)
        count_after_check = host.sysfs('sriov_numvfs')
        error = _refused(dict(params))
        return predicted, count_after_check, error.msg, error.field, host.sysfs('sriov_numvfs')
    predicted, count_after_check, msg, field, count = emulated_host(body)
    assert predicted['changed'] and count_after_check == '0'
    assert predicted['unpredicted'] and predicted['unpredicted'][0].startswith('lowers_up: planned once the VFs')
    assert field == 'lowers_up[1].name' and 'pfemu0v1' in msg and 'no such device' in msg, msg
    assert 'everything this profile had changed was undone (1 action)' in msg and count == '0'


def test_a_lower_the_profile_brings_up_gets_its_relay_verdict_once_the_switch_port_forwards(switched):
    """The profile brings the uplink up and then checks that the switch reflects. A switch port does not
    forward the moment the link comes up (here a Linux bridge with STP: listening and learning for 2 x 2 s;
    Linux itself batches carrier events), so a probe sent at once loses every frame of a reflection that
    is there. The verdict waits for the port, and a run whose lower was already up does not wait."""
    host, switch = switched
    sh('ip', '-n', switch, 'link', 'set', 'swp', 'type', 'bridge_slave', 'hairpin', 'on')
    sh('ip', '-n', switch, 'link', 'set', 'sw0', 'type', 'bridge', 'forward_delay', '200', 'stp_state', '1')
    sh('ip', '-n', host, 'link', 'set', 'uplink', 'down')
    time.sleep(0.5)  # the port saw its carrier go: it starts from listening when it comes back
    params = {'netns': host, 'lowers_up': ['uplink'], 'macvlan': [{'name': 'vepa0', 'lower': 'uplink', 'mode': 'vepa'}],
              'reflective_relay': [{'name': 'uplink', 'expect': 'required', 'method': 'probe'}]}
    start = time.monotonic()
    done = pipeline.run_profile(params)
    took = time.monotonic() - start
    assert done['reflective_relay'][0]['reflective_relay'] is True and done['changed']
    assert took < 9, took
    start = time.monotonic()
    again = pipeline.run_profile(params)
    assert not again['changed'] and time.monotonic() - start < 3
