"""SR-IOV with the matrix's module interpreters, on a REAL igb PF: run inside the guest of
scripts/qemu-sriov by scripts/matrix, once per interpreter (python sriov_vf.py EXPECTED_PYROUTE2).
VF count through sysfs, per-VF settings over netlink (IFLA_VFINFO_LIST, the request that differs
most between pyroute2 versions' encoders), read back from the kernel with `ip -j -d link show`
rather than by the module, idempotence, and igb's refusal of link_state in words, undone.
Exits non-zero with the reason on any mismatch. Standard library and the collection only."""

import json
import subprocess
import sys
import time
from importlib.metadata import version

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

PF = 'eth0'


def vfinfo():
    """The PF's VFs as the kernel reports them (iproute2, not the module)."""
    link = json.loads(subprocess.run(['ip', '-j', '-d', 'link', 'show', PF], check=True, capture_output=True,
                                     text=True).stdout)[0]
    return dict((vf['vf'], vf) for vf in link.get('vfinfo_list', []))


def vlan_of(vf):
    """(vlan, qos): iproute2 prints IFLA_VF_VLAN_LIST as vlan_list when the kernel sends it."""
    entry = (vf.get('vlan_list') or [vf])[0]
    return entry.get('vlan'), entry.get('qos')


def check(condition, what):
    if not condition:
        sys.exit('sriov_vf.py (%s, pyroute2 %s): %s' % (sys.executable, version('pyroute2'), what))


def main():
    check(version('pyroute2') == sys.argv[1], 'expected pyroute2 %s' % sys.argv[1])
    with open('/sys/class/net/%s/device/sriov_totalvfs' % PF) as handle:
        check(handle.read().strip() == '7', 'not the igb guest of scripts/qemu-sriov')
    subprocess.run(['ip', 'link', 'set', PF, 'up'], check=True)
    try:
        result = pipeline.run_sriov({'pf': PF, 'num_vfs': 2})
        check(result['changed'] and result['pfs'][0]['numvfs'] == 2, 'num_vfs 2: %r' % result['pfs'])
        deadline = time.monotonic() + 60  # igb takes a rate only while the PF has link
        while time.monotonic() < deadline:
            with open('/sys/class/net/%s/carrier' % PF) as handle:
                if handle.read().strip() == '1':
                    break
            time.sleep(0.2)
        vfs = [{'vf': 0, 'mac': '02:00:5e:00:30:00', 'vlan': 100, 'qos': 3, 'spoofchk': False, 'trust': True,
                'max_tx_rate': 100},
               {'vf': 1, 'mac': '02:00:5e:00:30:01'}]
        check(pipeline.run_sriov({'pf': PF, 'vfs': vfs})['changed'], 'per-VF settings reported no change')
        kernel = vfinfo()
        got = (kernel[0].get('address'), vlan_of(kernel[0]), kernel[0].get('spoofchk'), kernel[0].get('trust'),
               kernel[0].get('rate', {}).get('max_tx'), kernel[1].get('address'))
        check(got == ('02:00:5e:00:30:00', (100, 3), False, True, 100, '02:00:5e:00:30:01'), 'kernel has %r' % (got,))
        check(not pipeline.run_sriov({'pf': PF, 'vfs': vfs})['changed'], 'second run changed something')
        try:
            pipeline.run_sriov({'pf': PF, 'vfs': [{'vf': 0, 'vlan': 200}, {'vf': 1, 'link_state': 'enable'}]})
            check(False, 'igb accepted link_state')
        except VifError as exc:
            check('EOPNOTSUPP' in exc.msg, 'refusal: %s' % exc.msg)
        check(vlan_of(vfinfo()[0]) == (100, 3), 'VF 0 vlan 200 was not undone')
    finally:
        pipeline.run_sriov({'pf': PF, 'num_vfs': 0, 'allow_reset': True})
    print('sriov_vf.py: ok with %s, pyroute2 %s' % (sys.executable, version('pyroute2')))


if __name__ == '__main__':
    main()
