"""hostnet.vif.reflective_relay's method lldp against real lldpads: one in a switch-side namespace
advertising EVB (IEEE 802.1Qbg-2012) in the bridge role, one in the host namespace in the station
role, exchanging LLDP frames over a veth pair. Each lldpad runs in its own mount namespace with
private /run and /dev/shm (its pid file and its "lldpad.state" segment) and its own config file;
its control socket is an abstract UNIX socket, so per network namespace. scripts/setup unpacks
lldpad into the virtual environment (never installed: its service would start a daemon)."""

import os
import subprocess
import sys
import time

import pytest
from conftest import del_netns, new_netns, sh

from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

LLDPAD_ROOT = os.path.join(sys.prefix, 'lldpad')
SBIN = os.path.join(LLDPAD_ROOT, 'usr', 'sbin')
LIB_DIRS = (('usr', 'lib', 'x86_64-linux-gnu'), ('lib', 'x86_64-linux-gnu'))  # where the unpacked .so files are
LIBS = ':'.join(os.path.join(LLDPAD_ROOT, *part) for part in LIB_DIRS)

# lldpad's own config format (libconfig); tlvid0080c20d is the 802.1Qbg-2012 EVB TLV, on the
# nearest-customer-bridge agent where EVB lives; adminStatus 3 = rxtx.
CONFIG = '''nearest_customer_bridge : {
  %(ifname)s : {
    adminStatus = 3;
    tlvid0080c20d : { enableTx = true; evbmode = "%(role)s"; %(flag)s = %(value)s; };
  };
};
'''


@pytest.fixture
def lldp_env(monkeypatch):
    assert os.access(os.path.join(SBIN, 'lldpad'), os.X_OK), 'lldpad is missing: scripts/setup unpacks it (%s)' % SBIN
    monkeypatch.setenv('PATH', SBIN + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('LD_LIBRARY_PATH', LIBS)


def start_lldpad(ns, directory, ifname, role, flag, value):
    config = os.path.join(directory, '%s.conf' % ns)
    with open(config, 'w') as handle:
        handle.write(CONFIG % dict(ifname=ifname, role=role, flag=flag, value=value))
    script = ('mount -t tmpfs hvt-lldpad /run && mount -t tmpfs hvt-lldpad /dev/shm && '
              'exec "$0" -p -t -f "$1"')
    # ip netns exec, unshare and sh all exec: the pid stays lldpad's.
    return subprocess.Popen(['ip', 'netns', 'exec', ns, 'unshare', '-m', '--propagation', 'private',
                             'sh', '-c', script, os.path.join(SBIN, 'lldpad'), config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def lldptool(ns, *args):
    return sh('ip', 'netns', 'exec', ns, os.path.join(SBIN, 'lldptool'), *args, check=False).stdout


def wait_for_bridge_flags(host, flags):
    """The EVB bridge status the host's lldpad has received from the switch, once it is ``flags``."""
    deadline = time.monotonic() + 20
    while True:
        text = lldptool(host, '-t', '-n', '-g', 'ncb', '-i', 'uplink', '-V', 'evb')
        if ('\tbridge:%s(' % flags) in text:
            return
        assert time.monotonic() < deadline, 'no EVB TLV with bridge:%s reached the host: %r' % (flags, text)
        time.sleep(0.1)


@pytest.fixture
def evb_pair(lldp_env, tmp_path):
    """host 'uplink' <-veth-> switch 'swp': an lldpad on each side, the switch port's lldpad in the
    EVB bridge role and reflective-relay capable, the host's a station asking for reflective relay."""
    host, switch = new_netns('h'), new_netns('s')
    daemons = []
    try:
        sh('ip', '-n', switch, 'link', 'add', 'swp', 'type', 'veth', 'peer', 'name', 'uplink', 'netns', host)
        sh('ip', '-n', switch, 'link', 'set', 'swp', 'up')
        sh('ip', '-n', host, 'link', 'set', 'uplink', 'up')
        daemons.append(start_lldpad(switch, str(tmp_path), 'swp', 'bridge', 'evbrrcap', 'true'))
        daemons.append(start_lldpad(host, str(tmp_path), 'uplink', 'station', 'evbrrreq', 'true'))
        yield host, switch
    finally:
        for daemon in daemons:
            daemon.kill()
            daemon.wait()
        del_netns(host)
        del_netns(switch)


def relay(host, **params):
    return pipeline.run_relay(dict(params, netns=host, lower='uplink'))['relays']


def test_lldp_reads_the_switchs_real_evb_advertisement(evb_pair):
    host, switch = evb_pair
    wait_for_bridge_flags(host, 'rrcap,rrctr')  # the switch granted reflective relay
    [result] = relay(host, method='lldp', expect='required')
    assert (result['method'], result['reflective_relay']) == ('lldp', True)
    assert result['evidence']['bridge'] == ['rrcap', 'rrctr'] and 'EVB Configuration TLV' in result['evidence']['tlv']
    # auto takes lldpad's word: the probe on this bare veth (no switch reflects anything) would say false
    [result] = relay(host, expect='required')
    assert (result['method'], result['reflective_relay']) == ('lldp', True)

    lldptool(switch, '-T', '-i', 'swp', '-g', 'ncb', '-V', 'evb', '-c', 'evbrrcap=no')
    wait_for_bridge_flags(host, '')  # the switch's TLV now says: no reflective relay
    for method in ('lldp', 'auto'):
        with pytest.raises(VifError) as err:
            relay(host, method=method, expect='required')
        assert ('uplink cannot reach each other: the switch port does not reflect frames back (the switch says so '
                'over LLDP); enable reflective relay') in err.value.msg
        assert err.value.to_result()['relays'][0]['method'] == 'lldp'
    [result] = relay(host, method='lldp', expect='forbidden')
    assert result['reflective_relay'] is False


def test_lldp_when_the_switch_only_offers_relay_and_the_host_does_not_ask(evb_pair):
    """RRCAP without RRCTR: the port could reflect but does not; the verdict is false."""
    host, _switch = evb_pair
    wait_for_bridge_flags(host, 'rrcap,rrctr')
    lldptool(host, '-T', '-i', 'uplink', '-g', 'ncb', '-V', 'evb', '-c', 'evbrrreq=no')
    wait_for_bridge_flags(host, 'rrcap')
    [result] = relay(host, method='lldp', expect='forbidden')
    assert (result['method'], result['reflective_relay']) == ('lldp', False)


def test_auto_falls_back_to_the_probe_when_no_lldpad_runs(switched, lldp_env):
    host, switch = switched
    pipeline.run_hairpin(dict(netns=switch, name='swp', hairpin=True))
    [result] = relay(host, expect='required')
    assert (result['method'], result['reflective_relay']) == ('probe', True)
    assert result['lldp']['lldpad'] == 'not running'
    with pytest.raises(VifError) as err:
        relay(host, method='lldp')
    assert 'method lldp, but' in err.value.msg and err.value.field == 'method'
