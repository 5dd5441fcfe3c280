"""hostnet.vif.sriov ON THE SR-IOV EMULATOR (tests/kernel/sriov_emulator.py): a FUSE file system
that follows the kernel's sriov_numvfs rules, mounted over a stand-in PF's sysfs directory in a
private mount and network namespace, and per-VF netlink answered as a PF driver would. No test
here proves anything about a real driver; they prove the module against the kernel's documented
rules, through the same paths (/sys/class/net/<pf>/device, /sys/bus/pci/devices/<address>)."""

import os
import subprocess

from sriov_emulator import PCI_PF, emulated_host

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def record_writes():
    """Every write the module sends (sysfs and per-VF netlink), recorded in the emulated host."""
    calls = []
    for name in ('write_sriov', 'set_vf'):
        original = getattr(kern.Kernel, name)

        def spy(self, what, *args, _original=original, **kwargs):
            calls.append(what)
            return _original(self, what, *args, **kwargs)
        setattr(kern.Kernel, name, spy)
    return calls


def refusal(params, **kwargs):
    try:
        pipeline.run_sriov(params, **kwargs)
    except VifError as exc:
        return {'msg': exc.msg, 'field': exc.field, 'value': exc.value}
    raise AssertionError('not refused: %r' % params)


def test_emulator_count_waits_for_vfs_and_drivers_then_second_run_writes_nothing():
    """On the emulator, VFs appear 0.3 s after the write and drivers bind 0.2 s later: the module
    waits for both, returns the VFs with their netdevs, and a second run writes nothing."""
    def body(host):
        writes = record_writes()
        first = pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 3})
        vfs = [(vf['vf'], vf['driver'], vf['netdevs']) for vf in first['pfs'][0]['vfs']]
        assert vfs == [(0, 'igbvf', ['pfemu0v0']), (1, 'igbvf', ['pfemu0v1']), (2, 'igbvf', ['pfemu0v2'])]
        assert host.sysfs('sriov_numvfs') == '3' and first['changed'] is True
        del writes[:]
        again = pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 3})
        assert again['changed'] is False and again['actions'] == [] and writes == []
        return True
    assert emulated_host(body, delay=0.3, bind_delay=0.2)


def test_emulator_per_vf_settings_change_only_what_differs_and_read_back():
    def body(host):
        pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 2})
        vfs = [{'vf': 0, 'mac': '02:00:5e:00:10:00', 'vlan': 100, 'qos': 3, 'spoofchk': False, 'trust': True,
                'link_state': 'disable', 'min_tx_rate': 10, 'max_tx_rate': 100},
               {'vf': 1, 'vlan': 200, 'vlan_proto': '802.1ad'}]
        result = pipeline.run_sriov({'pf': 'pfemu0', 'vfs': vfs})
        got = dict((vf['vf'], vf) for vf in result['pfs'][0]['vfs'])
        assert (got[0]['mac'], got[0]['vlan'], got[0]['qos'], got[0]['spoofchk'], got[0]['trust'],
                got[0]['link_state'], got[0]['min_tx_rate'], got[0]['max_tx_rate']) == (
            '02:00:5e:00:10:00', 100, 3, False, True, 'disable', 10, 100)
        assert (got[1]['vlan'], got[1]['vlan_proto'], got[1]['mac']) == (200, '802.1ad', '00:00:00:00:00:00')
        writes = record_writes()
        again = pipeline.run_sriov({'pf': 'pfemu0', 'vfs': [dict(vfs[0], trust=False)]})
        assert writes == again['actions'] == ['ip link set pfemu0 vf 0 trust off']
        return True
    assert emulated_host(body)


def test_emulator_check_mode_and_diff_tell_the_truth_about_a_reset():
    def body(host):
        pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 3, 'vfs': [{'vf': 0, 'vlan': 7}]})
        params = {'pf': 'pfemu0', 'num_vfs': 5, 'allow_reset': True, 'vfs': [{'vf': 4, 'trust': True}]}
        writes = record_writes()
        predicted = pipeline.run_sriov(params, check_mode=True, diff=True)
        assert writes == [] and host.sysfs('sriov_numvfs') == '3' and host.netlink.get()[0]['vlan'] == 7
        assert 'destroys 3 VFs' in predicted['actions'][0]
        assert 'would destroy all 3 existing VFs first' in predicted['diff']['after']
        real = pipeline.run_sriov(params, diff=True)
        assert real['actions'] == predicted['actions'] and real['diff'] == predicted['diff']
        assert host.sysfs('sriov_numvfs') == '5' and host.netlink.get()[0]['vlan'] == 0  # destroyed and remade
        assert host.netlink.get()[4]['trust'] is True
        return True
    assert emulated_host(body)


def test_emulator_reset_is_refused_with_the_vfs_in_use_named():
    """On the emulator: VF 0's netdev is up with an address, VF 1 is bound to vfio-pci, VF 2's netdev
    carries a macvtap; 3 -> 5 without allow_reset is refused naming each, and nothing changes."""
    def body(host):
        pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 3})
        subprocess.run(['ip', 'addr', 'add', '192.0.2.10/24', 'dev', 'pfemu0v0'], check=True)
        subprocess.run(['ip', 'link', 'set', 'pfemu0v0', 'up'], check=True)
        subprocess.run(['ip', 'link', 'add', 'link', 'pfemu0v2', 'name', 'mt0', 'type', 'macvtap', 'mode', 'passthru'],
                       check=True)
        writes = record_writes()
        refused = refusal({'pf': 'pfemu0', 'num_vfs': 5})
        assert writes == [] and host.sysfs('sriov_numvfs') == '3'
        assert refused['field'] == 'num_vfs' and 'destroys all 3 VFs' in refused['msg']
        assert 'pfemu0v0 is up with addresses' in refused['msg']
        assert 'bound to vfio-pci' in refused['msg'] and 'pfemu0v2 carries mt0' in refused['msg']
        assert 'allow_reset: true' in refused['msg']
        return True
    assert emulated_host(body, vf_drivers={1: 'vfio-pci'})


def test_emulator_rollback_restores_earlier_vfs_when_vf_k_fails():
    """The driver (emulated) refuses link_state: VF 2's change fails after VFs 0 and 1 were set;
    their previous settings come back."""
    def body(host):
        pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 3, 'vfs': [{'vf': 0, 'vlan': 5}, {'vf': 1, 'trust': True}]})
        before = host.netlink.get()
        refused = refusal({'pf': 'pfemu0', 'vfs': [{'vf': 0, 'vlan': 6, 'mac': '02:00:5e:00:10:09'},
                                                   {'vf': 1, 'trust': False}, {'vf': 2, 'link_state': 'enable'}]})
        assert 'does not implement this per-VF setting (EOPNOTSUPP)' in refused['msg']
        assert 'was undone' in refused['msg']
        assert host.netlink.get() == before
        return True
    assert emulated_host(body, refuse=('link_state',))


def test_emulator_rollback_of_a_count_change_goes_back_to_the_old_count():
    def body(host):
        refused = refusal({'pf': 'pfemu0', 'num_vfs': 4, 'vfs': [{'vf': 3, 'link_state': 'enable'}]})
        assert 'EOPNOTSUPP' in refused['msg'] and host.sysfs('sriov_numvfs') == '0'
        return True
    assert emulated_host(body, refuse=('link_state',))


def test_emulator_vfs_that_do_not_appear_in_time_fail_and_are_undone():
    def body(host):
        refused = refusal({'pf': 'pfemu0', 'num_vfs': 2, 'wait_timeout': 0.2})
        assert refused['field'] == 'wait_timeout' and 'after 0.2 s 0 VFs exist' in refused['msg']
        assert host.sysfs('sriov_numvfs') == '0'
        return True
    assert emulated_host(body, delay=1.0)


def test_emulator_pf_by_pci_address_and_vif_info_view():
    def body(host):
        result = pipeline.run_sriov({'pf': PCI_PF, 'num_vfs': 2, 'drivers_autoprobe': False})
        assert result['pfs'][0]['name'] == 'pfemu0' and host.sysfs('sriov_drivers_autoprobe') == '0'
        assert [vf['driver'] for vf in result['pfs'][0]['vfs']] == [None, None]  # autoprobe off: none bound
        vif = pipeline.run_info({'kinds': ['sriov']})['vif']
        [pf] = vif['sriov']
        assert (pf['name'], pf['pci_address'], pf['totalvfs'], pf['numvfs']) == ('pfemu0', PCI_PF, 7, 2)
        assert [(vf['vf'], vf['pci_address'], vf['vlan']) for vf in pf['vfs']] == [
            (0, '0000:03:10.0', 0), (1, '0000:03:10.1', 0)]
        return True
    assert emulated_host(body)


BAD = [
    ({'pf': 'pfemu0', 'num_vfs': 8}, 'num_vfs', 'sriov_totalvfs is 7'),
    ({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 2, 'trust': True}]}, 'vf', 'will have 2 VFs'),
    ({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 0, 'mac': '01:00:5e:00:00:01'}]}, 'mac', 'multicast'),
    ({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 0, 'vlan': 4096}]}, 'vlan', '0 to 4095'),
    ({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 0, 'vlan': 5, 'qos': 8}]}, 'qos', '0 to 7'),
    ({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 0, 'qos': 3}]}, 'qos', 'needs a VLAN'),
    ({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 0, 'min_tx_rate': 50, 'max_tx_rate': 10}]}, 'min_tx_rate',
     'above max_tx_rate'),
    ({'pf': 'pfemu0', 'num_vfs': 2, 'vfs': [{'vf': 0, 'colour': 'red'}]}, 'vfs[0]', 'unknown option'),
    ({'pf': 'pfemu0', 'num_vfs': 'many'}, 'num_vfs', 'whole number'),
    ({'pf': 'nosuch0', 'num_vfs': 1}, 'pf', 'no such network device'),
    ({'pf': 'pfemu0peer', 'num_vfs': 1}, 'pf', 'not a PCI device'),
    ({'pf': '0000:99:00.0', 'num_vfs': 1}, 'pf', 'no such PCI device'),
]


def test_emulator_bad_input_is_refused_before_any_write():
    def body(host):
        writes = record_writes()
        seen = []
        for params, field, words in BAD:
            refused = refusal(params)
            assert refused['field'] == field and words in refused['msg'], (params, refused)
            seen.append(field)
        assert writes == [] and host.sysfs('sriov_numvfs') == '0'
        return seen
    assert emulated_host(body) == [b[1] for b in BAD]


def test_emulator_a_vf_as_pf_and_a_pf_without_driver():
    def body(host):
        pipeline.run_sriov({'pf': 'pfemu0', 'num_vfs': 1})
        os.symlink('/sys/class/net/pfemu0/device/virtfn0', '/sys/bus/pci/devices/0000:03:10.0')
        refused = refusal({'pf': '0000:03:10.0', 'num_vfs': 1})
        assert refused['field'] == 'pf' and 'is itself a virtual function' in refused['msg']
        return True
    assert emulated_host(body)

    def no_driver(host):
        refused = refusal({'pf': 'pfemu0', 'num_vfs': 1})
        assert 'no driver is bound to the PF' in refused['msg'] and '(ENOENT)' in refused['msg']
        return True
    assert emulated_host(no_driver, driver=None)


# The keys systemd.link(5) documents for the sections the module writes (systemd 252).
LINK_KEYS = {
    'Match': {'Path'},
    'Link': {'NamePolicy', 'AlternativeNamesPolicy', 'MACAddressPolicy', 'SR-IOVVirtualFunctions'},
    'SR-IOV': {'VirtualFunction', 'MACAddress', 'VLANId', 'QualityOfService', 'VLANProtocol', 'MACSpoofCheck', 'Trust',
               'LinkState'},
}


def parse_link_file(text):
    """Sections in order as systemd reads them (repeated [SR-IOV] sections kept apart)."""
    sections = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        if line.startswith('['):
            sections.append((line.strip('[]'), {}))
            continue
        key, value = line.split('=', 1)
        assert key in LINK_KEYS[sections[-1][0]], key
        sections[-1][1][key] = value
    return sections


def test_emulator_persist_writes_a_systemd_link_file_idempotently(tmp_path):
    """On the emulator: persist: systemd-networkd renders the .link file systemd-udevd applies at boot
    (keys checked against systemd.link(5); systemd-udevd cannot run here), with check mode, diff,
    idempotence, and the rates it cannot carry reported."""
    directory = str(tmp_path)

    def body(host):
        params = {'pf': 'pfemu0', 'num_vfs': 2, 'persist': 'systemd-networkd', 'persist_dir': directory,
                  'vfs': [{'vf': 0, 'mac': '02:00:5e:00:10:00', 'vlan': 100, 'qos': 3, 'spoofchk': False,
                           'trust': True, 'link_state': 'disable', 'max_tx_rate': 100}, {'vf': 1, 'vlan': 7}]}
        predicted = pipeline.run_sriov(params, check_mode=True, diff=True)
        path = os.path.join(directory, '70-hostnet-vif-sriov-0000-03-00.0.link')
        assert not os.path.exists(path) and 'write ' + path in predicted['actions']
        result = pipeline.run_sriov(params, diff=True)
        assert result['diff'] == predicted['diff'] and 'file %s:' % path in result['diff']['after']
        assert result['persisted'] == [{'pf': 'pfemu0', 'path': path, 'not_persisted': ['max_tx_rate']}]
        with open(path) as handle:
            sections = parse_link_file(handle.read())
        assert sections == [
            ('Match', {'Path': 'pci-' + PCI_PF}),
            ('Link', {'NamePolicy': 'keep kernel database onboard slot path',
                      'AlternativeNamesPolicy': 'database onboard slot path', 'MACAddressPolicy': 'persistent',
                      'SR-IOVVirtualFunctions': '2'}),
            ('SR-IOV', {'VirtualFunction': '0', 'MACAddress': '02:00:5e:00:10:00', 'VLANId': '100',
                        'QualityOfService': '3', 'MACSpoofCheck': 'no', 'Trust': 'yes', 'LinkState': 'no'}),
            ('SR-IOV', {'VirtualFunction': '1', 'VLANId': '7'})]
        again = pipeline.run_sriov(params)
        assert again['changed'] is False and again['actions'] == []
        return True
    assert emulated_host(body)
