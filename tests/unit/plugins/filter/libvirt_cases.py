"""Shared by the libvirt_interfaces tests: the ready profiles as a play sees them, and vif_info facts."""

import os

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
PROFILES = ('vepa_edge', 'bridge_local', 'private_isolated', 'sriov_passthru')


def _trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    if isinstance(value, dict):
        return dict((key, _trusted(item)) for key, item in value.items())
    return value


def profile(name, **variables):
    """A ready profile of playbooks/profiles/ as the play sees it after include_vars (templates rendered)."""
    with open(os.path.join(REPO, 'playbooks', 'profiles', name + '.yml')) as handle:
        data = yaml.safe_load(handle)
    return Templar(loader=DataLoader(), variables=variables).template(_trusted(data))


# vif_info's vif, in the shape plugins/module_utils/_facts.py reports (links, taps, sriov as kernel._read_pf
# reads sysfs, with the PF driver's per-VF settings merged in).
FACTS = {
    'netns': None,
    'links': [
        {'name': 'hostside', 'kind': 'macvlan', 'mode': 'bridge', 'lower': 'eth1', 'mac': '02:00:00:00:01:01'},
        {'name': 'vm-vepa', 'kind': 'macvtap', 'mode': 'vepa', 'lower': 'eth1', 'mac': '02:00:00:00:01:02'},
        {'name': 'vm-bridge', 'kind': 'macvtap', 'mode': 'bridge', 'lower': 'eth1', 'mac': '02:00:00:00:01:03'},
        {'name': 'vm-private', 'kind': 'macvtap', 'mode': 'private', 'lower': 'eth1', 'mac': '02:00:00:00:01:04'},
        {'name': 'pt-eth2v0', 'kind': 'macvtap', 'mode': 'passthru', 'lower': 'eth2v0', 'nopromisc': True,
         'mac': '02:00:00:00:02:00'},
        {'name': 'vm-ipvtap', 'kind': 'ipvtap', 'mode': 'l2', 'lower': 'eth3', 'mac': '02:00:00:00:03:00'},
    ],
    'taps': [
        {'name': 'vnet0', 'type': 'tap', 'bridge': 'br0', 'mac': 'fe:00:00:00:00:01'},
        {'name': 'vnet1', 'type': 'tap', 'bridge': None, 'mac': 'fe:00:00:00:00:02'},
        {'name': 'tun0', 'type': 'tun', 'bridge': None, 'mac': None},
    ],
    'bridge_ports': [],
    'sriov': [{'name': 'eth2', 'pci_address': '0000:03:00.0', 'totalvfs': 7, 'numvfs': 3, 'vfs': [
        {'vf': 0, 'pci_address': '0000:03:10.0', 'driver': 'igbvf', 'netdevs': ['eth2v0'], 'mac': '02:00:00:00:02:00'},
        {'vf': 1, 'pci_address': '0000:03:10.4', 'driver': 'vfio-pci', 'netdevs': [], 'mac': '02:00:00:00:02:01'},
        {'vf': 2, 'pci_address': '0000:03:11.0', 'driver': None, 'netdevs': [], 'mac': '00:00:00:00:00:00'},
    ]}, {'name': 'eth4', 'pci_address': '0000:05:00.0', 'totalvfs': 7, 'numvfs': 0, 'vfs': []}],
}
