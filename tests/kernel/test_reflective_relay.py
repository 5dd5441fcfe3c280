"""hostnet.vif.reflective_relay against the lab's Linux-bridge switch: the probe's verdict follows the
switch port's hairpin, expectations fail loudly, nothing is left behind (also after a failure or a
kill), refusals, and the cross-check with real VEPA endpoints made by hostnet.vif.macvlan."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, links, sh, snapshot
from test_traffic import ping

from ansible_collections.hostnet.vif.plugins.module_utils import pipeline, probe
from ansible_collections.hostnet.vif.plugins.module_utils.errors import VifError


def helpers():
    """pids of probe helper processes (the owners of the probe's private namespaces)."""
    found = []
    for entry in os.listdir('/proc'):
        try:
            with open('/proc/%s/comm' % entry, 'rb') as handle:
                if entry.isdigit() and handle.read().strip() == probe.HELPER_NAME:
                    found.append(int(entry))
        except OSError:
            continue
    return found


def promiscuity(ns, name):
    """A probe endpoint on a veth raises the lower device's promiscuity; back to 0 once it is gone."""
    return links(ns)[name]['promiscuity']


def assert_nothing_left(host, before):
    deadline = time.monotonic() + 3
    while (helpers() or promiscuity(host, 'uplink')) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert helpers() == []
    assert promiscuity(host, 'uplink') == 0
    assert snapshot(host) == before


def relay(host, **params):
    params.setdefault('lower', 'uplink')
    return pipeline.run_relay(dict(params, netns=host))['relays']


@pytest.mark.parametrize('hairpin', [True, False])
def test_probe_follows_the_switch_ports_hairpin_and_leaves_nothing(switched, hairpin):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
    before = snapshot(host)
    [result] = relay(host, method='probe')
    assert (result['reflective_relay'], result['method'], result['lower']) == (hairpin, 'probe', 'uplink')
    evidence = result['evidence']
    assert evidence['frames_sent'] == 5 and evidence['ethertype'] == '0x88b5'
    assert evidence['frames_received'] == (5 if hairpin else 0)
    for mac in (evidence['sender_mac'], evidence['receiver_mac']):
        assert int(mac.split(':')[0], 16) & 0x03 == 0x02  # locally administered unicast
    assert_nothing_left(host, before)


@pytest.mark.parametrize('hairpin, expect, fails', [
    (False, 'required', True), (True, 'required', False), (True, 'forbidden', True), (False, 'forbidden', False),
    (False, 'any', False), (True, 'any', False)])
def test_expect_is_honoured_both_ways(switched, hairpin, expect, fails):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
    if not fails:
        [result] = relay(host, expect=expect)
        assert result['reflective_relay'] is hairpin and result['expect'] == expect
        return
    with pytest.raises(VifError) as err:
        relay(host, expect=expect)
    words = 'cannot reach each other' if expect == 'required' else 'reflects frames back'
    assert words in err.value.msg and 'uplink' in err.value.msg
    assert err.value.to_result()['relays'][0]['reflective_relay'] is hairpin


def test_cross_check_with_real_vepa_endpoints(switched, endpoint_ns):
    """Whenever the probe says true, VEPA endpoints made by hostnet.vif.macvlan reach each other;
    whenever it says false, they don't."""
    host, switch = switched
    pipeline.run_links(dict(netns=host, lower='uplink', mode='vepa', links=[dict(name='ea'), dict(name='eb')]),
                       'macvlan')
    spots = {}
    for dev, address in (('ea', '198.51.100.1/24'), ('eb', '198.51.100.2/24')):
        spots[dev] = endpoint_ns()
        sh('ip', '-n', host, 'link', 'set', dev, 'netns', spots[dev])
        sh('ip', '-n', spots[dev], 'addr', 'add', address, 'dev', dev)
        sh('ip', '-n', spots[dev], 'link', 'set', dev, 'up')
    for hairpin in (False, True, False):
        pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=hairpin))
        [result] = relay(host)
        assert result['reflective_relay'] is ping(spots['ea'], '198.51.100.2') is hairpin


def test_two_lower_devices_in_one_task(switched):
    host, switch = switched
    sh('ip', '-n', switch, 'link', 'add', 'swq', 'type', 'veth', 'peer', 'name', 'uplink2', 'netns', host)
    sh('ip', '-n', switch, 'link', 'set', 'swq', 'master', 'sw0')
    sh('ip', '-n', switch, 'link', 'set', 'swq', 'up')
    sh('ip', '-n', host, 'link', 'set', 'uplink2', 'up')
    pipeline.run_hairpin(dict(netns=switch, ports=[dict(name='swp', hairpin=True), dict(name='swq', hairpin=False)]))
    results = pipeline.run_relay(dict(netns=host, lowers=[dict(name='uplink', expect='required'),
                                                          dict(name='uplink2', expect='forbidden')]))['relays']
    assert [(r['lower'], r['reflective_relay']) for r in results] == [('uplink', True), ('uplink2', False)]


def test_check_mode_reports_unknown_unless_asked(switched):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=True))
    [result] = pipeline.run_relay(dict(netns=host, lower='uplink', expect='forbidden'), check_mode=True)['relays']
    assert result['reflective_relay'] is None and 'probe_in_check_mode' in result['reason']
    [result] = pipeline.run_relay(dict(netns=host, lower='uplink', probe_in_check_mode=True),
                                  check_mode=True)['relays']
    assert result['reflective_relay'] is True


def test_a_failure_mid_probe_leaves_nothing(switched, monkeypatch):
    host, switch = switched
    before = snapshot(host)
    real_call = probe.Endpoint.call

    def fail_on_collect(self, request, timeout):
        if request['op'] == 'collect':
            assert helpers() and promiscuity(host, 'uplink') == 1  # the probe really was half-way
            raise RuntimeError('injected failure')
        return real_call(self, request, timeout)
    monkeypatch.setattr(probe.Endpoint, 'call', fail_on_collect)
    with pytest.raises(VifError) as err:
        relay(host)
    assert 'the probe failed: injected failure' in err.value.msg
    assert_nothing_left(host, before)


KILLED = '''
import sys
sys.path.insert(0, sys.argv[2])
from ansible_collections.hostnet.vif.plugins.module_utils import pipeline
pipeline.run_relay(dict(netns=sys.argv[1], lower='uplink', timeout=30))
'''


def test_a_killed_probe_leaves_nothing_and_the_next_run_works(switched):
    """SIGKILL to the module's process while the probe waits (hairpin off: it would wait 30 s)."""
    host, switch = switched
    before = snapshot(host)
    collections = os.path.join(REPO, '.venv', 'collections')
    proc = subprocess.Popen([sys.executable, '-c', KILLED, host, collections])
    try:
        deadline = time.monotonic() + 10
        while len(helpers()) < 2 or promiscuity(host, 'uplink') < 1:
            assert time.monotonic() < deadline and proc.poll() is None, 'the probe never started'
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert_nothing_left(host, before)
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=True))
    assert relay(host)[0]['reflective_relay'] is True
    assert_nothing_left(host, before)


def refuse(host, lower='uplink', **params):
    before = snapshot(host)
    with pytest.raises(VifError) as err:
        relay(host, lower=lower, **params)
    assert snapshot(host) == before and helpers() == []
    return err.value


def test_refusals_name_the_device_and_say_why(switched, endpoint_ns):
    host, switch = switched
    assert 'no such device' in refuse(host, lower='nope').msg
    sh('ip', '-n', switch, 'link', 'set', 'swp', 'down')
    assert 'no carrier' in refuse(host).msg
    sh('ip', '-n', switch, 'link', 'set', 'swp', 'up')
    sh('ip', '-n', host, 'link', 'set', 'uplink', 'down')
    err = refuse(host)
    assert 'the device is down' in err.msg and err.field == 'lower' and err.value == 'uplink'
    sh('ip', '-n', host, 'link', 'set', 'uplink', 'up')
    pipeline.run_links(dict(netns=host, name='pt0', lower='uplink', mode='passthru'), 'macvlan')
    assert 'carries the passthru macvlan pt0' in refuse(host).msg
    with pytest.raises(VifError) as err:
        pipeline.run_relay(dict(netns='hvt-no-such-ns', lower='uplink'))
    assert 'does not exist' in err.value.msg and err.value.field == 'netns'
    err = refuse(host, method='lldp')
    assert err.field == 'method' and 'lldp' in err.msg


def test_a_macvlan_as_lower_device_is_reported_not_probed(switched):
    host, _switch = switched
    pipeline.run_links(dict(netns=host, name='mv0', lower='uplink', mode='bridge'), 'macvlan')
    [result] = relay(host, lower='mv0', expect='required')
    assert result['reflective_relay'] is None and 'probe that device instead' in result['reason']
    assert helpers() == []


def test_vif_info_reports_the_relay_only_when_asked(switched):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=True))
    assert 'reflective_relay' not in pipeline.run_info(dict(netns=host))['vif'] and helpers() == []
    vif = pipeline.run_info(dict(netns=host, reflective_relay=['uplink']))['vif']
    assert [(r['lower'], r['reflective_relay'], r['method']) for r in vif['reflective_relay']] == [
        ('uplink', True, 'probe')]
    vif = pipeline.run_info(dict(netns=host, reflective_relay=['uplink']), check_mode=True)['vif']
    assert vif['reflective_relay'][0]['reflective_relay'] is None
