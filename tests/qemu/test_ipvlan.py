"""hostnet.vif.ipvlan and hostnet.vif.ipvtap on a kernel that has the drivers: Debian's 6.1 in the guest of
scripts/qemu-sriov (ipvlan.ko and ipvtap.ko are in its initramfs; this machine's kernel has neither, see
tests/kernel/test_ipvlan_missing.py). Everything happens in hvt- namespaces on veth lower devices; the
modules run in-process through the pipeline, as tests/qemu/test_igb.py does, and reachability is proven
with pings between endpoints in their own namespaces (iproute2 is the oracle for what the kernel holds)."""

import json
import os
import stat
import subprocess

import pytest
from conftest import sh

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import _linkparse as lp
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def ip_links(ns):
    out = sh('ip', '-n', ns, '-j', '-d', 'link', 'show').stdout
    return dict((link['ifname'], link) for link in json.loads(out))


def ipvl_of(ns, name):
    """(kind, mode, flag) as iproute2 reads them; iproute2 prints the flag after the mode (bridge is 0)."""
    link = ip_links(ns)[name]
    info = link['linkinfo']
    data = info.get('info_data') or {}
    flags = [f for f in ('private', 'vepa') if data.get(f) or f in (data.get('flags') or [])]
    return info['info_kind'], data.get('mode'), (flags[0] if flags else 'bridge')


def snapshot(ns):
    return dict((name, (link['ifindex'], (link.get('linkinfo') or {}).get('info_kind'), link.get('mtu'),
                        sorted(link.get('flags', [])), json.dumps((link.get('linkinfo') or {}).get('info_data'),
                                                                  sort_keys=True)))
                for name, link in ip_links(ns).items())


def ping(ns, address):
    return subprocess.run(['ip', 'netns', 'exec', ns, 'ping', '-n', '-c', '1', '-w', '3', address],
                          capture_output=True, check=False).returncode == 0


@pytest.fixture
def ns(namespaces):
    """A namespace with two veth pairs v0/v1 and v2/v3 (v0 and v2: lower devices), all up."""
    name = namespaces()
    for a, b in (('v0', 'v1'), ('v2', 'v3')):
        sh('ip', '-n', name, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b)
        for dev in (a, b):
            sh('ip', '-n', name, 'link', 'set', dev, 'up')
    return name


@pytest.fixture
def switched(namespaces):
    """A host namespace whose lower device 'uplink' is the peer of port 'swp' of a Linux bridge 'sw0' in a
    switch namespace (the external switch, whose port hairpin the tests turn on or off)."""
    host, switch = namespaces('h'), namespaces('s')
    sh('ip', '-n', switch, 'link', 'add', 'sw0', 'type', 'bridge')
    sh('ip', '-n', switch, 'link', 'add', 'swp', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', host)
    sh('ip', '-n', switch, 'link', 'set', 'swp', 'master', 'sw0')
    for args in ((switch, 'swp'), (switch, 'sw0'), (host, 'uplink')):
        sh('ip', '-n', args[0], 'link', 'set', args[1], 'up')
    return host, switch


def endpoints(host, namespaces, addresses, route=False):
    """Move each link to its own namespace with its address; ``route``: a default route through it (l3)."""
    made = []
    for dev, address in addresses:
        target = namespaces('e')
        sh('ip', '-n', host, 'link', 'set', dev, 'netns', target)
        sh('ip', '-n', target, 'addr', 'add', address, 'dev', dev)
        sh('ip', '-n', target, 'link', 'set', dev, 'up')
        if route:
            sh('ip', '-n', target, 'route', 'add', 'default', 'dev', dev)
        made.append(target)
    return made


# -- real frames ---------------------------------------------------------------------------------------

@pytest.mark.parametrize('flag, hairpin, reachable', [
    ('bridge', False, True), ('bridge', True, True),
    ('private', False, False), ('private', True, False),
    ('vepa', False, False), ('vepa', True, True),
])
def test_l2_flag_matrix_with_the_hairpin_switch(switched, namespaces, flag, hairpin, reachable):
    """Two l2 endpoints made by hostnet.vif.ipvlan on one lower device, each in its own namespace: bridge
    reaches directly, private never, vepa only when the switch port reflects the frames (hairpin)."""
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
    result = pipeline.run_ipvl(dict(netns=host, lower='uplink', mode='l2', flag=flag,
                                    links=[dict(name='ea'), dict(name='eb')]), 'ipvlan')
    assert [(lk['mode'], lk['flag']) for lk in result['links']] == [('l2', flag)] * 2
    assert ipvl_of(host, 'ea') == ('ipvlan', 'l2', flag)
    first, _second = endpoints(host, namespaces, (('ea', '192.0.2.1/24'), ('eb', '192.0.2.2/24')))
    assert ping(first, '192.0.2.2') is reachable


@pytest.mark.parametrize('flag, reachable', [('bridge', True), ('private', False)])
def test_l3_endpoints_in_different_subnets_reach_each_other_through_the_lower_device(ns, namespaces, flag,
                                                                                     reachable):
    """l3: no ARP on the links (NOARP), no common subnet; each endpoint has only a default route through its
    link, and the lower device's ipvlan port routes by destination address (private: never to a sibling)."""
    pipeline.run_ipvl(dict(netns=ns, lower='v0', mode='l3', flag=flag, links=[dict(name='ra'), dict(name='rb')]),
                      'ipvlan')
    assert 'NOARP' in ip_links(ns)['ra']['flags']
    first, _second = endpoints(ns, namespaces, (('ra', '192.0.2.10/32'), ('rb', '203.0.113.10/32')), route=True)
    assert ping(first, '203.0.113.10') is reachable


# -- the module's guarantees ---------------------------------------------------------------------------

def test_create_check_mode_diff_and_idempotence(ns):
    args = dict(netns=ns, lower='v0', mode='l2', links=[dict(name='iv0'), dict(name='iv1', mtu=1400)])
    before = snapshot(ns)
    planned = pipeline.run_ipvl(args, 'ipvlan', check_mode=True, diff=True)
    assert planned['changed'] is True and snapshot(ns) == before  # check mode changes nothing
    assert planned['actions'][0] == 'ip link add link v0 name iv0 type ipvlan mode l2 bridge; ip link set iv0 up'
    assert 'ipvlan iv1: lower v0, mode l2 bridge, mtu 1400, up' in planned['diff']['after']
    result = pipeline.run_ipvl(args, 'ipvlan', diff=True)
    assert result['actions'] == planned['actions'] and result['diff'] == planned['diff']
    got = dict((lk['name'], lk) for lk in result['links'])
    lower_mac = ip_links(ns)['v0']['address']
    assert (got['iv1']['mtu'], got['iv0']['mac'], got['iv0']['admin_state']) == (1400, lower_mac, 'up')
    assert ipvl_of(ns, 'iv1') == ('ipvlan', 'l2', 'bridge') and ip_links(ns)['iv1']['mtu'] == 1400
    after = snapshot(ns)
    again = pipeline.run_ipvl(args, 'ipvlan', diff=True)
    assert again['changed'] is False and again['actions'] == [] and snapshot(ns) == after


def test_kernel_default_mode_is_l3_bridge(ns):
    """What the module's defaults stand for: a link created without mode or flag is l3 bridge."""
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'bare0', 'type', 'ipvlan')
    assert ipvl_of(ns, 'bare0') == ('ipvlan', 'l3', 'bridge')
    assert pipeline.run_ipvl(dict(netns=ns, name='bare0', lower='v0', admin_state='down'), 'ipvlan')['changed'] \
        is False


def test_mode_and_flag_change_in_place_for_the_whole_lower_device(ns):
    """Measured: RTM_NEWLINK on an existing ipvlan changes mode and flag (same ifindex), and they are the
    lower device's: a sibling the task does not list would change too, so such a task is refused first."""
    pipeline.run_ipvl(dict(netns=ns, lower='v0', mode='l2', links=[dict(name='iv0'), dict(name='iv1')]), 'ipvlan')
    index = ip_links(ns)['iv0']['ifindex']
    sh('ip', '-n', ns, 'link', 'set', 'iv1', 'type', 'ipvlan', 'mode', 'l3s', 'private')
    assert ipvl_of(ns, 'iv0') == ('ipvlan', 'l3s', 'private')  # the kernel changed the sibling as well
    sh('ip', '-n', ns, 'link', 'set', 'iv1', 'type', 'ipvlan', 'mode', 'l2', 'bridge')
    before = snapshot(ns)
    with pytest.raises(VifError) as err:
        pipeline.run_ipvl(dict(netns=ns, name='iv0', lower='v0', mode='l3', flag='private'), 'ipvlan')
    assert 'also carries ipvlan iv1 (l2 bridge)' in err.value.msg and err.value.field == 'mode'
    assert snapshot(ns) == before
    result = pipeline.run_ipvl(dict(netns=ns, lower='v0', mode='l3', flag='private',
                                    links=[dict(name='iv0'), dict(name='iv1')]), 'ipvlan')
    assert 'ip link set iv0 type ipvlan mode l3 private' in result['actions']
    assert ip_links(ns)['iv0']['ifindex'] == index and ipvl_of(ns, 'iv1') == ('ipvlan', 'l3', 'private')
    assert pipeline.run_ipvl(dict(netns=ns, lower='v0', mode='l3', flag='private',
                                  links=[dict(name='iv0'), dict(name='iv1')]), 'ipvlan')['changed'] is False


def test_a_new_lower_device_recreates_the_link(ns):
    pipeline.run_ipvl(dict(netns=ns, name='iv0', lower='v0', mode='l2'), 'ipvlan')
    result = pipeline.run_ipvl(dict(netns=ns, name='iv0', lower='v2', mode='l2'), 'ipvlan')
    assert any('recreate: lower device v0 -> v2' in action for action in result['actions'])
    assert ip_links(ns)['iv0']['link'] == 'v2' and result['links'][0]['lower'] == 'v2'


def test_purge_only_this_kind_on_the_listed_lower_and_absent(ns):
    pipeline.run_ipvl(dict(netns=ns, lower='v0', mode='l2', links=[dict(name='iv0'), dict(name='iv1')]), 'ipvlan')
    pipeline.run_ipvl(dict(netns=ns, name='it0', lower='v0', mode='l2'), 'ipvtap')
    pipeline.run_ipvl(dict(netns=ns, name='iv9', lower='v2', mode='l3'), 'ipvlan')
    result = pipeline.run_ipvl(dict(netns=ns, lower='v0', mode='l2', purge=True, links=[dict(name='iv0')]), 'ipvlan')
    assert result['actions'] == ['ip link del iv1']
    assert {'iv0', 'it0', 'iv9'} <= set(ip_links(ns)) and 'iv1' not in ip_links(ns)
    result = pipeline.run_ipvl(dict(netns=ns, name='iv9', state='absent'), 'ipvlan')
    assert result['changed'] is True and 'iv9' not in ip_links(ns)
    assert pipeline.run_ipvl(dict(netns=ns, name='iv9', state='absent'), 'ipvlan')['changed'] is False


def test_a_kernel_refusal_in_the_middle_of_a_batch_leaves_nothing_behind(ns):
    """iv-b's lower device is a bridge port: only the kernel knows it cannot take an ipvlan port (EBUSY),
    after iv-a was made; the undo journal removes iv-a and puts the changed iv0 back."""
    sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', ns, 'link', 'set', 'v2', 'master', 'br0')
    pipeline.run_ipvl(dict(netns=ns, name='iv0', lower='v0', mode='l2', mtu=1500), 'ipvlan')
    before = snapshot(ns)
    with pytest.raises(VifError) as err:
        pipeline.run_ipvl(dict(netns=ns, mode='l2', links=[dict(name='iv0', lower='v0', mtu=1400),
                                                           dict(name='iv-a', lower='v0'),
                                                           dict(name='iv-b', lower='v2')]), 'ipvlan')
    assert 'iv-b' in err.value.msg and 'EBUSY' in err.value.msg and 'bridge' in err.value.msg
    assert snapshot(ns) == before


def test_a_lower_device_with_macvlan_links_is_refused_before_anything(ns):
    sh('ip', '-n', ns, 'link', 'add', 'link', 'v2', 'name', 'mv0', 'type', 'macvlan')
    before = snapshot(ns)
    with pytest.raises(VifError) as err:
        pipeline.run_ipvl(dict(netns=ns, mode='l2', links=[dict(name='iv0', lower='v0'),
                                                           dict(name='iv1', lower='v2')]), 'ipvlan')
    assert err.value.field == 'lower' and 'carries macvlan/macvtap links (mv0)' in err.value.msg
    assert snapshot(ns) == before


def test_ipvtap_character_device_owner_and_mode(ns):
    result = pipeline.run_ipvl(dict(netns=ns, name='it0', lower='v0', mode='l2', owner='65534', group='65534',
                                    device_mode='0660'), 'ipvtap')
    dev = result['links'][0]['device']
    with open('/proc/devices') as handle:
        ipvtap_major = [int(line.split()[0]) for line in handle if line.split()[1:] == ['ipvtap']]
    assert ipvtap_major and dev['major_minor'].split(':')[0] == str(ipvtap_major[0])
    st = os.stat(dev['path'])
    assert stat.S_ISCHR(st.st_mode) and '%d:%d' % (os.major(st.st_rdev), os.minor(st.st_rdev)) == dev['major_minor']
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o660)
    assert (dev['owner'], dev['group'], dev['mode']) == (65534, 65534, '0660')
    assert pipeline.run_ipvl(dict(netns=ns, name='it0', lower='v0', mode='l2', owner='65534', group='65534',
                                  device_mode='0660'), 'ipvtap')['changed'] is False
    os.chmod(dev['path'], 0o600)  # drift: set back, and reported
    again = pipeline.run_ipvl(dict(netns=ns, name='it0', lower='v0', mode='l2', device_mode='0660'), 'ipvtap')
    assert again['changed'] is True and stat.S_IMODE(os.stat(dev['path']).st_mode) == 0o660
    pipeline.run_ipvl(dict(netns=ns, name='it0', state='absent'), 'ipvtap')
    assert 'it0' not in ip_links(ns)


def test_vif_info_and_both_decoders_read_ipvlan_and_ipvtap(ns, monkeypatch):
    pipeline.run_ipvl(dict(netns=ns, name='iv0', lower='v0', mode='l3s', flag='vepa'), 'ipvlan')
    pipeline.run_ipvl(dict(netns=ns, name='it0', lower='v0', mode='l3s', flag='vepa', device_mode='0640'), 'ipvtap')
    facts = pipeline.run_info(dict(netns=ns, kinds=['ipvlan', 'ipvtap']))['vif']
    got = dict((lk['name'], lk) for lk in facts['links'])
    assert (got['iv0']['kind'], got['iv0']['mode'], got['iv0']['flag']) == ('ipvlan', 'l3s', 'vepa')
    assert (got['it0']['kind'], got['it0']['device']['mode']) == ('ipvtap', '0640')
    assert facts['lowers']['v0']['modes'] == ['l3s']
    with kern.Kernel(ns) as kernel:
        lean = kernel.dump_links()
        monkeypatch.setitem(lp._STYLES, type(kernel.ipr), None)  # pyroute2's full decode (0.7.2's path)
        full = kernel.dump_links()
    assert lean == full and (full['it0']['mode'], full['it0']['flag']) == ('l3s', 'vepa')
    # Debian 12's own python3 and python3-pyroute2 0.7.2 (no parser hook): the same records
    script = ('import json, sys; sys.path.insert(0, %r)\n'
              'from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as k\n'
              'links = k.Kernel(%r).dump_links()\n'
              'print(json.dumps(dict((n, [links[n][f] for f in ("kind", "mode", "flag")]) for n in ("iv0", "it0"))))'
              % (os.path.join(REPO, '.venv', 'collections'), ns))
    out = subprocess.run(['/usr/bin/python3', '-c', script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == {'iv0': ['ipvlan', 'l3s', 'vepa'], 'it0': ['ipvtap', 'l3s', 'vepa']}


PLAY = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - hostnet.vif.ipvtap: {{name: it0, lower: v0, mode: l2, flag: private, device_mode: "0660", netns: {netns}}}
      register: first
    - hostnet.vif.ipvtap: {{name: it0, lower: v0, mode: l2, flag: private, device_mode: "0660", netns: {netns}}}
      register: second
    - ansible.builtin.copy:
        content: "{{{{ {{'first': first, 'second': second}} | to_json }}}}"
        dest: {out}
        mode: "0600"
'''


def test_through_ansible_playbook(ns, tmp_path):
    """The module as Ansible runs it (AnsibleModule, its argument spec, JSON in and out), in the guest:
    ansible-playbook from the virtualenv, its temporary files on the guest's tmpfs."""
    out, play = tmp_path / 'results.json', tmp_path / 'play.yml'
    play.write_text(PLAY.format(netns=ns, out=out))
    home = str(tmp_path)
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'), HOME=home,
               ANSIBLE_LOCAL_TEMP=os.path.join(home, 'local'), ANSIBLE_REMOTE_TEMP=os.path.join(home, 'remote'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, '.venv', 'collections'))
    python = os.path.join(REPO, '.venv', 'bin', 'python')
    done = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % python, str(play)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results['first']['changed'] is True and results['second']['changed'] is False
    link = results['second']['links'][0]
    assert (link['kind'], link['mode'], link['flag'], link['device']['mode']) == ('ipvtap', 'l2', 'private', '0660')
    assert ipvl_of(ns, 'it0') == ('ipvtap', 'l2', 'private')


def test_a_profile_with_ipvlan_and_ipvtap_is_one_transaction(ns):
    """hostnet.vif.profile (the host_profile role's one task): the ipvlan and ipvtap stages after macvlan, a
    second run changes nothing, and a refusal in the ipvtap stage undoes the macvlan and ipvlan stages."""
    profile = {'netns': ns, 'macvlan': [{'name': 'mv0', 'lower': 'v2', 'mode': 'bridge'}],
               'ipvlan': [{'name': 'c0', 'lower': 'v0', 'mode': 'l2', 'flag': 'private'}],
               'ipvtap': [{'name': 'vm0ivt', 'lower': 'v0', 'mode': 'l2', 'flag': 'private', 'device_mode': '0660'}]}
    result = pipeline.run_profile(profile)
    assert result['changed'] is True and [lk['flag'] for lk in result['ipvlan'] + result['ipvtap']] == ['private'] * 2
    assert ipvl_of(ns, 'c0') == ('ipvlan', 'l2', 'private') and result['ipvtap'][0]['device']['mode'] == '0660'
    assert pipeline.run_profile(profile)['changed'] is False
    sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', ns, 'link', 'set', 'v3', 'master', 'br0')  # v3 cannot take an ipvlan port: EBUSY when applied
    before = snapshot(ns)
    broken = dict(profile, macvlan=[{'name': 'mv1', 'lower': 'v2', 'mode': 'bridge'}],
                  ipvlan=[{'name': 'c1', 'lower': 'v0', 'mode': 'l2', 'flag': 'private'}],
                  ipvtap=[{'name': 'vm1ivt', 'lower': 'v3', 'mode': 'l3'}])
    with pytest.raises(VifError) as err:
        pipeline.run_profile(broken)
    assert 'vm1ivt' in err.value.msg and 'EBUSY' in err.value.msg
    assert snapshot(ns) == before
