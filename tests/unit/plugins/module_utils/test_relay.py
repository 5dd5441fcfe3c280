"""Reflective-relay expectations: specs, refusals, verdict sentences and lldptool's EVB text."""

import pytest
from ansible_collections.hostnet.vif.tests.unit.plugins.module_utils.test_model import CURRENT, link

from ansible_collections.hostnet.vif.plugins.module_utils import _relay as relay
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def test_entries_inherit_the_top_level_expect_and_method():
    specs = relay.build_relay_specs({'lowers': ['eth1', {'name': 'eth2', 'expect': 'forbidden'}],
                                     'expect': 'required', 'method': 'probe'})
    assert specs == [{'name': 'eth1', 'expect': 'required', 'method': 'probe'},
                     {'name': 'eth2', 'expect': 'forbidden', 'method': 'probe'}]


@pytest.mark.parametrize('params, field', [
    ({}, 'lower'), ({'lower': 'e', 'lowers': ['f']}, 'lowers'), ({'lower': 'x' * 16}, 'lower'),
    ({'lowers': [{'name': 'e', 'colour': 1}]}, 'lowers[0]'), ({'lowers': ['e', 'e']}, 'lower'),
    ({'lower': 'e', 'expect': 'maybe'}, 'expect'), ({'lower': 'e', 'frames': 0}, 'frames'),
    ({'lower': 'e', 'timeout': 99.0}, 'timeout')])
def test_bad_input_names_the_field(params, field):
    with pytest.raises(VifError) as err:
        relay.build_relay_specs(params)
    assert err.value.field == field


def test_obstacles_refuse_or_report():
    up = dict(CURRENT, eth1=link('eth1', kind='veth', carrier=True))
    assert relay.probe_obstacle('eth1', up) is None
    assert 'no carrier' in _refusal('eth1', dict(up, eth1=dict(up['eth1'], carrier=False)))
    assert 'is down' in _refusal('eth1', dict(up, eth1=dict(up['eth1'], admin_state='down')))
    assert 'passthru macvtap pt' in _refusal('eth1', dict(up, pt=link('pt', 'macvtap', 'eth1', 'passthru')))
    assert 'probe that device instead' in relay.probe_obstacle('mv', dict(up, mv=link('mv', lower='eth1')))


def _refusal(name, links):
    with pytest.raises(VifError) as err:
        relay.probe_obstacle(name, links)
    return err.value.msg


def test_lldptool_evb_text():
    """The text lldpad's evb22 module prints for a neighbour's EVB TLV (no switch here sends one)."""
    text = ('EVB Configuration TLV\n\tbridge:rrcap,rrctr(0x6)\n\tstation:rrreq,rrstat(0x5)\n\tretries:7 rte:20\n'
            '\tmode:bridge r/l:0 rwd:20\n\tr/l:0 rka:20\n')
    assert relay.parse_evb(text) == {'bridge': ['rrcap', 'rrctr'], 'station': ['rrreq', 'rrstat']}
    assert relay.parse_evb('Agent instance for device not found') is None


def test_only_contradictions_fail_and_say_what_to_do():
    result = {'lower': 'eth1', 'expect': 'required', 'reflective_relay': False,
              'evidence': {'frames_sent': 5, 'frames_received': 0}}
    text = relay.contradiction(result)
    assert 'VEPA endpoints on eth1 cannot reach each other' in text and '0 of 5' in text and 'bridge mode' in text
    assert relay.contradiction(dict(result, reflective_relay=None)) is None
    assert relay.contradiction(dict(result, expect='any')) is None
