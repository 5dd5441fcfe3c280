"""profile_diff: the readable summary the host_profile role fails with."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.hostnet.vif.plugins.filter.profile_diff import profile_diff

VIF = {'links': [{'name': 'ep0', 'kind': 'macvlan', 'lower': 'eth1', 'mode': 'vepa', 'mtu': 1500,
                  'mac': '02:00:5e:00:00:01'},
                 {'name': 'vm0', 'kind': 'macvtap', 'lower': 'eth1', 'mode': 'bridge', 'mtu': 1500, 'mac': None}],
       'taps': [{'name': 'vnet0', 'bridge': 'br0'}],
       'bridge_ports': [{'name': 'vnet0', 'bridge': 'br0', 'hairpin': False}]}


def test_a_matching_host_has_no_differences():
    profile = {'macvlan': [{'name': 'ep0', 'lower': 'eth1'}], 'macvtap': [{'name': 'vm0', 'lower': 'eth1',
                                                                          'mode': 'bridge'}],
               'taps': [{'name': 'vnet0', 'bridge': 'br0'}], 'hairpin': [{'name': 'vnet0', 'hairpin': False}]}
    assert profile_diff(VIF, profile) == []


def test_every_difference_is_one_readable_line():
    profile = {'macvlan': [{'name': 'ep0', 'lower': 'eth1', 'mode': 'private', 'mac': '02:00:5E:00:00:02'},
                           {'name': 'ep9', 'lower': 'eth1'}],
               'macvtap': [{'name': 'vm0', 'state': 'absent'}],
               'taps': [{'name': 'vnet1'}], 'hairpin': [{'name': 'vnet0', 'hairpin': True}]}
    assert profile_diff(VIF, profile) == [
        'macvlan ep0: mode is vepa, the profile says private',
        'macvlan ep0: mac is 02:00:5e:00:00:01, the profile says 02:00:5e:00:00:02',
        'macvlan ep9 is missing (wanted on eth1, mode vepa)',
        'macvtap vm0 should be absent but exists',
        'tap vnet1 is missing',
        'bridge port vnet0: hairpin is off, the profile says on']


def test_wrong_input_is_an_error():
    with pytest.raises(AnsibleFilterError):
        profile_diff([], {})
