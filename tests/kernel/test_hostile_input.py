"""Hostile input against the real kernel (issue 15): each value is refused before anything changes,
and the kernel objects it would have hit are read back untouched with iproute2.

Everything happens in hvt- namespaces from conftest; the namespace-file checks run in a child with a
private mount namespace and a tmpfs over /run/netns, so nothing of the machine's /run/netns changes."""

import json
import os
import subprocess
import sys
import time

import pytest
from conftest import REPO, links, sh, snapshot

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def refused(func, *args):
    with pytest.raises(VifError) as err:
        func(*args)
    return err.value


def settled(ns):
    """snapshot(ns) once the fixture's veth pair shows its carrier: linkwatch sets LOWER_UP a moment
    after the ends come up, which would otherwise look like a change made by the module."""
    for _attempt in range(200):
        state = snapshot(ns)
        if all('LOWER_UP' in state[end]['flags'] for end in ('v0', 'v1')):
            return state
        time.sleep(0.025)
    raise AssertionError('the veth pair of %s never showed its carrier' % ns)


def tap_state(ns, name):
    """Owner, flags and state of a tap as the kernel reports them."""
    link = links(ns)[name]
    data = link['linkinfo']['info_data']
    return {'ifindex': link['ifindex'], 'flags': sorted(link['flags']), 'operstate': link.get('operstate'),
            'user': data.get('user'), 'group': data.get('group'), 'vnet_hdr': data.get('vnet_hdr'),
            'pi': data.get('pi'), 'multi_queue': data.get('multi_queue'), 'persist': data.get('persist')}


# -- point 1: a NUL in a name ------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['vnet0\x00x', 'vnet0\x00', 'vnet0\n', 'vnet*'])
def test_a_name_the_kernel_would_cut_never_reaches_the_idle_tap_it_names(ns, writes, name):
    """vnet0 is an idle VM's tap (owner nobody, vnet_hdr on, down). Before the fix, 'vnet0\\0x' was
    planned as new, the create attached to vnet0 (owner root, vnet_hdr off, up), and the undo then
    deleted vnet0. Now: refused naming the field, no write sent, vnet0 exactly as it was."""
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'vnet0', 'mode', 'tap', 'user', '65534', 'group', '65534',
       'vnet_hdr')
    everything = settled(ns)
    before = tap_state(ns, 'vnet0')
    assert before['user'] == 'nobody' and before['vnet_hdr'] is True and 'UP' not in before['flags']
    err = refused(pipeline.run_taps, {'netns': ns, 'taps': [{'name': name, 'owner': '0', 'vnet_hdr': False}]})
    assert err.field == 'taps[0].name' and err.value == name and 'printable ASCII' in err.msg
    assert writes == []
    assert tap_state(ns, 'vnet0') == before and settled(ns) == everything


def test_a_nul_in_a_lower_of_an_absent_link_is_refused_and_the_link_stays(ns, writes):
    """Point 6: an absent entry's lower was not validated at all."""
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'mv0', 'type', 'macvlan', 'mode', 'bridge')
    before = settled(ns)
    err = refused(pipeline.run_links, {'netns': ns, 'links': [{'name': 'mv0', 'state': 'absent',
                                                               'lower': 'v0\x00junk'}]}, 'macvlan')
    assert err.field == 'lower' and writes == [] and settled(ns) == before


# -- point 3: netns must name a network namespace under /run/netns -----------------------------------

@pytest.mark.parametrize('netns', ['/proc/1/ns/net', '/proc/self/ns/net', 'a/b', '..', '../netns', 'n\u00e9',
                                   'ns\x00'])
def test_a_path_or_odd_netns_is_refused_before_any_session(ns, writes, netns):
    before = settled(ns)
    err = refused(pipeline.run_links, {'netns': netns, 'name': 'mv9', 'lower': 'v0'}, 'macvlan')
    assert err.field == 'netns' and err.value == netns and writes == []
    assert settled(ns) == before


_NSFILES = r'''
import json, os, subprocess, sys
from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kernel
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

def mount(*args):
    subprocess.run(['mount'] + list(args), check=True)

mount('-t', 'tmpfs', 'hvt-netns', '/run/netns')   # this private mount namespace only
pid = os.getpid()
open('/run/netns/hvt-plain', 'w').close()
os.mkfifo('/run/netns/hvt-fifo')
os.mkdir('/run/netns/hvt-dir')
os.symlink('/proc/%d/ns/net' % pid, '/run/netns/hvt-link')
for name, nstype in (('hvt-uts', 'uts'), ('hvt-ipc', 'ipc'), ('hvt-real', 'net')):
    open('/run/netns/' + name, 'w').close()
    mount('--bind', '/proc/%d/ns/%s' % (pid, nstype), '/run/netns/' + name)
out = {}
for name in sys.argv[1:]:
    try:
        kernel.check_netns(name)
        out[name] = 'ok'
    except VifError as exc:
        out[name] = exc.field + ': ' + exc.msg
print(json.dumps(out))
'''


def test_only_a_network_namespace_file_is_accepted_as_netns():
    """Point 3: /run/netns/<name> must be a mounted network namespace: the ioctl NS_GET_NSTYPE on a
    file opened without following symlinks answers CLONE_NEWNET. Checked in a private mount namespace."""
    names = ['hvt-real', 'hvt-plain', 'hvt-fifo', 'hvt-dir', 'hvt-link', 'hvt-uts', 'hvt-ipc', 'hvt-missing']
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, '.venv', 'collections'))
    done = subprocess.run(['unshare', '-m', '--propagation', 'private', sys.executable, '-c', _NSFILES] + names,
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found['hvt-real'] == 'ok'
    for name in ('hvt-plain', 'hvt-fifo', 'hvt-dir'):
        assert found[name].startswith('netns: ') and 'not a network namespace' in found[name], name
    assert 'symbolic link' in found['hvt-link']
    assert 'another type' in found['hvt-uts'] and 'another type' in found['hvt-ipc']
    assert 'does not exist' in found['hvt-missing']


# -- point 7: a PCI function that is no network device ---------------------------------------------

def test_allow_reset_never_zeroes_the_vfs_of_a_non_network_pci_function(ns, tmp_path, monkeypatch):
    """A stand-in for sysfs in a temporary directory (no SR-IOV hardware here, and the FUSE emulator
    models a network PF): an NVMe controller (class 0x010802) with 2 VFs, asked by PCI address with
    allow_reset. Before the fix the module wrote 0 to its sriov_numvfs."""
    device = tmp_path / 'bus' / 'pci' / 'devices' / '0000:05:00.0'
    device.mkdir(parents=True)
    for name, text in (('class', '0x010802\n'), ('sriov_totalvfs', '8\n'), ('sriov_numvfs', '2\n'),
                       ('sriov_drivers_autoprobe', '1\n')):
        (device / name).write_text(text)
    monkeypatch.setattr(kern, 'in_sysfs', lambda netns, func, *args: func(str(tmp_path), *args))
    err = refused(pipeline.run_sriov, {'netns': ns, 'pf': '0000:05:00.0', 'num_vfs': 0, 'allow_reset': True})
    assert err.field == 'pf' and 'not a network device' in err.msg and '0x010802' in err.msg
    assert (device / 'sriov_numvfs').read_text() == '2\n'


# -- point 8: numbers that die in the ioctl or overflow --------------------------------------------

@pytest.mark.parametrize('owner', ['4294967295', '99999999999', '\u0661\u0660\u0660\u0660', '\u00b2', 'root\x00',
                                   ' 0'])
def test_owner_out_of_range_or_not_ascii_is_refused_before_any_tap_or_macvtap(ns, writes, owner):
    before = settled(ns)
    err = refused(pipeline.run_taps, {'netns': ns, 'name': 'vt0', 'owner': owner})
    assert err.field == 'owner' and err.value == owner
    err = refused(pipeline.run_links, {'netns': ns, 'links': [{'name': 'mt0', 'lower': 'v0', 'owner': owner}]},
                  'macvtap')
    assert err.field == 'owner' and err.value == owner
    assert writes == [] and settled(ns) == before


# -- point 12: the right culprit, and a MAC the kernel would refuse with EADDRINUSE ------------------

def test_the_passthru_link_asked_for_is_named_and_nothing_is_created(ns, writes):
    before = settled(ns)
    err = refused(pipeline.run_links, {'netns': ns, 'lower': 'v0', 'links': [
        {'name': 'mx1'}, {'name': 'mx2'}, {'name': 'mx3', 'mode': 'passthru'}]}, 'macvlan')
    assert err.obj == 'mx3' and err.msg.startswith('mx3: ') and writes == [] and settled(ns) == before


def test_a_mac_in_use_on_the_lower_is_refused_naming_both_links_as_the_kernel_would(ns, writes):
    mac = '02:00:5e:00:07:01'
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'old0', 'address', mac, 'type', 'macvtap')
    sh('ip', '-n', ns, 'link', 'set', 'old0', 'up')
    # the oracle: the kernel takes a second link with that MAC on v0, or with v0's own, but refuses to
    # bring it up (EADDRINUSE), which is where a module run failed and undid everything
    own = links(ns)['v0']['address']
    for name, address in (('probe0', mac), ('probe1', own)):
        sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', name, 'address', address, 'type', 'macvlan')
        kernel_says = sh('ip', '-n', ns, 'link', 'set', name, 'up', check=False)
        assert kernel_says.returncode != 0 and 'in use' in kernel_says.stderr
        sh('ip', '-n', ns, 'link', 'del', name)
    before = settled(ns)
    err = refused(pipeline.run_links, {'netns': ns, 'name': 'new0', 'lower': 'v0', 'mac': mac.upper()}, 'macvlan')
    assert (err.field, err.obj) == ('mac', 'new0') and 'existing macvtap old0' in err.msg
    err = refused(pipeline.run_links, {'netns': ns, 'lower': 'v0', 'links': [
        {'name': 'new1', 'mac': '02:00:5e:00:07:02'}, {'name': 'new2', 'mac': '02:00:5e:00:07:02'}]}, 'macvlan')
    assert (err.field, err.obj) == ('mac', 'new2') and 'new1' in err.msg
    err = refused(pipeline.run_links, {'netns': ns, 'name': 'new3', 'lower': 'v0', 'mac': own}, 'macvlan')
    assert 'lower device v0 itself' in err.msg
    assert writes == [] and settled(ns) == before
    # ... but the same MAC on another lower device, or on a link that stays down, is the kernel's to take
    result = pipeline.run_links({'netns': ns, 'links': [{'name': 'new4', 'lower': 'v1', 'mac': mac},
                                                        {'name': 'new5', 'lower': 'v0', 'mac': mac,
                                                         'admin_state': 'down'}]}, 'macvlan')
    assert result['changed'] and links(ns)['new4']['address'] == mac == links(ns)['new5']['address']
