"""On a kernel without the ipvlan driver (this machine's: no CONFIG_IPVLAN, nothing to load), the modules
fail with a sentence that names the kind and the link, change nothing, and never show a traceback. The
drivers' behaviour itself is tested where they exist: tests/qemu/test_ipvlan.py, in the QEMU guest."""

import json
import os
import subprocess

import pytest
from ansible.module_utils.testing import patch_module_args
from conftest import links, sh, snapshot

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.modules import ipvlan, ipvtap


@pytest.fixture
def no_ipvlan(ns):
    probe = subprocess.run(['ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'probe0', 'type', 'ipvlan'],
                           capture_output=True, text=True, check=False)
    if probe.returncode == 0:
        sh('ip', '-n', ns, 'link', 'del', 'probe0')
        pytest.skip('this kernel has the ipvlan driver: tests/qemu/test_ipvlan.py covers it')
    return ns


@pytest.mark.parametrize('kind', ['ipvlan', 'ipvtap'])
def test_no_driver_is_a_clear_failure_that_changes_nothing(no_ipvlan, kind):
    before = snapshot(no_ipvlan)
    with pytest.raises(VifError) as err:
        pipeline.run_ipvl(dict(netns=no_ipvlan, lower='v0', mode='l2', links=[dict(name='iv0'), dict(name='iv1')]),
                          kind)
    assert 'the kernel has no ipvlan/ipvtap driver' in err.value.msg and 'type %s mode l2' % kind in err.value.msg
    assert err.value.obj == 'iv0' and err.value.errno == 95
    assert snapshot(no_ipvlan) == before


@pytest.mark.parametrize('module', [ipvlan, ipvtap])
def test_the_module_fails_with_its_result_not_a_traceback(no_ipvlan, module, capsys):
    with patch_module_args({'netns': no_ipvlan, 'name': 'iv0', 'lower': 'v0'}):
        with pytest.raises(SystemExit):
            module.main()
    out = json.loads(capsys.readouterr().out)
    assert out['failed'] is True and 'no ipvlan/ipvtap driver' in out['msg'] and 'exception' not in out
    assert out['obj'] == 'iv0'


def test_the_role_passes_ipvlan_and_ipvtap_keys_to_the_modules(switched):
    """host_profile's ipvlan:/ipvtap: keys reach hostnet.vif.profile's ipvlan stage (here it meets the kernel
    without the driver: the play fails with the kind's sentence, and the whole profile is undone: the macvlan
    of an earlier stage included)."""
    from test_host_profile import site
    host, _switch = switched
    sh('ip', '-n', host, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1')
    spec = {'lowers_up': ['uplink', 'v0'], 'macvlan': [{'name': 'mv0', 'lower': 'v0', 'mode': 'bridge'}],
            'ipvlan': [{'name': 'c0', 'lower': 'uplink', 'mode': 'l2', 'flag': 'private'}],
            'ipvtap': [{'name': 'vm0ivt', 'lower': 'uplink', 'mode': 'l2', 'flag': 'private'}]}
    before = snapshot(host)
    done, recap = site(host, None, host_profile_spec=spec)
    assert recap['failed'] == 1 and 'no ipvlan/ipvtap driver' in done.stdout, done.stdout[-3000:]
    assert snapshot(host) == before


def test_the_role_refuses_ipvlan_where_it_must_persist_before_anything_changes(switched, tmp_path):
    """With persistence (ipvlan/ipvtap files are written since issue 11/16), an ipvlan on the lower device an
    earlier stage gives a macvlan is still refused before any link or file is made."""
    from test_host_profile import site
    host, _switch = switched
    spec = {'macvlan': [{'name': 'mv0', 'lower': 'uplink', 'mode': 'bridge'}],
            'ipvlan': [{'name': 'c0', 'lower': 'uplink', 'mode': 'l2'}]}
    done, recap = site(host, None, '-e', 'host_profile_persist=systemd-networkd', '-e',
                       'host_profile_persist_dir=%s' % tmp_path, host_profile_spec=spec)
    said = ' '.join(done.stdout.split())
    assert recap['failed'] == 1 and "ipvlan[0].lower='uplink' is invalid: carries macvlan/macvtap links (mv0)" \
        in said, done.stdout[-3000:]
    assert os.listdir(tmp_path) == [] and 'mv0' not in links(host)
