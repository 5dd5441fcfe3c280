"""hostnet.vif.hairpin against real bridge ports."""

import pytest
from conftest import links, sh, snapshot

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


def hairpin_of(ns, port):
    return links(ns)[port]['linkinfo']['info_slave_data']['hairpin']


@pytest.fixture
def bridge(ns):
    sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    for port in ('p0', 'p1'):
        sh('ip', '-n', ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', port + 'x')
        sh('ip', '-n', ns, 'link', 'set', port, 'master', 'br0')
    return ns


def test_on_off_idempotent_and_check_mode(bridge, writes):
    ns = bridge
    predicted = pipeline.run_hairpin(dict(netns=ns, name='p0', hairpin=True), check_mode=True, diff=True)
    assert predicted['changed'] and hairpin_of(ns, 'p0') is False and writes == []
    assert predicted['diff']['after'] == 'bridge port p0 (bridge br0): hairpin on\n'
    done = pipeline.run_hairpin(dict(netns=ns, name='p0', hairpin=True))
    assert done['actions'] == ['ip link set p0 type bridge_slave hairpin on'] and hairpin_of(ns, 'p0') is True
    del writes[:]
    again = pipeline.run_hairpin(dict(netns=ns, name='p0', hairpin=True))
    assert again['changed'] is False and writes == []
    pipeline.run_hairpin(dict(netns=ns, name='p0', hairpin=False))
    assert hairpin_of(ns, 'p0') is False


def test_list_of_ports_with_per_port_values(bridge):
    ns = bridge
    result = pipeline.run_hairpin(dict(netns=ns, hairpin=True, ports=[dict(name='p0'), dict(name='p1', hairpin=False)]))
    assert (hairpin_of(ns, 'p0'), hairpin_of(ns, 'p1')) == (True, False)
    assert [p['bridge'] for p in result['ports']] == ['br0', 'br0']


@pytest.mark.parametrize('port, words', [('v0', 'not a port of a Linux bridge'), ('nope', 'no such device')])
def test_a_port_that_is_not_a_bridge_port_is_refused(bridge, writes, port, words):
    before = snapshot(bridge)
    with pytest.raises(VifError) as err:
        pipeline.run_hairpin(dict(netns=bridge, ports=[dict(name='p0'), dict(name=port)]))
    assert words in err.value.msg and err.value.value == port
    assert writes == [] and snapshot(bridge) == before
