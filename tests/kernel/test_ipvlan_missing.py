"""On a kernel without the ipvlan driver (this machine's: no CONFIG_IPVLAN, nothing to load), the modules
fail with a sentence that names the kind and the link, change nothing, and never show a traceback. The
drivers' behaviour itself is tested where they exist: tests/qemu/test_ipvlan.py, in the QEMU guest."""

import json
import subprocess

import pytest
from ansible.module_utils.testing import patch_module_args
from conftest import sh, snapshot

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.modules import ipvlan, ipvtap


@pytest.fixture
def no_ipvlan(ns):
    probe = subprocess.run(['ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', 'probe0', 'type', 'ipvlan'],
                           capture_output=True, text=True)
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
