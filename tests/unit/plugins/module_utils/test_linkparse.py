"""The lean link parsers against pyroute2's full decode, on messages pyroute2 itself encodes (the
kernel-made messages are compared in tests/kernel/test_linkparse_dump.py and, for an SR-IOV PF, in
tests/qemu/test_linkparse_vf.py): equal records, one error type for what they cannot read, and
the parser hook that never raises into pyroute2's loop."""

import random
import struct

import pytest
from pyroute2.netlink import NLM_F_MULTI, NLMSG_DONE
from pyroute2.netlink.rtnl import RTM_NEWLINK
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from ansible_collections.hostnet.vif.plugins.module_utils import _linkparse as lp
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

COMMON = [('IFLA_IFNAME', 'mv0'), ('IFLA_ADDRESS', '02:00:5e:00:00:10'), ('IFLA_MTU', 1400),
          ('IFLA_MAX_MTU', 9000), ('IFLA_OPERSTATE', 'UP'), ('IFLA_GROUP', 7), ('IFLA_PROMISCUITY', 1),
          ('IFLA_LINK', 2)]


def encode(attrs, index=5, flags=0x11043, ifi_type=1, header_flags=NLM_F_MULTI):
    msg = ifinfmsg()
    msg['header']['type'] = RTM_NEWLINK
    msg['header']['flags'] = header_flags
    msg['index'], msg['flags'], msg['ifi_type'] = index, flags, ifi_type
    msg['attrs'] = attrs
    msg.encode()
    return bytes(msg.data)


def full_decode(data):
    msg = ifinfmsg(data)
    msg.decode()
    return msg


def info(kind, data=None, slave_kind=None, slave_data=None):
    attrs = [('IFLA_INFO_KIND', kind)]
    if data is not None:
        attrs.append(('IFLA_INFO_DATA', {'attrs': data}))
    if slave_kind:
        attrs += [('IFLA_INFO_SLAVE_KIND', slave_kind), ('IFLA_INFO_SLAVE_DATA', {'attrs': slave_data})]
    return ('IFLA_LINKINFO', {'attrs': attrs})


MESSAGES = {
    'macvlan source with a source list': COMMON + [info('macvlan', [
        ('IFLA_MACVLAN_MODE', 'source'), ('IFLA_MACVLAN_FLAGS', 0), ('IFLA_MACVLAN_MACADDR_DATA', {'attrs': [
            ('IFLA_MACVLAN_MACADDR', '02:00:5e:00:00:02'), ('IFLA_MACVLAN_MACADDR', '02:00:5e:00:00:01')]})])],
    'macvtap passthru nopromisc': COMMON + [info('macvtap', [
        ('IFLA_MACVTAP_MODE', 'passthru'), ('IFLA_MACVTAP_FLAGS', 'nopromisc')])],
    'macvlan without info data': COMMON + [info('macvlan')],
    # pyroute2 has no name for flags 3 (nopromisc|nodst) or mode 32: kept as numbers, nopromisc False
    'macvlan flags and mode pyroute2 cannot name': COMMON + [info('macvlan', [
        ('IFLA_MACVLAN_MODE', 32), ('IFLA_MACVLAN_FLAGS', 3)])],
    'tap with every flag, owner and group': COMMON + [info('tun', [
        ('IFLA_TUN_OWNER', 65534), ('IFLA_TUN_GROUP', 100), ('IFLA_TUN_TYPE', 2), ('IFLA_TUN_PI', 1),
        ('IFLA_TUN_VNET_HDR', 1), ('IFLA_TUN_PERSIST', 1), ('IFLA_TUN_MULTI_QUEUE', 1),
        ('IFLA_TUN_NUM_QUEUES', 4)])],
    'tun without owner': COMMON + [info('tun', [('IFLA_TUN_TYPE', 1), ('IFLA_TUN_PI', 0)])],
    'bridge port, hairpin on': COMMON + [('IFLA_MASTER', 9), info('tun', [('IFLA_TUN_TYPE', 2)], 'bridge', [
        ('IFLA_BRPORT_STATE', 3), ('IFLA_BRPORT_MODE', 1)])],
    'bridge port, hairpin off': COMMON + [('IFLA_MASTER', 9), info('veth', None, 'bridge', [
        ('IFLA_BRPORT_MODE', 0)])],
    'lower in another namespace': COMMON + [('IFLA_LINK_NETNSID', 0), info('macvlan', [
        ('IFLA_MACVLAN_MODE', 'vepa')])],
    'negative netnsid, loopback flags': [('IFLA_IFNAME', 'lo'), ('IFLA_LINK_NETNSID', -1)],
    'no attributes at all': [],
    'a name that is not UTF-8': [('IFLA_IFNAME', b'\xffx')],
}


@pytest.mark.parametrize('name', sorted(MESSAGES))
def test_lean_link_equals_parse_link_of_the_full_decode(name):
    data = encode(MESSAGES[name])
    assert lp.lean_link(data, 0, len(data)) == lp.parse_link(full_decode(data))


def test_every_field_the_engine_reads_is_there():
    data = encode(MESSAGES['macvlan source with a source list'])
    assert lp.lean_link(data, 0, len(data)) == {
        'name': 'mv0', 'index': 5, 'kind': 'macvlan', 'mac': '02:00:5e:00:00:10', 'mtu': 1400, 'max_mtu': 9000,
        'admin_state': 'up', 'oper_state': 'up', 'carrier': True, 'loopback': False, 'link_type': 1, 'group': 7,
        'promiscuity': 1, 'master_index': None, 'lower_index': 2, 'lower_netnsid': None, 'mode': 'source',
        'nopromisc': False, 'source_macs': ['02:00:5e:00:00:01', '02:00:5e:00:00:02']}


def vf_info(*attrs):
    return ('IFLA_VF_INFO', {'attrs': list(attrs)})


def vlan_list(vf, vlan, proto):
    return ('IFLA_VF_VLAN_LIST', {'attrs': [('IFLA_VF_VLAN_INFO', {'vf': vf, 'vlan': vlan, 'qos': 0, 'proto': proto})]})


VF_LISTS = {
    'every setting, 802.1ad, trust not implemented (-1)': [vf_info(
        ('IFLA_VF_MAC', {'vf': 1, 'mac': '02:00:5e:00:00:aa'}), ('IFLA_VF_VLAN', {'vf': 1, 'vlan': 100, 'qos': 3}),
        ('IFLA_VF_SPOOFCHK', {'vf': 1, 'spoofchk': 1}), ('IFLA_VF_TRUST', {'vf': 1, 'trust': 0xffffffff}),
        ('IFLA_VF_LINK_STATE', {'vf': 1, 'link_state': 2}),
        ('IFLA_VF_RATE', {'vf': 1, 'min_tx_rate': 0, 'max_tx_rate': 500}),
        ('IFLA_VF_VLAN_LIST', {'attrs': [('IFLA_VF_VLAN_INFO', {'vf': 1, 'vlan': 100, 'qos': 3, 'proto': 0x88a8})]}))],
    'two VFs, 802.1Q, the last of a repeated attribute counts': [
        vf_info(('IFLA_VF_MAC', {'vf': 0, 'mac': '02:00:5e:00:00:01'}),
                ('IFLA_VF_TRUST', {'vf': 0, 'trust': 1}), ('IFLA_VF_TRUST', {'vf': 0, 'trust': 0}),
                vlan_list(0, 5, 0x8100), vlan_list(0, 6, 0x88a8)),
        vf_info(('IFLA_VF_VLAN', {'vf': 1, 'vlan': 0, 'qos': 0}), ('IFLA_VF_LINK_STATE', {'vf': 1, 'link_state': 9}))],
    'a VF with nothing in it': [vf_info()],
    'no VF': [],
}


@pytest.mark.parametrize('name', sorted(VF_LISTS))
def test_lean_vf_info_equals_parse_vf_info_of_the_full_decode(name):
    data = encode([('IFLA_IFNAME', 'pf0'), ('IFLA_NUM_VF', len(VF_LISTS[name])),
                   ('IFLA_VFINFO_LIST', {'attrs': VF_LISTS[name]})])
    assert lp.lean_vf_info(data, 0, len(data)) == lp.parse_vf_info(full_decode(data))


def test_a_link_without_vf_list_has_no_vfs():
    data = encode(COMMON)
    assert lp.lean_vf_info(data, 0, len(data)) == []


def _nla_offset(data, nla_type):
    pos = 32
    while pos < len(data):
        size, kind = struct.unpack_from('=HH', data, pos)
        if kind == nla_type:
            return pos
        pos += (size + 3) & ~3
    raise AssertionError(nla_type)


def _with_nla_length(data, nla_type, size):
    pos = _nla_offset(data, nla_type)
    return data[:pos] + struct.pack('=H', size) + data[pos + 2:]


@pytest.mark.parametrize('broken', [
    lambda d: d[:20],  # shorter than the two headers
    lambda d: d[:-3],  # the message says more bytes than there are
    lambda d: _with_nla_length(d, lp.IFLA_MTU, 2),  # an NLA shorter than its own header
    lambda d: _with_nla_length(d, lp.IFLA_MTU, 6),  # a u32 in 2 bytes
    lambda d: _with_nla_length(d, lp.IFLA_MTU, 0xfff0),  # an NLA past the end of the message
    lambda d: _with_nla_length(d, lp.IFLA_ADDRESS, 8),  # a MAC in 4 bytes
    lambda d: d.replace(struct.pack('=HHB', 5, lp.IFLA_OPERSTATE, 6), struct.pack('=HHB', 5, lp.IFLA_OPERSTATE, 9)),
])
def test_what_the_lean_parser_cannot_read_is_one_error_type(broken):
    data = encode(MESSAGES['tap with every flag, owner and group'])
    data = broken(data)
    with pytest.raises(lp.LinkParseError):
        lp.lean_link(data, 0, struct.unpack_from('=I', data)[0])


def _mutations(data, rng, count):
    """Deterministic mutations of a message: bytes overwritten, NLA/nlmsg lengths changed, cuts."""
    for _round in range(count):
        buf = bytearray(data)
        how = rng.randrange(4)
        if how == 0:
            for _byte in range(rng.randint(1, 4)):
                buf[rng.randrange(len(buf))] = rng.randrange(256)
        elif how == 1:  # a length field somewhere (16-bit, at a 4-byte boundary): the likeliest damage
            pos = rng.randrange(16, len(buf) - 2) & ~3
            buf[pos:pos + 2] = struct.pack('=H', rng.choice((0, 1, 3, 4, 5, 7, 8, 0xffff, rng.randrange(0x10000))))
        elif how == 2:
            buf = buf[:rng.randrange(len(buf))]
        else:
            buf = buf + bytes(rng.randrange(1, 16))
        length = len(buf) if rng.random() < 0.8 else rng.randrange(1, len(buf) + 64)
        yield bytes(buf), length


def fuzz(parser, data, seed, count):
    """parser on mutated messages: a result or LinkParseError, never anything else."""
    outcomes = {'record': 0, 'error': 0}
    for buf, length in _mutations(data, random.Random(seed), count):
        try:
            parser(buf, 0, length)
            outcomes['record'] += 1
        except lp.LinkParseError:
            outcomes['error'] += 1
    return outcomes


def test_fuzz_vf_lists():
    data = encode([('IFLA_IFNAME', 'pf0'), ('IFLA_VFINFO_LIST', {'attrs': VF_LISTS[
        'every setting, 802.1ad, trust not implemented (-1)'] + VF_LISTS[
        'two VFs, 802.1Q, the last of a repeated attribute counts']})])
    outcomes = fuzz(lp.lean_vf_info, data, seed=14, count=3000)
    assert outcomes['record'] > 100 and outcomes['error'] > 100, outcomes


def test_fuzz_encoded_links():
    for seed, name in enumerate(sorted(MESSAGES)):
        outcomes = fuzz(lp.lean_link, encode(MESSAGES[name]), seed=seed, count=300)
        assert sum(outcomes.values()) == 300


# -- the parser hook -------------------------------------------------------------------------------

def _hook(full=lp.parse_link):
    return lp._Hook(MarshalRtnl(), lp.lean_link, full)


def parse_buffer(hook, data):
    """What pyroute2's marshal does with one receive buffer of a request (sequence number 0) whose
    parser is the hook."""
    marshal = MarshalRtnl()
    marshal.seq_map[0] = hook
    return list(marshal.parse(data))


DONE = struct.pack('=IHHIIi', 20, NLMSG_DONE, NLM_F_MULTI, 0, 0, 0)


def test_the_hook_gives_pyroute2_one_message_per_buffer_with_every_record():
    names = sorted(MESSAGES)
    buffer = b''.join(encode(MESSAGES[name]) for name in names)
    hook = _hook()
    replies = parse_buffer(hook, buffer)
    assert len(replies) == 1 and isinstance(replies[0], lp._Lean)
    assert replies[0]['header']['type'] == RTM_NEWLINK and replies[0]['header']['flags'] & NLM_F_MULTI
    assert replies[0]['header']['error'] is None
    expected = [lp.parse_link(full_decode(encode(MESSAGES[name]))) for name in names]
    assert replies[0]['records'] == expected and not hook.ended
    assert lp._records(replies, hook) == expected


def test_records_before_nlmsg_done_in_the_same_buffer_are_kept():
    hook = _hook()
    replies = parse_buffer(hook, encode(COMMON) + encode(COMMON, index=6) + DONE)
    assert [reply['header']['type'] for reply in replies] == [NLMSG_DONE] and hook.ended
    assert [record['index'] for record in lp._records(replies, hook)] == [5, 6]


def test_the_hook_leaves_other_messages_to_pyroute2():
    got = _hook()(DONE, 0, len(DONE))
    assert not isinstance(got, lp._Lean) and got['header']['type'] == NLMSG_DONE


def test_a_message_only_pyroute2_reads_is_decoded_by_pyroute2():
    """A 4-byte hardware address (a tunnel's IPv4 address): the lean parser refuses it, pyroute2's
    decode reads it the way it always did, so the record is what the engine always saw."""
    data = encode(COMMON)
    pos = _nla_offset(data, lp.IFLA_ADDRESS)
    data = data[:pos] + struct.pack('=HH', 8, lp.IFLA_ADDRESS) + data[pos + 4:]
    with pytest.raises(lp.LinkParseError):
        lp.lean_link(data, 0, len(data))
    got = _hook()(data, 0, len(data))
    assert got['records'] == [lp.parse_link(full_decode(data))]


def test_a_message_neither_reads_is_a_vif_error():
    data = encode(COMMON, index=42)[:-6]

    def unreadable(msg):
        raise ValueError('cannot')
    hook = _hook(unreadable)
    got = hook(data, 0, len(data) + 6)
    assert isinstance(got['records'][0], lp.LinkParseError)
    with pytest.raises(VifError) as err:
        lp._records([got], hook)
    assert 'index 42' in err.value.msg and 'could not be decoded' in err.value.msg


def test_fuzz_the_hook_never_raises():
    hook = _hook()
    for buf, length in _mutations(encode(MESSAGES['macvlan source with a source list']), random.Random(3), 2000):
        length = min(max(length, 16), len(buf))
        if len(buf) < 16 or struct.unpack_from('=H', buf, 4)[0] != RTM_NEWLINK:
            continue  # pyroute2's marshal checks the header before it calls a parser
        got = hook(buf, 0, length)
        records = got['records'] if got is not None else hook.take()
        assert len(records) == 1 and isinstance(records[0], (dict, lp.LinkParseError))


def test_request_style_of_something_without_the_hook():
    class Bare:
        pass
    assert lp.request_style(Bare()) is None
