"""hostnet.vif.sriov on a REAL SR-IOV kernel driver: Debian's igb/igbvf driving QEMU's Intel 82576
emulation, inside the guest that scripts/qemu-sriov boots (never on the host: these tests need the
igb PF and refuse to run without it). Also checks that the kernel's own answers for sriov_numvfs
are the ones the emulator of tests/kernel gives."""

import errno
import os
import shutil
import subprocess
import sys
import time

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'kernel'))
from sriov_emulator import PfFilesystem  # noqa: E402

PF = 'eth0'
DEVICE = '/sys/class/net/%s/device' % PF
# udevadm 252, unpacked by scripts/setup into the environment (the guest sees it over 9p)
UDEVADM = os.environ.get('HOSTNET_UDEVADM') or os.path.join(sys.prefix, 'udev', 'bin', 'udevadm')


@pytest.fixture(autouse=True)
def igb_pf():
    """Every test starts and ends with the PF at 0 VFs."""
    with open(DEVICE + '/sriov_totalvfs') as handle:
        assert handle.read().strip() == '7', 'not the igb guest of scripts/qemu-sriov'
    _write('sriov_numvfs', 0)
    yield
    _write('sriov_numvfs', 0)


def _write(name, value):
    fd = os.open(os.path.join(DEVICE, name), os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


def _errno_of(name, value):
    try:
        _write(name, value)
    except OSError as exc:
        return exc.errno
    return 0


def test_the_kernels_sriov_numvfs_rules_are_the_emulators():
    sequence = [99, 'x', 2, 2, 3, 0, 3]
    emulated = PfFilesystem('pf', totalvfs=7)
    for value in sequence:
        try:
            emulated.store('sriov_numvfs', str(value))
            expected = 0
        except OSError as exc:
            expected = exc.errno
        assert _errno_of('sriov_numvfs', value) == expected, value
    assert [_errno_of('sriov_numvfs', v) for v in (99, 'x', 4)] == [errno.ERANGE, errno.EINVAL, errno.EBUSY]


def test_counts_wait_for_igbvf_netdevs_and_the_reset_rule():
    result = pipeline.run_sriov({'pf': PF, 'num_vfs': 2})
    vfs = result['pfs'][0]['vfs']
    assert [(vf['vf'], vf['driver']) for vf in vfs] == [(0, 'igbvf'), (1, 'igbvf')]
    assert all(vf['netdevs'] and os.path.isdir('/sys/class/net/' + vf['netdevs'][0]) for vf in vfs)
    assert pipeline.run_sriov({'pf': PF, 'num_vfs': 2})['changed'] is False
    with pytest.raises(VifError) as err:
        pipeline.run_sriov({'pf': PF, 'num_vfs': 3})
    assert 'destroys all 2 VFs' in err.value.msg and 'igbvf' in err.value.msg
    result = pipeline.run_sriov({'pf': PF, 'num_vfs': 3, 'allow_reset': True})
    assert result['pfs'][0]['numvfs'] == 3 and len(result['pfs'][0]['vfs']) == 3


def test_per_vf_settings_over_netlink_read_back_and_what_igb_refuses():
    subprocess.run(['ip', 'link', 'set', PF, 'up'], check=True)
    pipeline.run_sriov({'pf': PF, 'num_vfs': 2})
    # igb takes a rate only while the PF has link (EINVAL otherwise); enabling VFs resets the PF
    deadline = time.monotonic() + 30
    while _read('/sys/class/net/%s/carrier' % PF) != '1' and time.monotonic() < deadline:
        time.sleep(0.1)
    vfs = [{'vf': 0, 'mac': '02:00:5e:00:20:00', 'vlan': 100, 'qos': 3, 'spoofchk': False, 'trust': True,
            'max_tx_rate': 100},
           {'vf': 1, 'mac': '02:00:5e:00:20:01'}]
    result = pipeline.run_sriov({'pf': PF, 'vfs': vfs})
    got = dict((vf['vf'], vf) for vf in result['pfs'][0]['vfs'])
    assert (got[0]['mac'], got[0]['vlan'], got[0]['qos'], got[0]['spoofchk'], got[0]['trust'],
            got[0]['max_tx_rate']) == ('02:00:5e:00:20:00', 100, 3, False, True, 100)
    assert got[1]['mac'] == '02:00:5e:00:20:01'
    assert pipeline.run_sriov({'pf': PF, 'vfs': vfs})['changed'] is False
    # igb does not implement link state: the refusal is clear and VF 0's change before it is undone
    before = pipeline.run_info({'kinds': ['sriov']})['vif']['sriov'][0]['vfs']
    with pytest.raises(VifError) as err:
        pipeline.run_sriov({'pf': PF, 'vfs': [{'vf': 0, 'vlan': 200}, {'vf': 1, 'link_state': 'enable'}]})
    assert 'vf 1 link_state enable failed' in err.value.msg and 'EOPNOTSUPP' in err.value.msg
    assert pipeline.run_info({'kinds': ['sriov']})['vif']['sriov'][0]['vfs'] == before
    # igb has no minimum rate: EINVAL, in words
    with pytest.raises(VifError) as err:
        pipeline.run_sriov({'pf': PF, 'vfs': [{'vf': 1, 'min_tx_rate': 10, 'max_tx_rate': 100}]})
    assert "the PF's driver refused the value" in err.value.msg and '(EINVAL)' in err.value.msg
    assert pipeline.run_info({'kinds': ['sriov']})['vif']['sriov'][0]['vfs'] == before


def test_macvtap_passthru_on_a_vf_and_the_in_use_report():
    result = pipeline.run_sriov({'pf': PF, 'num_vfs': 1})
    vf_netdev = result['pfs'][0]['vfs'][0]['netdevs'][0]
    deadline = time.monotonic() + 10
    while not os.path.exists('/sys/class/net/' + vf_netdev) and time.monotonic() < deadline:
        time.sleep(0.05)
    link = pipeline.run_links({'name': 'vm0tap', 'lower': vf_netdev, 'mode': 'passthru'}, 'macvtap')['links'][0]
    assert link['mode'] == 'passthru' and link['lower'] == vf_netdev and link['device']['path']
    with pytest.raises(VifError) as err:
        pipeline.run_sriov({'pf': PF, 'num_vfs': 2})
    assert '%s carries vm0tap' % vf_netdev in err.value.msg
    pipeline.run_links({'name': 'vm0tap', 'lower': vf_netdev, 'state': 'absent'}, 'macvtap')


def test_a_pf_in_a_named_network_namespace():
    """sysfs shows a namespace's own devices: with netns, the module reads and writes the PF's
    attributes through a sysfs mounted inside that namespace."""
    subprocess.run(['ip', 'netns', 'add', 'hvq-pf'], check=True)
    try:
        subprocess.run(['ip', 'link', 'set', PF, 'netns', 'hvq-pf'], check=True)
        with pytest.raises(VifError) as err:
            pipeline.run_sriov({'pf': PF, 'num_vfs': 1})
        assert 'no such network device in this namespace' in err.value.msg
        result = pipeline.run_sriov({'pf': PF, 'num_vfs': 2, 'netns': 'hvq-pf'})
        assert result['pfs'][0]['numvfs'] == 2 and result['pfs'][0]['netns'] == 'hvq-pf'
        assert [vf['driver'] for vf in result['pfs'][0]['vfs']] == ['igbvf', 'igbvf']
        assert pipeline.run_sriov({'pf': PF, 'num_vfs': 2, 'netns': 'hvq-pf'})['changed'] is False
        pipeline.run_sriov({'pf': PF, 'num_vfs': 0, 'netns': 'hvq-pf'})
    finally:
        subprocess.run(['ip', '-n', 'hvq-pf', 'link', 'set', PF, 'netns', '1'], check=False)
        subprocess.run(['ip', 'netns', 'del', 'hvq-pf'], check=False)


def test_udev_applies_the_persisted_link_file_as_at_boot():
    """persist: systemd-networkd writes a .link file; udev itself - the net_setup_link builtin, run
    by Debian's 80-net-setup-link.rules for the PF's add event (`udevadm test`, which applies it) -
    must bring back the VF count and the per-VF settings once they are gone, as at boot."""
    subprocess.run(['ip', 'link', 'set', PF, 'up'], check=True)
    vfs = [{'vf': 0, 'mac': '02:00:5e:00:30:00', 'vlan': 42, 'qos': 3, 'spoofchk': False, 'trust': True},
           {'vf': 1, 'mac': '02:00:5e:00:30:01'}]
    os.makedirs('/run/udev/rules.d', exist_ok=True)
    rules = '/run/udev/rules.d/80-net-setup-link.rules'
    shutil.copy(os.path.join(os.path.dirname(os.path.dirname(UDEVADM)), 'lib', 'udev', 'rules.d',
                             '80-net-setup-link.rules'), rules)
    result = pipeline.run_sriov({'pf': PF, 'num_vfs': 2, 'vfs': vfs, 'persist': 'systemd-networkd',
                                 'persist_dir': '/run/systemd/network'})
    link_file = result['persisted'][0]['path']
    fields = ('vf', 'mac', 'vlan', 'qos', 'spoofchk', 'trust')

    def settings():
        return [dict((k, vf.get(k)) for k in fields)
                for vf in pipeline.run_info({'kinds': ['sriov']})['vif']['sriov'][0]['vfs']]
    applied = settings()
    assert [vf['mac'] for vf in applied] == ['02:00:5e:00:30:00', '02:00:5e:00:30:01']
    try:
        _write('sriov_numvfs', 0)  # the reboot: no VFs, no settings
        assert settings() == []
        done = subprocess.run([UDEVADM, 'test', '--action=add', '/sys/class/net/' + PF], capture_output=True,
                              text=True, check=False)
        assert 'Config file %s is applied' % link_file in done.stderr + done.stdout, done.stderr + done.stdout
        deadline = time.monotonic() + 30
        while _read(DEVICE + '/sriov_numvfs') != '2' and time.monotonic() < deadline:
            time.sleep(0.1)
        assert settings() == applied
    finally:
        os.unlink(rules)
        os.unlink(link_file)
