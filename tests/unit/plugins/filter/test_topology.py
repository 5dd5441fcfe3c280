"""The topology filter draws what vif_info reports."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hostnet.vif.plugins.filter.topology import FilterModule, topology

VIF = {
    'netns': 'lab-host',
    'links': [
        {'name': 'mv0', 'kind': 'macvlan', 'mode': 'vepa', 'lower': 'eth1'},
        {'name': 'vm1-tap', 'kind': 'macvtap', 'mode': 'bridge', 'lower': 'eth1',
         'device': {'path': '/dev/tap9', 'major_minor': '246:1'}},
    ],
    'lowers': {'eth1': {'links': [], 'modes': ['bridge', 'vepa'], 'passthru': False}},
    'taps': [{'name': 'vnet0', 'type': 'tap'}],
    'bridge_ports': [{'name': 'vnet0', 'bridge': 'br0', 'hairpin': True}],
    'sriov': [{'name': 'enp3s0f0', 'pci_address': '0000:03:00.0', 'numvfs': 2, 'totalvfs': 7,
               'vfs': [{'vf': 0, 'netdevs': ['enp3s0f0v0']}, {'vf': 1, 'netdevs': []}]}],
}


def test_every_object_and_relation_is_drawn():
    text = topology(VIF)
    lines = text.splitlines()
    assert lines[0] == 'flowchart LR'
    assert '  subgraph n0 ["netns lab-host"]' in lines
    assert '    n0_dev_eth1 -->|vepa| n0_dev_mv0' in lines
    assert '    n0_dev_eth1 -->|bridge| n0_dev_vm1_tap' in lines
    assert '    n0_dev_vm1_tap(["vm1-tap<br/>macvtap bridge<br/>/dev/tap9"])' in lines
    assert '    n0_dev_br0 ---|hairpin on| n0_dev_vnet0' in lines
    assert '    n0_dev_enp3s0f0 --> n0_vf_enp3s0f0_0' in lines and '    n0_dev_enp3s0f0 --> n0_vf_enp3s0f0_1' in lines
    assert lines[-1] == '  end'


def test_a_list_of_namespaces_gives_one_subgraph_each():
    text = topology([VIF, dict(VIF, netns=None)], 'TB')
    assert text.startswith('flowchart TB\n') and text.count('subgraph') == 2 and '["host"]' in text


@pytest.mark.parametrize('bad, args', [({'nope': 1}, ()), (VIF, ('diagonal',))])
def test_wrong_input_is_a_clear_error(bad, args):
    with pytest.raises(AnsibleFilterError):
        topology(bad, *args)


def test_registered_under_its_name():
    assert FilterModule().filters()['topology'] is topology
