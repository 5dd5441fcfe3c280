"""The modules are wiring only: documentation matches the argument spec, errors reach fail_json."""

import importlib
import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kernel, _module_glue as module_glue
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import (
    hairpin as hairpin_kind, info as info_kind, ipvl, macv, profile as profile_kind, relay as relay_kind,
    sriov as sriov_kind, tap as tap_kind)
from ansible_collections.hostnet.vif.plugins.modules import (
    hairpin, ipvlan, ipvtap, macvlan, macvtap, profile, reflective_relay, sriov, tap, vif_info)

MODULES = {'macvlan': (macvlan, macv.MACVLAN.argument_spec()),
           'macvtap': (macvtap, macv.MACVTAP.argument_spec()),
           'ipvlan': (ipvlan, ipvl.IPVLAN.argument_spec()),
           'ipvtap': (ipvtap, ipvl.IPVTAP.argument_spec()),
           'hairpin': (hairpin, hairpin_kind.HAIRPIN.argument_spec()),
           'tap': (tap, tap_kind.TAP.argument_spec()),
           'sriov': (sriov, sriov_kind.SRIOV.argument_spec()),
           'reflective_relay': (reflective_relay, relay_kind.RELAY.argument_spec()),
           'vif_info': (vif_info, info_kind.INFO.argument_spec()),
           'profile': (profile, profile_kind.PROFILE.argument_spec())}


@pytest.mark.parametrize('name', sorted(MODULES))
def test_documented_options_are_the_argument_spec(name):
    module, spec = MODULES[name]
    doc = yaml.safe_load(module.DOCUMENTATION)
    documented = dict(doc.get('options', {}))
    for fragment in doc.get('extends_documentation_fragment', []):
        names = fragment.split('.')  # hostnet.vif.<fragment>[.<part>]
        source = importlib.import_module('ansible_collections.hostnet.vif.plugins.doc_fragments.' + names[2])
        part = names[3] if len(names) == 4 else 'DOCUMENTATION'
        documented.update(yaml.safe_load(getattr(source.ModuleDocFragment, part.upper()))['options'])
    _documented_as_specified(documented, spec, '')


def _documented_as_specified(documented, spec, where):
    """Options, then suboptions of list and dict options, the same on both sides: names, types,
    element types, choices, defaults, required."""
    assert set(documented) == set(spec), where or 'options'
    for option, rules in spec.items():
        doc, here = documented[option], where + option
        assert doc.get('type', 'str') == rules.get('type', 'str'), here
        assert doc.get('elements') == rules.get('elements'), here
        assert doc.get('choices') == rules.get('choices'), here
        assert doc.get('default') == rules.get('default'), here
        assert bool(doc.get('required')) == bool(rules.get('required')), here
        if doc.get('suboptions') is not None or rules.get('options') is not None:
            _documented_as_specified(doc.get('suboptions') or {}, rules.get('options') or {}, here + '.')


def _run(module, args, capsys):
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def test_missing_pyroute2_fails_with_the_install_hint(monkeypatch, capsys):
    monkeypatch.setattr(kernel, 'HAS_PYROUTE2', False)
    out = _run(macvlan, {'name': 'a', 'lower': 'eth1'}, capsys)
    assert out['failed'] and 'pyroute2' in out['msg']


def test_a_vif_error_becomes_fail_json_with_its_fields(monkeypatch, capsys):
    def refuse(handler, params, check_mode, diff):
        raise VifError('a: mtu=9 is invalid', obj='a', field='mtu', value=9)
    monkeypatch.setattr(module_glue, 'run_pipeline', refuse)
    out = _run(macvtap, {'name': 'a', 'lower': 'eth1', 'mtu': 9}, capsys)
    assert out['failed'] and (out['field'], out['value'], out['obj']) == ('mtu', 9, 'a')
