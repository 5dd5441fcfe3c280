"""The lean link parsers on messages the kernel itself sends: for every kind of object the kernel
tests create, the lean read equals pyroute2's full decode read by parse_link (the engine's link
states before the lean parsers); mutated real messages never crash the parser; failures of the
hook fall back to the full decode; the kernel's own errors still raise as they did."""

import importlib.metadata
import random
import struct

import pytest
from conftest import new_netns, del_netns, sh

from ansible_collections.hostnet.vif.plugins.module_utils import _linkparse as lp
from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kernel

SOURCES = ('02:00:5e:00:00:03', '02:00:5e:00:00:01', '02:00:5e:00:00:02')


def session(netns):
    """A pyroute2 session in netns, whatever the pyroute2 (the file also runs under 0.7 / 0.8)."""
    from pyroute2 import IPRoute
    try:
        return IPRoute(netns=netns, flags=0)
    except TypeError:  # before 0.9: a proxy process
        from pyroute2 import NetNS
        return NetNS(netns, flags=0)


def _version():
    return tuple(int(p) for p in importlib.metadata.version('pyroute2').split('.')[:3])


@pytest.fixture(scope='module')
def zoo():
    """Every kind of object the kernel tests make: macvlan and macvtap in each mode (source with a
    list, passthru with nopromisc), tun and tap devices with each flag and owner, bridge ports with
    hairpin on and off, a link that is down with its own MTU and group, and links whose lower
    device or peer is in another namespace (link-netnsid)."""
    ns, other = new_netns('lp'), new_netns('lq')
    try:
        def ip(*args):
            sh('ip', '-n', ns, *args)
        for lower in ('v0', 'w0', 'x0'):
            ip('link', 'add', lower, 'type', 'veth', 'peer', 'name', lower[0] + '1')
            ip('link', 'set', lower, 'up')
        for kind in ('macvlan', 'macvtap'):
            for mode in ('vepa', 'bridge', 'private', 'source'):
                ip('link', 'add', 'link', 'v0', 'name', '%s-%s' % (kind[:5], mode), 'type', kind, 'mode', mode)
            ip('link', 'set', '%s-source' % kind[:5], 'type', kind, 'macaddr', 'set', *SOURCES)
        ip('link', 'add', 'link', 'w0', 'name', 'macvl-pt', 'type', 'macvlan', 'mode', 'passthru', 'nopromisc')
        ip('link', 'add', 'link', 'x0', 'name', 'macvt-pt', 'type', 'macvtap', 'mode', 'passthru')
        ip('link', 'set', 'macvl-vepa', 'mtu', '1400', 'group', '42', 'down')
        ip('link', 'set', 'macvl-bridge', 'up')
        sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tp-all', 'mode', 'tap', 'user', '65534', 'group', '65534',
           'multi_queue', 'vnet_hdr', 'pi')
        sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tp-bare', 'mode', 'tap')
        sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tn-pi', 'mode', 'tun', 'pi', 'user', '0')
        sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tn-mq', 'mode', 'tun', 'multi_queue', 'group', '100')
        ip('link', 'add', 'br0', 'type', 'bridge')
        for port in ('tp-all', 'tp-bare', 'v1'):
            ip('link', 'set', port, 'master', 'br0')
        ip('link', 'set', 'tp-all', 'type', 'bridge_slave', 'hairpin', 'on')
        ip('link', 'set', 'v1', 'type', 'bridge_slave', 'hairpin', 'on')
        ip('link', 'add', 'link', 'v0', 'name', 'moved', 'type', 'macvlan', 'mode', 'bridge')
        ip('link', 'set', 'moved', 'netns', other)
        ip('link', 'add', 'pe0', 'type', 'veth', 'peer', 'name', 'pe1', 'netns', other)
        yield ns, other
    finally:
        del_netns(ns)
        del_netns(other)


def full_records(ipr):
    return [lp.parse_link(msg) for msg in ipr.link('dump')]


def expected_styles():
    """The request styles this pyroute2 may use: the hook is in 0.7.12 and later (0.7.2 has none)."""
    version = _version()
    if version >= (0, 9):
        return ('request',)
    if version >= (0, 7, 12):
        return ('nlm_request',)
    if version <= (0, 7, 2):
        return (None,)
    return (None, 'nlm_request')


def test_the_lean_read_equals_the_full_decode_for_every_kind(zoo, monkeypatch):
    lean_calls = []
    monkeypatch.setattr(lp, 'lean_link', _spy(lp.lean_link, lean_calls))
    for netns in zoo:
        with session(netns) as ipr:
            style = lp.request_style(ipr)
            assert style in expected_styles()
            del lean_calls[:]
            lean = lp.read_links(ipr)
            full = full_records(ipr)
            assert lean == full
            assert len(lean_calls) == (len(lean) if style else 0)  # the lean parser read every link
    in_other = dict((link['name'], link) for link in lean)  # the last namespace read
    assert in_other['moved']['lower_netnsid'] is not None and in_other['pe1']['lower_netnsid'] is not None
    with session(zoo[0]) as ipr:
        links = dict((link['name'], link) for link in lp.read_links(ipr))
    assert set(links) >= {'macvl-vepa', 'macvl-bridge', 'macvl-private', 'macvl-source', 'macvl-pt', 'macvt-vepa',
                          'macvt-bridge', 'macvt-private', 'macvt-source', 'macvt-pt', 'tp-all', 'tp-bare', 'tn-pi',
                          'tn-mq', 'br0', 'v1'}
    # the oracle for the fields themselves is iproute2 (tests/kernel/test_vif_info.py); a few here
    assert links['macvt-source']['source_macs'] == sorted(SOURCES)
    assert (links['macvl-pt']['mode'], links['macvl-pt']['nopromisc'], links['macvt-pt']['nopromisc']) == (
        'passthru', True, False)
    assert (links['macvl-vepa']['mtu'], links['macvl-vepa']['group'], links['macvl-vepa']['admin_state']) == (
        1400, 42, 'down')
    assert links['tp-all']['tun'] == {'type': 'tap', 'owner': 65534, 'group': 65534, 'packet_info': True,
                                      'vnet_hdr': True, 'persistent': True, 'multi_queue': True, 'queues': 0}
    assert (links['tp-all']['hairpin'], links['tp-bare']['hairpin'], links['v1']['hairpin']) == (True, False, True)


def test_the_engine_reads_through_the_lean_parsers(zoo, monkeypatch):
    """Kernel.dump_links (names of lowers and masters resolved) and Kernel.vf_settings go through
    the lean parsers where pyroute2 has the hook, and give what the full decode gives."""
    link_calls, vf_calls = [], []
    monkeypatch.setattr(lp, 'lean_link', _spy(lp.lean_link, link_calls))
    monkeypatch.setattr(lp, 'lean_vf_info', _spy(lp.lean_vf_info, vf_calls))
    with kernel.Kernel(zoo[0]) as kern:
        hooked = lp.request_style(kern.ipr) is not None
        lean = kern.dump_links()
        vfs = kern.vf_settings(lean['v0']['index'])
        assert (len(link_calls), len(vf_calls)) == ((len(lean), 1) if hooked else (0, 0))
        monkeypatch.setattr(lp, 'request_style', lambda ipr: None)
        assert kern.dump_links() == lean and kern.vf_settings(lean['v0']['index']) == vfs == []
    assert lean['macvl-source']['lower'] == 'v0' and lean['tp-all']['master'] == 'br0'


def _spy(func, calls):
    def spy(*args):
        calls.append(args)
        return func(*args)
    return spy


def raw_messages(ipr):
    """The kernel's RTM_NEWLINK messages of one dump, as bytes (sliced from pyroute2's buffers)."""
    return [bytes(msg.data[msg.offset:msg.offset + msg['header']['length']]) for msg in ipr.link('dump')]


def test_fuzz_mutated_kernel_messages(zoo):
    """A few thousand deterministic mutations of real messages (bytes overwritten, NLA lengths
    changed, cut, padded): the parser returns a record or raises LinkParseError; the hook pyroute2
    calls always returns a message for its loop."""
    with session(zoo[0]) as ipr:
        raw = raw_messages(ipr)
        marshal = ipr.marshal
    assert len(raw) >= 20 and all(outcome(lp.lean_link, data, len(data)) == 'record' for data in raw)
    rng = random.Random(20261201)
    # pyroute2 without the hook (0.7.2) has no parse_one_message to hand other messages to: the
    # hook is never made there, the parsers are fuzzed alone
    hook = lp._Hook(marshal, lp.lean_link, lp.parse_link) if hasattr(marshal, 'parse_one_message') else None
    outcomes = {'record': 0, 'LinkParseError': 0}
    for _round in range(4000):
        data = bytearray(rng.choice(raw))
        how = rng.randrange(4)
        if how == 0:
            for _byte in range(rng.randint(1, 4)):
                data[rng.randrange(16, len(data))] = rng.randrange(256)
        elif how == 1:  # an NLA length (16 bits at a 4-byte boundary past the headers)
            pos = rng.randrange(32, len(data) - 2) & ~3
            data[pos:pos + 2] = struct.pack('=H', rng.choice((0, 2, 4, 5, 8, 0xffff, rng.randrange(0x10000))))
        elif how == 2:
            data = data[:rng.randrange(16, len(data))]
        else:
            data += bytes(rng.randrange(1, 32))
        length = len(data) if rng.random() < 0.8 else rng.randrange(16, len(data) + 1)
        data = bytes(data)
        outcomes[outcome(lp.lean_link, data, length)] += 1
        outcome(lp.lean_vf_info, data, length)
        if hook:
            got = hook(data, 0, length)
            records = got['records'] if got is not None else hook.take()
            assert len(records) == 1 and isinstance(records[0], (dict, lp.LinkParseError))
    assert outcomes['record'] > 400 and outcomes['LinkParseError'] > 400, outcomes


def outcome(parser, data, length):
    try:
        parser(data, 0, length)
    except lp.LinkParseError:
        return 'LinkParseError'
    return 'record'


def test_unreadable_messages_are_read_by_pyroute2_instead(zoo, monkeypatch):
    """A message the lean parser refuses (LinkParseError) is decoded by pyroute2: the same records."""
    real = lp.lean_link

    def refuse_taps(data, offset, length):
        record = real(data, offset, length)
        if record['kind'] == 'tun':
            raise lp.LinkParseError('refused for the test')
        return record
    monkeypatch.setattr(lp, 'lean_link', refuse_taps)
    with session(zoo[0]) as ipr:
        refused = lp.read_links(ipr)
        assert any(link['kind'] == 'tun' for link in refused) and refused == full_records(ipr)


class _NeverEnded(lp._Hook):
    """A hook that never sees the dump's NLMSG_DONE (as if pyroute2 stopped reading early)."""

    @property
    def ended(self):
        return False

    @ended.setter
    def ended(self, value):
        pass


def _raise_type_error(*args):
    raise TypeError("an API this pyroute2 does not have")


@pytest.mark.parametrize('breakage', ['machinery raises', 'dump without NLMSG_DONE'])
def test_a_hook_that_misbehaves_switches_to_the_full_decode(zoo, monkeypatch, breakage):
    monkeypatch.setattr(lp, '_STYLES', {})
    if breakage == 'machinery raises':
        monkeypatch.setattr(lp, '_request', _raise_type_error)
    else:
        monkeypatch.setattr(lp, '_Hook', _NeverEnded)
    with session(zoo[0]) as ipr:
        style = lp.request_style(ipr)
        assert lp.read_links(ipr) == full_records(ipr)
        assert lp._STYLES[type(ipr)] is None and style in expected_styles()


def test_kernel_errors_raise_as_before(zoo):
    """A get of an index that does not exist: the kernel's ENODEV, as with pyroute2's own get."""
    from pyroute2.netlink.exceptions import NetlinkError
    with session(zoo[0]) as ipr:
        style = lp.request_style(ipr)
        with pytest.raises(NetlinkError) as err:
            lp.read_vf_info(ipr, 99999)
        assert err.value.code == 19
        assert lp.request_style(ipr) == style
        v0 = [link['index'] for link in lp.read_links(ipr) if link['name'] == 'v0'][0]
        assert lp.read_vf_info(ipr, v0) == lp.parse_vf_info(ipr.link('get', index=v0, ext_mask=1)[0]) == []
