"""The profile's persisted files, rendered in Python from validated specs (persist.render_*): byte for
byte what the host_profile role's Jinja templates wrote for the same entries (the expected texts
below are those templates' output, rendered once with Ansible's template settings), so hosts upgraded
from the role see no change; and the values that reach udev and networkd in canonical form."""

import os

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _persist as persist
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.macv import HANDLERS as LINK_KINDS
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.tap import build_tap_specs

# The role's templates (roles/host_profile/templates, removed with this change) rendered for the entries below.
ROLE_OUTPUT = {
    'hostside.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=hostside\n'
        'Kind=macvlan\n'
        'MACAddress=02:00:00:00:aa:01\n'
        'MTUBytes=1400\n'
        '\n'
        '[MACVLAN]\n'
        'Mode=bridge\n'
    ),
    'hostside.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Brings hostside up (or keeps it down) at boot as the profile says, and configures nothing else\n'
        '# of its own. To give it addresses, put them in a drop-in: 70-hostnet-vif-hostside.network.d/*.conf\n'
        '[Match]\n'
        'Name=hostside\n'
        '\n'
        '[Link]\n'
        'ActivationPolicy=up\n'
    ),
    'src0.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=src0\n'
        'Kind=macvlan\n'
        '\n'
        '[MACVLAN]\n'
        'Mode=source\n'
        'SourceMACAddress=02:00:00:00:5c:01 02:00:00:00:5c:02\n'
    ),
    'src0.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Brings src0 up (or keeps it down) at boot as the profile says, and configures nothing else\n'
        '# of its own. To give it addresses, put them in a drop-in: 70-hostnet-vif-src0.network.d/*.conf\n'
        '[Match]\n'
        'Name=src0\n'
        '\n'
        '[Link]\n'
        'ActivationPolicy=down\n'
    ),
    'vm0tap.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=vm0tap\n'
        'Kind=macvtap\n'
        '\n'
        '[MACVTAP]\n'
        'Mode=vepa\n'
    ),
    'vm0tap.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Brings vm0tap up (or keeps it down) at boot as the profile says, and configures nothing else\n'
        '# of its own. To give it addresses, put them in a drop-in: 70-hostnet-vif-vm0tap.network.d/*.conf\n'
        '[Match]\n'
        'Name=vm0tap\n'
        '\n'
        '[Link]\n'
        'ActivationPolicy=up\n'
    ),
    'uplink.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        "# Attaches the profile's macvlan/macvtap links to uplink at boot. systemd-networkd applies\n"
        '# only the first .network file (in lexical order) that matches a device: if another file already\n'
        '# matches uplink, put these lines into a drop-in of that file instead.\n'
        '[Match]\n'
        'Name=uplink\n'
        '\n'
        '[Network]\n'
        'MACVLAN=hostside\n'
        'MACVLAN=src0\n'
        'MACVTAP=vm0tap\n'
    ),
    'vnet0.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=vnet0\n'
        'Kind=tap\n'
        'MACAddress=02:00:00:00:bb:01\n'
        'MTUBytes=9000\n'
        '\n'
        '[Tap]\n'
        'User=nobody\n'
        'MultiQueue=yes\n'
        'VNetHeader=yes\n'
        'PacketInfo=no\n'
    ),
    'vnet0.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Brings vnet0 up (or keeps it down) at boot as the profile says, as a port of br0.\n'
        '# To configure more, put it in a drop-in: 70-hostnet-vif-vnet0.network.d/*.conf\n'
        '[Match]\n'
        'Name=vnet0\n'
        '\n'
        '[Link]\n'
        'ActivationPolicy=up\n'
        '\n'
        '[Network]\n'
        'Bridge=br0\n'
    ),
    'tun0.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=tun0\n'
        'Kind=tun\n'
        '\n'
        '[Tun]\n'
        'Group=100\n'
        'MultiQueue=no\n'
        'VNetHeader=no\n'
        'PacketInfo=no\n'
    ),
    'tun0.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Brings tun0 up (or keeps it down) at boot as the profile says.\n'
        '# To configure more, put it in a drop-in: 70-hostnet-vif-tun0.network.d/*.conf\n'
        '[Match]\n'
        'Name=tun0\n'
        '\n'
        '[Link]\n'
        'ActivationPolicy=down\n'
    ),
    'vnet1.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=vnet1\n'
        'Kind=tap\n'
        '\n'
        '[Tap]\n'
        'MultiQueue=no\n'
        'VNetHeader=no\n'
        'PacketInfo=no\n'
    ),
    'vnet1.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Brings vnet1 up (or keeps it down) at boot as the profile says.\n'
        '# To configure more, put it in a drop-in: 70-hostnet-vif-vnet1.network.d/*.conf\n'
        '[Match]\n'
        'Name=vnet1\n'
        '\n'
        '[Link]\n'
        'ActivationPolicy=up\n'
    ),
    'rules': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Ownership of the macvtap character devices (/dev/tapN) each time they appear. Each rule matches the\n'
        '# device whose parent is the net device of that name (SUBSYSTEMS=="net" and KERNELS== on the same\n'
        "# parent): never another macvtap's /dev/tapN that happens to carry the name (a link named tap7).\n"
        'SUBSYSTEM=="macvtap", SUBSYSTEMS=="net", KERNELS=="vm0tap", OWNER="nobody", MODE="0660"\n'
        'SUBSYSTEM=="macvtap", SUBSYSTEMS=="net", KERNELS=="vm1", GROUP="kvm", MODE="0660"\n'
        'SUBSYSTEM=="macvtap", SUBSYSTEMS=="net", KERNELS=="vm2"\n'
    ),
    'rules_empty': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Ownership of the macvtap character devices (/dev/tapN) each time they appear. Each rule matches the\n'
        '# device whose parent is the net device of that name (SUBSYSTEMS=="net" and KERNELS== on the same\n'
        "# parent): never another macvtap's /dev/tapN that happens to carry the name (a link named tap7).\n"
    ),
}

LINKS = [{'name': 'hostside', 'lower': 'uplink', 'mode': 'bridge', 'mac': '02:00:00:00:AA:01', 'mtu': 1400},
         {'name': 'src0', 'lower': 'uplink', 'mode': 'source', 'admin_state': 'down',
          'source_macs': ['02:00:00:00:5c:01', '02:00:00:00:5c:02']}]
MACVTAPS = [{'name': 'vm0tap', 'lower': 'uplink'}]
TAPS = [{'name': 'vnet0', 'bridge': 'br0', 'vnet_hdr': True, 'multi_queue': True, 'owner': 'nobody', 'mtu': 9000,
         'mac': '02:00:00:00:bb:01'},
        {'name': 'tun0', 'mode': 'tun', 'admin_state': 'down', 'group': 100}, {'name': 'vnet1'}]


def _links():
    return LINK_KINDS['macvlan'].build_specs({'links': LINKS}) + LINK_KINDS['macvtap'].build_specs({'links': MACVTAPS})


@pytest.mark.parametrize('name', ['hostside', 'src0', 'vm0tap'])
def test_link_files_are_the_roles(name):
    spec = [s for s in _links() if s['name'] == name][0]
    assert persist.render_link_netdev(spec) == ROLE_OUTPUT[name + '.netdev']
    assert persist.render_link_network(spec) == ROLE_OUTPUT[name + '.network']


def test_lower_file_is_the_roles():
    assert persist.render_lower_network('uplink', _links()) == ROLE_OUTPUT['uplink.network']


@pytest.mark.parametrize('position', [0, 1, 2])
def test_tap_files_are_the_roles(position):
    entry = TAPS[position]
    spec = build_tap_specs({'taps': [entry]})[0]
    owner = persist.persisted_id(entry.get('owner'), 'owner', entry['name'])
    group = persist.persisted_id(entry.get('group'), 'group', entry['name'])
    assert persist.render_tap_netdev(spec, owner, group) == ROLE_OUTPUT[entry['name'] + '.netdev']
    assert persist.render_tap_network(spec) == ROLE_OUTPUT[entry['name'] + '.network']


def test_udev_rules_are_the_roles_with_the_mode_in_four_octal_digits():
    # device_mode 432 is YAML's reading of an unquoted 0660; '660' a string without the leading 0
    specs = LINK_KINDS['macvtap'].build_specs({'links': [
        {'name': 'vm0tap', 'lower': 'u', 'owner': 'nobody', 'device_mode': 432},
        {'name': 'vm1', 'lower': 'u', 'group': 'root', 'device_mode': '660'},
        {'name': 'vm2', 'lower': 'u'}]})
    rules = [(s['name'], persist.persisted_id(owner, 'owner', s['name']),
              persist.persisted_id(group, 'group', s['name']), s['device_mode'])
             for s, owner, group in zip(specs, ('nobody', None, None), (None, 'kvm', None))]
    rendered = persist.render_chardev_rules('macvtap', rules)
    assert rendered == ROLE_OUTPUT['rules']
    assert 'MODE="0660"' in rendered and '432' not in rendered
    assert persist.render_chardev_rules('macvtap', []) == ROLE_OUTPUT['rules_empty']


def test_a_mode_that_is_not_four_octal_digits_never_reaches_the_rule():
    with pytest.raises(VifError, match='four-digit octal'):
        persist.render_chardev_rules('macvtap', [('vm0', None, None, '432')])


@pytest.mark.parametrize('value, written', [('nobody', 'nobody'), (65534, '65534'), ('0042', '42'),
                                            ('libvirt-qemu', 'libvirt-qemu'), (None, None)])
def test_owner_and_group_are_written_as_names_or_ascii_numbers(value, written):
    assert persist.persisted_id(value, 'owner', 'vm0') == written


@pytest.mark.parametrize('value', ['a"b', 'x y', '-x', 'n\\1', True, 1.5, 'é'])
def test_an_owner_that_udev_or_networkd_would_misread_is_refused(value):
    with pytest.raises(VifError, match='cannot be written to a udev rule or networkd file'):
        persist.persisted_id(value, 'owner', 'vm0')


def _file_plan(tmp_path, **spec):
    from ansible_collections.hostnet.vif.plugins.module_utils._kinds import profile
    network, udev = tmp_path / 'network', tmp_path / 'udev'
    network.mkdir(exist_ok=True)
    task = profile.PROFILE.build(dict(spec, persist='systemd-networkd', persist_dir=str(network), udev_dir=str(udev)))
    return profile._plan_files(task, profile.Predicted()), network, udev


def test_the_file_plan_writes_what_differs_and_removes_the_files_of_absent_entries(tmp_path):
    (tmp_path / 'network').mkdir()
    (tmp_path / 'network' / '70-hostnet-vif-old0.netdev').write_text('[NetDev]\nName=old0\n')
    (tmp_path / 'network' / '70-hostnet-vif-a0.network').write_text(ROLE_OUTPUT['hostside.network'])
    files, network, udev = _file_plan(tmp_path, macvlan=[{'name': 'a0', 'lower': 'up0'},
                                                         {'name': 'old0', 'lower': 'up1', 'state': 'absent'}],
                                      macvtap=[{'name': 'vm0', 'lower': 'up0', 'device_mode': 432}])
    described = [a.describe() for a in files.actions]
    assert described == ['write %s/70-hostnet-vif-%s' % (network, name)
                         for name in ('a0.netdev', 'a0.network', 'up0.network', 'vm0.netdev', 'vm0.network')] + [
        'write %s/70-hostnet-vif-macvtap.rules' % udev, 'rm %s/70-hostnet-vif-old0.netdev' % network]
    assert [a.old for a in files.actions][-1] == '[NetDev]\nName=old0\n'


def test_purge_removes_every_profile_file_the_profile_does_not_list(tmp_path):
    (tmp_path / 'network').mkdir()
    for name in ('70-hostnet-vif-stale.netdev', '70-hostnet-vif-stale.network', '10-someone-else.network',
                 '70-hostnet-vif-sriov-0000-03-00.0.link'):
        (tmp_path / 'network' / name).write_text('x\n')
    files, network, _udev = _file_plan(tmp_path, purge=True, taps=[{'name': 'vnet0'}])
    assert sorted(a.describe() for a in files.actions if a.new is None) == [
        'rm %s/70-hostnet-vif-stale.netdev' % network, 'rm %s/70-hostnet-vif-stale.network' % network]


def test_purge_removes_the_udev_rule_file_of_a_tap_kind_the_profile_no_longer_lists(tmp_path):
    (tmp_path / 'udev').mkdir()
    (tmp_path / 'udev' / '70-hostnet-vif-macvtap.rules').write_text('SUBSYSTEM=="macvtap", ... OWNER="x"\n')
    files, _network, udev = _file_plan(tmp_path, purge=True, taps=[{'name': 'vnet0'}])
    assert [a.describe() for a in files.actions if a.new is None] == ['rm %s/70-hostnet-vif-macvtap.rules' % udev]
    kept, _network, _udev = _file_plan(tmp_path, taps=[{'name': 'vnet0'}])  # without purge: left alone
    assert [a for a in kept.actions if a.new is None] == []


def test_two_objects_in_one_file_are_refused(tmp_path):
    with pytest.raises(VifError, match='would be persisted in the same file'):
        _file_plan(tmp_path, macvlan=[{'name': 'a0', 'lower': 'vnet0'}], taps=[{'name': 'vnet0'}])


def test_a_persist_directory_others_can_write_is_refused(tmp_path):
    (tmp_path / 'network').mkdir(mode=0o777)
    (tmp_path / 'network').chmod(0o777)
    with pytest.raises(VifError, match='writable by others'):
        _file_plan(tmp_path, taps=[{'name': 'vnet0'}])


# -- ipvlan and ipvtap (systemd.netdev(5) [IPVLAN]/[IPVTAP]: Mode=L2|L3|L3S, Flags=bridge|private|vepa;
#    systemd.network(5) [Network] IPVLAN=/IPVTAP=) ---------------------------------------------------------

IPVL_OUTPUT = {
    'c0.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=c0\n'
        'Kind=ipvlan\n'
        'MTUBytes=1400\n'
        '\n'
        '[IPVLAN]\n'
        'Mode=L2\n'
        'Flags=private\n'
    ),
    'c1.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=c1\n'
        'Kind=ipvlan\n'
        '\n'
        '[IPVLAN]\n'
        'Mode=L3\n'
        'Flags=bridge\n'
    ),
    'vm0ivt.netdev': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '[NetDev]\n'
        'Name=vm0ivt\n'
        'Kind=ipvtap\n'
        '\n'
        '[IPVTAP]\n'
        'Mode=L3S\n'
        'Flags=vepa\n'
    ),
    'vm0ivt.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Brings vm0ivt up (or keeps it down) at boot as the profile says, and configures nothing else\n'
        '# of its own. To give it addresses, put them in a drop-in: 70-hostnet-vif-vm0ivt.network.d/*.conf\n'
        '[Match]\n'
        'Name=vm0ivt\n'
        '\n'
        '[Link]\n'
        'ActivationPolicy=down\n'
    ),
    'eth1.network': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        "# Attaches the profile's ipvlan/ipvtap links to eth1 at boot. systemd-networkd applies\n"
        '# only the first .network file (in lexical order) that matches a device: if another file already\n'
        '# matches eth1, put these lines into a drop-in of that file instead.\n'
        '[Match]\n'
        'Name=eth1\n'
        '\n'
        '[Network]\n'
        'IPVLAN=c0\n'
        'IPVTAP=vm1ivt\n'
    ),
    'rules': (
        '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
        '# Ownership of the ipvtap character devices (/dev/tapN) each time they appear. Each rule matches the\n'
        '# device whose parent is the net device of that name (SUBSYSTEMS=="net" and KERNELS== on the same\n'
        "# parent): never another ipvtap's /dev/tapN that happens to carry the name (a link named tap7).\n"
        'SUBSYSTEM=="ipvtap", SUBSYSTEMS=="net", KERNELS=="vm0ivt", OWNER="nobody", GROUP="kvm", MODE="0660"\n'
        'SUBSYSTEM=="ipvtap", SUBSYSTEMS=="net", KERNELS=="vm1ivt", GROUP="36", MODE="0600"\n'
    ),
}


def _ipvl_spec(kind, entry):
    from ansible_collections.hostnet.vif.plugins.module_utils._kinds.ipvl import HANDLERS as IPVL_KINDS
    return IPVL_KINDS[kind].build_specs({'links': [entry]})[0]


@pytest.mark.parametrize('kind, entry', [
    ('ipvlan', {'name': 'c0', 'lower': 'eth1', 'mode': 'l2', 'flag': 'private', 'mtu': 1400}),
    ('ipvlan', {'name': 'c1', 'lower': 'eth1'}),  # the defaults, written out: l3 bridge
    ('ipvtap', {'name': 'vm0ivt', 'lower': 'eth1', 'mode': 'l3s', 'flag': 'vepa', 'device_mode': '0660'}),
])
def test_ipvlan_and_ipvtap_netdev_files(kind, entry):
    assert persist.render_link_netdev(_ipvl_spec(kind, entry)) == IPVL_OUTPUT[entry['name'] + '.netdev']


def test_ipvtap_network_file_and_the_lower_devices():
    spec = _ipvl_spec('ipvtap', {'name': 'vm0ivt', 'lower': 'eth1', 'admin_state': 'down'})
    assert persist.render_link_network(spec) == IPVL_OUTPUT['vm0ivt.network']
    specs = [_ipvl_spec('ipvlan', {'name': 'c0', 'lower': 'eth1'}), _ipvl_spec('ipvtap', {'name': 'vm1ivt',
                                                                                          'lower': 'eth1'})]
    assert persist.render_lower_network('eth1', specs) == IPVL_OUTPUT['eth1.network']


def test_ipvtap_udev_rules_match_the_ipvtap_class_with_a_canonical_mode():
    rules = [('vm0ivt', 'nobody', 'kvm', _ipvl_spec('ipvtap', {'name': 'vm0ivt', 'lower': 'u', 'device_mode': 432})
              ['device_mode']),
             ('vm1ivt', None, persist.persisted_id('036', 'group', 'vm1ivt'), '0600')]
    assert persist.render_chardev_rules('ipvtap', rules) == IPVL_OUTPUT['rules']
    with pytest.raises(VifError, match='four-digit octal'):
        persist.render_chardev_rules('ipvtap', [('vm0', None, None, '660')])
    with pytest.raises(VifError, match='no udev rule'):
        persist.render_chardev_rules('tap', [])


IPVL_PROFILE = {
    'macvlan': [{'name': 'mv0', 'lower': 'eth0', 'mode': 'bridge'}],
    'ipvlan': [{'name': 'c0', 'lower': 'eth1', 'mode': 'l2', 'flag': 'private', 'mtu': 1400},
               {'name': 'gone0', 'lower': 'eth2', 'state': 'absent'}],
    'ipvtap': [{'name': 'vm1ivt', 'lower': 'eth1', 'mode': 'l2', 'flag': 'private', 'owner': 'nobody',
                'group': 0, 'device_mode': '0660'}],
}


def test_a_profile_with_ipvlan_and_ipvtap_is_persisted(tmp_path):
    """Was refused with persist=systemd-networkd ("not written to systemd-networkd files yet"): now each link
    has its .netdev and .network, each lower device one .network attaching all its links, the ipvtap rule
    file its rule; an absent entry's files and its lower's .network go."""
    (tmp_path / 'network').mkdir()
    for name in ('gone0.netdev', 'gone0.network', 'eth2.network'):
        (tmp_path / 'network' / ('70-hostnet-vif-' + name)).write_text('old\n')
    files, network, udev = _file_plan(tmp_path, **IPVL_PROFILE)
    written = dict((a.path, a.new) for a in files.actions)
    assert sorted(os.path.basename(p) + ('' if text is not None else ' (removed)') for p, text in written.items()) \
        == ['70-hostnet-vif-%s' % n for n in (
            'c0.netdev', 'c0.network', 'eth0.network', 'eth1.network', 'eth2.network (removed)',
            'gone0.netdev (removed)', 'gone0.network (removed)', 'ipvtap.rules', 'mv0.netdev', 'mv0.network',
            'vm1ivt.netdev', 'vm1ivt.network')]
    assert written[str(network / '70-hostnet-vif-c0.netdev')] == IPVL_OUTPUT['c0.netdev']
    lower = written[str(network / '70-hostnet-vif-eth1.network')]
    assert lower.endswith('[Network]\nIPVLAN=c0\nIPVTAP=vm1ivt\n') and 'ipvlan/ipvtap links to eth1' in lower
    assert written[str(network / '70-hostnet-vif-eth0.network')].endswith('[Network]\nMACVLAN=mv0\n')
    assert written[str(udev / '70-hostnet-vif-ipvtap.rules')].endswith(
        'SUBSYSTEM=="ipvtap", SUBSYSTEMS=="net", KERNELS=="vm1ivt", OWNER="nobody", GROUP="0", MODE="0660"\n')
    assert not (udev / '70-hostnet-vif-macvtap.rules').exists() and str(udev / '70-hostnet-vif-macvtap.rules') \
        not in written  # a profile without macvtap entries leaves the macvtap rules alone


@pytest.mark.parametrize('owner', [1.5, 'no body'])
def test_an_ipvtap_owner_udev_would_misread_is_refused_with_its_path(tmp_path, owner):
    spec = {**IPVL_PROFILE, 'ipvtap': [dict(IPVL_PROFILE['ipvtap'][0], owner=owner)]}
    with pytest.raises(VifError) as err:
        _file_plan(tmp_path, **spec)
    assert err.value.field == 'ipvtap[0].owner' and 'is invalid' in err.value.msg
    assert not (tmp_path / 'udev').exists()
