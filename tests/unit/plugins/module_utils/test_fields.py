"""The field tables (_kinds/_fields.py): what a table line gives, and that every table's defaults are
in normal form (a missing value takes the default as it is, without a check)."""

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import _fields, hairpin, ipvl, macv, sriov, tap
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._links import DEVICE_FIELDS

TABLES = {'macvlan': macv.MacvHandler.LINK_FIELDS, 'ipvlan': ipvl.IpvlHandler.LINK_FIELDS, 'device': DEVICE_FIELDS,
          'tap': tap.TAP_FIELDS, 'pf': sriov.PF_FIELDS, 'vf': sriov.VF_FIELDS, 'port': hairpin.PORT_FIELDS}


@pytest.mark.parametrize('table', sorted(TABLES))
def test_every_default_is_in_normal_form(table):
    for field in TABLES[table]:
        if field.default is not None:
            assert field.normalise(field.default, 'x') == field.default, field.name


def test_a_line_gives_the_top_level_option_and_the_entry_suboption():
    table = (_fields.Field('name', per_entry=True), _fields.Field('mtu', type='int', default=1500),
             _fields.Field('vf', type='int', required=True))
    spec = _fields.argument_spec(table, 'items')
    assert spec['mtu'] == {'type': 'int', 'default': 1500} and 'required' not in spec['vf']
    assert spec['items']['options']['mtu'] == {'type': 'int'}  # no default: the entry inherits the top level
    assert spec['items']['options']['vf'] == {'type': 'int', 'required': True}
    assert _fields.names(table, per_entry=True) == ('name',)


def test_normalise_checks_choices_booleans_and_lists_and_names_the_field():
    mode = _fields.Field('mode', choices=('a', 'b'))
    with pytest.raises(VifError) as err:
        mode.normalise('c', 'link0')
    assert err.value.field == 'mode' and 'expected a or b' in err.value.msg and err.value.obj == 'link0'
    assert _fields.Field('on', type='bool').normalise('yes') is True
    with pytest.raises(VifError, match='expected a list'):
        _fields.Field('macs', type='list').normalise('02:00:00:00:00:01')
    assert _fields.normalise((mode, _fields.Field('up', type='bool', default=True)), {}) == {'mode': None, 'up': True}
