"""SR-IOV planning and VF specs from hand-built sysfs and netlink state, without root or a kernel."""

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import sriov
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def pf_state(numvfs=0, autoprobe=True, vfs=None, name='eth5'):
    vfs = vfs if vfs is not None else [{'vf': n, 'pci_address': '0000:03:00.%d' % (n + 1), 'driver': 'igbvf',
                                        'netdevs': ['eth5v%d' % n]} for n in range(numvfs)]
    return {'found': True, 'is_vf': False, 'name': name, 'pci_address': '0000:03:00.0', 'totalvfs': 7,
            'numvfs': numvfs, 'drivers_autoprobe': autoprobe, 'driver': 'igb', 'vfs': vfs}


LINKS = {'eth5': {'name': 'eth5', 'index': 5, 'kind': None, 'admin_state': 'up'}}


def plan(params, state, vf_now=None, links=None, addressed=(), persist_dir='/nonexistent/hostnet-vif-test'):
    links = LINKS if links is None else links
    specs = sriov.build_sriov_specs(params)
    states = {specs[0]['pf']: state}
    sriov.check_sriov_against(specs, states)
    return sriov.plan_sriov(specs, states, vf_now or {}, links, set(addressed), 60, persist_dir)


def test_vf_specs_are_sorted_by_number_and_fill_unset_fields_with_none():
    entries = [{'vf': 2, 'vlan': 10}, {'vf': 0, 'mac': '02:00:00:00:00:0A'}]
    spec = sriov.build_sriov_specs({'pf': 'eth5', 'vfs': entries})
    assert [vf['vf'] for vf in spec[0]['vfs']] == [0, 2]
    assert spec[0]['vfs'][0]['mac'] == '02:00:00:00:00:0a' and spec[0]['vfs'][0]['vlan'] is None
    assert spec[0]['vfs'][1]['vlan'] == 10 and spec[0]['vfs'][1]['qos'] is None


@pytest.mark.parametrize('entry, field', [
    ({'vf': 0, 'qos': 3}, 'qos'),
    ({'vf': 0, 'vlan_proto': '802.1ad'}, 'vlan_proto'),
    ({'vf': 0, 'min_tx_rate': 500, 'max_tx_rate': 100}, 'min_tx_rate'),
    ({'vf': 0, 'link_state': 'on'}, 'link_state'),
])
def test_vf_settings_the_kernel_cannot_take_are_refused_naming_the_field(entry, field):
    with pytest.raises(VifError) as caught:
        sriov.build_sriov_specs({'pf': 'eth5', 'vfs': [entry]})
    assert caught.value.field == field


def test_nothing_differs_plans_nothing():
    now = {'eth5': {0: {'vf': 0, 'vlan': 10, 'qos': 0, 'vlan_proto': '802.1Q'}}}
    assert plan({'pf': 'eth5', 'num_vfs': 2, 'vfs': [{'vf': 0, 'vlan': 10}]}, pf_state(2), now).actions == []


def test_a_count_from_zero_is_one_action_and_new_vfs_get_their_settings_after_it():
    result = plan({'pf': 'eth5', 'num_vfs': 2, 'vfs': [{'vf': 1, 'trust': True}]}, pf_state(0))
    assert [type(a) for a in result.actions] == [apply.SetNumVfs, apply.SetVf]
    assert result.actions[1].new == {'trust': True} and result.actions[1].old is None  # a new VF: nothing to restore
    assert result.after['eth5']['numvfs'] == 2


def test_a_count_between_two_non_zero_counts_is_refused_without_allow_reset_naming_the_vfs():
    with pytest.raises(VifError) as caught:
        plan({'pf': 'eth5', 'num_vfs': 3}, pf_state(2))
    assert caught.value.field == 'num_vfs' and '0000:03:00.1' in caught.value.msg and 'allow_reset' in caught.value.msg


def test_allow_reset_destroys_and_restores_the_old_settings_on_undo():
    now = {'eth5': {0: {'vf': 0, 'mac': '02:00:00:00:00:01', 'vlan': 7, 'spoofchk': True}}}
    result = plan({'pf': 'eth5', 'num_vfs': 3, 'allow_reset': True}, pf_state(2), now)
    action = result.actions[0]
    assert isinstance(action, apply.SetNumVfs) and (action.old, action.new) == (2, 3)
    assert action.restore[0]['mac'] == '02:00:00:00:00:01' and action.restore[0]['vlan'] == 7
    assert result.after['eth5']['destroyed'] == 2


def test_a_vlan_group_goes_whole_with_the_current_values_of_its_other_fields():
    now = {'eth5': {0: {'vf': 0, 'vlan': 10, 'qos': 3, 'vlan_proto': '802.1Q'}}}
    result = plan({'pf': 'eth5', 'vfs': [{'vf': 0, 'vlan': 20}]}, pf_state(1), now)
    (action,) = result.actions
    assert action.new == {'vlan': 20, 'qos': 3, 'vlan_proto': '802.1Q'}
    assert action.old == {'vlan': 10, 'qos': 3, 'vlan_proto': '802.1Q'}


def test_autoprobe_is_planned_before_the_count():
    result = plan({'pf': 'eth5', 'num_vfs': 1, 'drivers_autoprobe': False}, pf_state(0))
    assert [type(a) for a in result.actions] == [apply.SetAutoprobe, apply.SetNumVfs]


def test_vf_settings_need_the_pfs_interface_in_the_namespace():
    with pytest.raises(VifError) as caught:
        plan({'pf': 'eth5', 'vfs': [{'vf': 0, 'vlan': 5}]}, pf_state(1, name=None), links={})
    assert caught.value.field == 'vfs'


def test_a_vf_in_use_is_named_with_the_reason():
    state = pf_state(1, vfs=[{'vf': 0, 'pci_address': '0000:03:00.1', 'driver': 'vfio-pci', 'netdevs': []}])
    with pytest.raises(VifError) as caught:
        plan({'pf': 'eth5', 'num_vfs': 2}, state)
    assert 'bound to vfio-pci' in caught.value.msg


def test_persisting_plans_the_link_file_once():
    result = plan({'pf': 'eth5', 'num_vfs': 2, 'persist': 'systemd-networkd'}, pf_state(2))
    (action,) = result.actions
    assert isinstance(action, apply.WriteFile) and action.old is None and 'SR-IOVVirtualFunctions=2' in action.new


def test_the_diff_names_the_pf_its_count_and_each_vf():
    result = plan({'pf': 'eth5', 'num_vfs': 1, 'vfs': [{'vf': 0, 'vlan': 5}]}, pf_state(0))
    text = sriov.SRIOV.describe(result.after['eth5'])
    assert text.splitlines()[0] == 'SR-IOV PF eth5: 1 VFs, drivers_autoprobe on'
    assert text.splitlines()[1] == '  vf 0: qos 0, vlan 5, vlan_proto 802.1Q'
