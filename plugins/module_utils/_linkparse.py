# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the kernel layer reads links: the one place that turns RTM_NEWLINK messages into link states.

pyroute2's decoder makes Python objects of every attribute of every link (~0.3 ms a link, most of
a 1,000-link dump). The lean parsers here read the kernel's bytes directly and decode only what the
engine uses: the ifinfomsg header, name, MAC, MTUs, operstate, group, promiscuity, master, lower
device and its netnsid, the link kind with, per kind, macvlan/macvtap mode, flags and source list,
ipvlan/ipvtap mode and flag, tun/tap data, bridge-port hairpin, and for SR-IOV PFs the VF info list.

They run inside pyroute2's own request machinery, through its per-request parser hook, chosen per
session class by a feature check (``request_style``), never by version number:
- ``'request'`` (pyroute2 0.9): a NetlinkRequest built with ``parser=``, iterated in the session's
  event loop (0.9's ``nlm_request(parser=...)`` drops the parser, or fails in the sync API);
- ``'nlm_request'`` (pyroute2 0.7.12 to 0.8): ``nlm_request(..., parser=...)``;
- None (pyroute2 0.7.2, Debian 12's, has no hook): pyroute2's full decode, read by ``parse_link``.
The hook hands pyroute2 one message per receive buffer carrying that buffer's records (_Hook).

``parse_link``/``parse_vf_info`` read a message pyroute2 decoded; the lean parsers return exactly
what they return for the same message (tests/kernel/test_linkparse.py compares them on every kind
the engine manages, tests/qemu/test_linkparse_vf.py on an igb PF). A message the lean parser cannot
read (``LinkParseError``: a truncated or malformed attribute) is decoded by pyroute2 instead; one
that neither can read is a VifError; a failure of the hook machinery itself (not the kernel's
errors, which raise as before) switches that session class to the full decode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import inspect
import struct

from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

try:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl import RTM_GETLINK, RTM_NEWLINK
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
except ImportError:  # the modules report a missing pyroute2 before any read
    ifinfmsg = None
    NetlinkError = OSError
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST = 0x4, 0x300, 0x1
    RTM_NEWLINK, RTM_GETLINK = 16, 18

try:
    from pyroute2.netlink.nlsocket import NetlinkRequest
except ImportError:  # pyroute2 before 0.9
    NetlinkRequest = None

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
IFF_LOWER_UP = 0x10000
MACV_KINDS = ('macvlan', 'macvtap')
IPVL_KINDS = ('ipvlan', 'ipvtap')
CHARDEV_KINDS = ('macvtap', 'ipvtap')  # links with a character device /dev/tapN
RTEXT_FILTER_VF = 1

# -- reading pyroute2's full decode ---------------------------------------------------------------

# The link attributes parse_link reads. pyroute2 decodes an attribute's value when it is first
# accessed, so touching only these (not the ~40 others, AF_SPEC and stats) halves a dump's cost.
_LINK_ATTRS = frozenset((
    'IFLA_IFNAME', 'IFLA_ADDRESS', 'IFLA_MTU', 'IFLA_MAX_MTU', 'IFLA_OPERSTATE', 'IFLA_GROUP',
    'IFLA_PROMISCUITY', 'IFLA_MASTER', 'IFLA_LINK', 'IFLA_LINK_NETNSID', 'IFLA_LINKINFO'))


def _attrs(msg, wanted=_LINK_ATTRS):
    out = {}
    for slot in msg.get('attrs', ()):
        name = slot[0]
        if name in wanted and name not in out:
            out[name] = slot[1]
    return out


def _nested(value):
    """Attributes of a nested NLA as a dict (first occurrence of each name)."""
    if value is None:
        return {}
    out: dict = {}
    for name, val in getattr(value, 'get', lambda k, d=None: d)('attrs', ()) or ():
        out.setdefault(name, val)
    return out


def _macaddr_list(data):
    """Source MACs from IFLA_MACVLAN_MACADDR_DATA / IFLA_MACVTAP_MACADDR_DATA (hash order: sort)."""
    for name, val in (data.get('attrs', ()) if data else ()):
        if name.endswith('_MACADDR_DATA'):
            return sorted(v for n, v in val.get('attrs', ()) if n.endswith('_MACADDR'))
    return []


def parse_link(msg):
    """One RTM_NEWLINK message decoded by pyroute2 as a plain dict (the "link state" every layer
    above uses)."""
    attrs = _attrs(msg)
    info = _nested(attrs.get('IFLA_LINKINFO'))
    kind = info.get('IFLA_INFO_KIND')
    link = {
        'name': attrs.get('IFLA_IFNAME'),
        'index': msg['index'],
        'kind': kind,
        'mac': attrs.get('IFLA_ADDRESS'),
        'mtu': attrs.get('IFLA_MTU'),
        'max_mtu': attrs.get('IFLA_MAX_MTU'),
        'admin_state': 'up' if msg['flags'] & IFF_UP else 'down',
        'oper_state': (attrs.get('IFLA_OPERSTATE') or 'UNKNOWN').lower(),
        'carrier': bool(msg['flags'] & IFF_LOWER_UP),
        'loopback': bool(msg['flags'] & IFF_LOOPBACK),
        'link_type': msg.get('ifi_type'),
        'group': attrs.get('IFLA_GROUP', 0),
        'promiscuity': attrs.get('IFLA_PROMISCUITY', 0),
        'master_index': attrs.get('IFLA_MASTER'),
        'lower_index': attrs.get('IFLA_LINK'),
        # The lower device lives in another namespace when the kernel reports a link-netnsid.
        'lower_netnsid': attrs.get('IFLA_LINK_NETNSID'),
    }
    if kind in MACV_KINDS:
        data_attr = info.get('IFLA_INFO_DATA')
        data = _nested(data_attr)
        prefix = 'IFLA_%s_' % kind.upper()
        link['mode'] = data.get(prefix + 'MODE')
        link['nopromisc'] = data.get(prefix + 'FLAGS') == 'nopromisc'
        link['source_macs'] = _macaddr_list(data_attr)
    if kind in IPVL_KINDS:
        try:
            link.update(_ipvl_data(_raw_payload(info.get('IFLA_INFO_DATA'))))
        except (LinkParseError, ValueError):  # unreadable: the read-back reports mode/flag None
            link.update({'mode': None, 'flag': None})
    if kind == 'tun':
        link['tun'] = _tun_data(_nested(info.get('IFLA_INFO_DATA')))
    slave = _nested(info.get('IFLA_INFO_SLAVE_DATA'))
    if info.get('IFLA_INFO_SLAVE_KIND') == 'bridge':
        link['hairpin'] = bool(slave.get('IFLA_BRPORT_MODE'))
    return link


def _raw_payload(value):
    """The bytes of an attribute's payload whatever pyroute2 made of it: pyroute2 0.7.2 to 0.9.7 decode
    ipvlan's data with IFLA_IPVLAN_MODE only (flags become 'UNKNOWN') and ipvtap's as a hex string."""
    if value is None:
        return b''
    if isinstance(value, str):
        return bytes.fromhex(value.replace(':', ''))
    buf, offset, length = getattr(value, 'data', None), getattr(value, 'offset', None), getattr(value, 'length', None)
    if buf is None or offset is None or not length:
        return b''
    return bytes(buf[offset + 4:offset + length])


def _ipvl_data(payload):
    """mode and flag of an ipvlan/ipvtap from its IFLA_INFO_DATA payload (the lean parser's reading)."""
    return _lean_ipvl(payload, (0, len(payload)) if payload else None)


def _tun_data(data):
    """IFLA_TUN_*: owner/group are absent when unset (anyone may attach)."""
    def flag(name):
        value = data.get(name)
        return None if value is None else bool(value)
    return {
        'type': TUN_TYPES.get(data.get('IFLA_TUN_TYPE')),
        'owner': data.get('IFLA_TUN_OWNER'), 'group': data.get('IFLA_TUN_GROUP'),
        'packet_info': flag('IFLA_TUN_PI'), 'vnet_hdr': flag('IFLA_TUN_VNET_HDR'),
        'persistent': flag('IFLA_TUN_PERSIST'), 'multi_queue': flag('IFLA_TUN_MULTI_QUEUE'),
        'queues': data.get('IFLA_TUN_NUM_QUEUES'),
    }


TUN_TYPES: dict = {1: 'tun', 2: 'tap'}
VF_LINK_STATES = {0: 'auto', 1: 'enable', 2: 'disable'}
VLAN_PROTOS = {0x8100: '802.1Q', 0x88a8: '802.1ad'}
# -1 as u32: the kernel's "the driver does not implement this setting"
_VF_UNSET = (None, 0xffffffff, -1)


def _vf_record(mac, vlan, rate, spoofchk, trust, link_state, vlan_proto):
    """One VF's settings (the dicts hold the decoded struct fields of each IFLA_VF_* attribute)."""
    vf = {'vf': mac.get('vf', vlan.get('vf')), 'mac': mac.get('mac'), 'vlan': vlan.get('vlan'),
          'qos': vlan.get('qos'), 'min_tx_rate': rate.get('min_tx_rate'), 'max_tx_rate': rate.get('max_tx_rate')}
    for field, value in (('spoofchk', spoofchk), ('trust', trust)):
        vf[field] = None if value in _VF_UNSET else bool(value)
    vf['link_state'] = VF_LINK_STATES.get(link_state) if isinstance(link_state, int) else None
    vf['vlan_proto'] = VLAN_PROTOS.get(vlan_proto) if vlan_proto is not None else None
    return vf


def parse_vf_info(msg):
    """Per-VF settings from a PF's IFLA_VFINFO_LIST decoded by pyroute2 (link get with ext_mask
    RTEXT_FILTER_VF)."""
    vfs = []
    for name, entry in _attrs(msg, ('IFLA_VFINFO_LIST',)).get('IFLA_VFINFO_LIST', {}).get('attrs', ()):
        if name != 'IFLA_VF_INFO':
            continue
        attrs = dict((a[0], a[1]) for a in entry.get('attrs', ()))
        vlan_proto = None
        for slot in (attrs.get('IFLA_VF_VLAN_LIST') or {}).get('attrs', ()):
            if slot[0] == 'IFLA_VF_VLAN_INFO':
                vlan_proto = slot[1].get('proto')
        vfs.append(_vf_record(
            attrs.get('IFLA_VF_MAC') or {}, attrs.get('IFLA_VF_VLAN') or {}, attrs.get('IFLA_VF_RATE') or {},
            (attrs.get('IFLA_VF_SPOOFCHK') or {}).get('spoofchk'), (attrs.get('IFLA_VF_TRUST') or {}).get('trust'),
            (attrs.get('IFLA_VF_LINK_STATE') or {}).get('link_state'), vlan_proto))
    return vfs


# -- the lean parsers: the kernel's bytes ------------------------------------------------------------


class LinkParseError(ValueError):
    """A message the lean parser cannot read (truncated or malformed): the only error it raises."""


_NLMSGHDR = struct.Struct('=IHHII')  # length, type, flags, sequence number, port id
_IFINFOMSG = struct.Struct('=BxHiII')  # family, (pad), type, index, flags, change
_HEADERS = _NLMSGHDR.size + _IFINFOMSG.size
_NLA = struct.Struct('=HH')
_U8 = struct.Struct('=B')
_U16 = struct.Struct('=H')
_U32 = struct.Struct('=I')
_I32 = struct.Struct('=i')
_MAC = struct.Struct('=6B')
# struct ifla_vf_mac (vf, mac[32]); ifla_vf_vlan, ifla_vf_rate (three u32); ifla_vf_spoofchk,
# ifla_vf_trust, ifla_vf_link_state (vf, setting); ifla_vf_vlan_info (vf, vlan, qos, be16 proto)
_VF_MAC = struct.Struct('=I6B26x')
_VF_THREE = struct.Struct('=3I')
_VF_SETTING = struct.Struct('=2I')
_VF_VLAN_PROTO = struct.Struct('>12xH')
_NLA_TYPE_MASK = 0x3fff  # without NLA_F_NESTED and NLA_F_NET_BYTEORDER

# include/uapi/linux/if_link.h
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_VFINFO_LIST, IFLA_GROUP = 16, 18, 22, 27
IFLA_PROMISCUITY, IFLA_LINK_NETNSID, IFLA_MAX_MTU = 30, 37, 51
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
IFLA_MACVLAN_MODE, IFLA_MACVLAN_FLAGS, IFLA_MACVLAN_MACADDR, IFLA_MACVLAN_MACADDR_DATA = 1, 2, 4, 5
IFLA_BRPORT_MODE = 4
IFLA_VF_INFO = 1
IFLA_VF_MAC, IFLA_VF_VLAN, IFLA_VF_SPOOFCHK, IFLA_VF_LINK_STATE = 1, 2, 4, 5
IFLA_VF_RATE, IFLA_VF_TRUST, IFLA_VF_VLAN_LIST, IFLA_VF_VLAN_INFO = 6, 9, 12, 1
# IFLA_TUN_*: owner, group (u32), type, pi, vnet_hdr, persist, multi_queue (u8), num_queues (u32)
_TUN_FIELDS = ((1, 'owner', _U32), (2, 'group', _U32), (3, 'type', _U8), (4, 'packet_info', _U8),
               (5, 'vnet_hdr', _U8), (6, 'persistent', _U8), (7, 'multi_queue', _U8), (8, 'queues', _U32))
_TUN_FLAGS = ('packet_info', 'vnet_hdr', 'persistent', 'multi_queue')
_TUN_WANTED = frozenset(field[0] for field in _TUN_FIELDS)
_INFO_WANTED = frozenset((IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA))
_LINK_WANTED = frozenset((IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER, IFLA_OPERSTATE,
                          IFLA_LINKINFO, IFLA_GROUP, IFLA_PROMISCUITY, IFLA_LINK_NETNSID, IFLA_MAX_MTU))
# RFC 2863 operstates, as pyroute2 names them
_OPER_STATES = ('UNKNOWN', 'NOTPRESENT', 'DOWN', 'LOWERLAYERDOWN', 'TESTING', 'DORMANT', 'UP')
IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS = 1, 2
# include/uapi/linux/if_link.h: the ipvlan modes; flags 0 is bridge (the kernel's default)
IPVLAN_MODES: dict = {0: 'l2', 1: 'l3', 2: 'l3s'}
IPVLAN_FLAGS: dict = {0: 'bridge', 1: 'private', 2: 'vepa'}  # IPVLAN_F_PRIVATE, IPVLAN_F_VEPA
# pyroute2's names for macvlan modes and flags (a value it has no name for stays a number)
_MACV_MODES: dict = {0: 'none', 1: 'private', 2: 'vepa', 4: 'bridge', 8: 'passthru', 16: 'source'}
_MACV_FLAGS: dict = {0: 'none', 1: 'nopromisc'}


def _first(data, pos, end, wanted):
    """Payload spans (start, end) of the NLAs between pos and end whose type is wanted, by type
    (the first of each type, as parse_link reads them)."""
    found = {}
    unpack = _NLA.unpack_from
    while end - pos >= 4:
        size, kind = unpack(data, pos)
        if size < 4 or pos + size > end:
            raise _bad_nla(kind, pos, size, end)
        kind &= _NLA_TYPE_MASK
        if kind in wanted and kind not in found:
            found[kind] = (pos + 4, pos + size)
        pos += (size + 3) & ~3
    return found


def _each(data, pos, end):
    """Every NLA between pos and end, in order, as (type, start, end) of its payload."""
    found = []
    while end - pos >= 4:
        size, kind = _NLA.unpack_from(data, pos)
        if size < 4 or pos + size > end:
            raise _bad_nla(kind, pos, size, end)
        found.append((kind & _NLA_TYPE_MASK, pos + 4, pos + size))
        pos += (size + 3) & ~3
    return found


def _bad_nla(kind, pos, size, end):
    return LinkParseError('attribute type %d at offset %d has length %d (%d bytes left)'
                          % (kind & _NLA_TYPE_MASK, pos, size, end - pos))


def _fields(data, span, fmt):
    """The struct ``fmt`` at the start of a payload that must hold all of it."""
    start, end = span
    if end - start < fmt.size:
        raise LinkParseError('attribute at offset %d holds %d bytes, needs %d' % (start - 4, end - start, fmt.size))
    return fmt.unpack_from(data, start)


def _value(data, span, fmt):
    """The single value ``fmt`` holds (as _fields, without a second call: it runs ~8 times a link)."""
    start, end = span
    if end - start < fmt.size:
        raise LinkParseError('attribute at offset %d holds %d bytes, needs %d' % (start - 4, end - start, fmt.size))
    return fmt.unpack_from(data, start)[0]


def _string(data, span):
    """As pyroute2's asciiz: NULs stripped, UTF-8 where it decodes (bytes otherwise)."""
    raw = bytes(data[span[0]:span[1]]).strip(b'\0')
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        return raw


def _mac(data, span):
    return '%02x:%02x:%02x:%02x:%02x:%02x' % _fields(data, span, _MAC)


def _message_end(data, offset, length):
    end = offset + length
    if length < _HEADERS or end > len(data):
        raise LinkParseError('message of %d bytes at offset %d (buffer of %d bytes)' % (length, offset, len(data)))
    return end


def lean_link(data, offset, length):
    """The link state of one RTM_NEWLINK message from its bytes: equal to parse_link of pyroute2's
    full decode. Raises LinkParseError (only) on a message it cannot read."""
    end = _message_end(data, offset, length)
    _family, link_type, index, flags, _change = _IFINFOMSG.unpack_from(data, offset + _NLMSGHDR.size)
    top = _first(data, offset + _HEADERS, end, _LINK_WANTED)
    info = _first(data, top[IFLA_LINKINFO][0], top[IFLA_LINKINFO][1], _INFO_WANTED) if IFLA_LINKINFO in top else {}
    kind = _string(data, info[IFLA_INFO_KIND]) if IFLA_INFO_KIND in info else None
    oper_state = _value(data, top[IFLA_OPERSTATE], _U8) if IFLA_OPERSTATE in top else 0
    if oper_state >= len(_OPER_STATES):
        raise LinkParseError('operstate %d' % oper_state)
    link = {
        'name': _string(data, top[IFLA_IFNAME]) if IFLA_IFNAME in top else None,
        'index': index,
        'kind': kind,
        'mac': _mac(data, top[IFLA_ADDRESS]) if IFLA_ADDRESS in top else None,
        'mtu': _value(data, top[IFLA_MTU], _U32) if IFLA_MTU in top else None,
        'max_mtu': _value(data, top[IFLA_MAX_MTU], _U32) if IFLA_MAX_MTU in top else None,
        'admin_state': 'up' if flags & IFF_UP else 'down',
        'oper_state': _OPER_STATES[oper_state].lower(),
        'carrier': bool(flags & IFF_LOWER_UP),
        'loopback': bool(flags & IFF_LOOPBACK),
        'link_type': link_type,
        'group': _value(data, top[IFLA_GROUP], _U32) if IFLA_GROUP in top else 0,
        'promiscuity': _value(data, top[IFLA_PROMISCUITY], _U32) if IFLA_PROMISCUITY in top else 0,
        'master_index': _value(data, top[IFLA_MASTER], _U32) if IFLA_MASTER in top else None,
        'lower_index': _value(data, top[IFLA_LINK], _U32) if IFLA_LINK in top else None,
        'lower_netnsid': _value(data, top[IFLA_LINK_NETNSID], _I32) if IFLA_LINK_NETNSID in top else None,
    }
    kind_data = info.get(IFLA_INFO_DATA)
    if kind in MACV_KINDS:
        link.update(_lean_macv(data, kind_data))
    if kind in IPVL_KINDS:
        link.update(_lean_ipvl(data, kind_data))
    if kind == 'tun':
        link['tun'] = _lean_tun(data, kind_data)
    if IFLA_INFO_SLAVE_KIND in info and _string(data, info[IFLA_INFO_SLAVE_KIND]) == 'bridge':
        port = _first(data, info[IFLA_INFO_SLAVE_DATA][0], info[IFLA_INFO_SLAVE_DATA][1], (IFLA_BRPORT_MODE,)) \
            if IFLA_INFO_SLAVE_DATA in info else {}
        link['hairpin'] = bool(_value(data, port[IFLA_BRPORT_MODE], _U8)) if IFLA_BRPORT_MODE in port else False
    return link


def _lean_macv(data, span):
    """mode, nopromisc and source list of a macvlan/macvtap (the same attribute numbers for both)."""
    found = _first(data, span[0], span[1], (IFLA_MACVLAN_MODE, IFLA_MACVLAN_FLAGS, IFLA_MACVLAN_MACADDR_DATA)) \
        if span else {}
    mode = _value(data, found[IFLA_MACVLAN_MODE], _U32) if IFLA_MACVLAN_MODE in found else None
    flags = _value(data, found[IFLA_MACVLAN_FLAGS], _U16) if IFLA_MACVLAN_FLAGS in found else None
    sources = []
    if IFLA_MACVLAN_MACADDR_DATA in found:
        start, end = found[IFLA_MACVLAN_MACADDR_DATA]
        sources = sorted(_mac(data, (first, last)) for kind, first, last in _each(data, start, end)
                         if kind == IFLA_MACVLAN_MACADDR)
    return {'mode': _MACV_MODES.get(mode, mode), 'nopromisc': _MACV_FLAGS.get(flags, flags) == 'nopromisc',
            'source_macs': sources}


def _lean_ipvl(data, span):
    """mode and flag of an ipvlan/ipvtap (u16 each; a value with no name stays a number). Both are the
    lower device's (the kernel keeps them per ipvlan port: every ipvlan/ipvtap on a lower shares them)."""
    found = _first(data, span[0], span[1], (IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS)) if span else {}
    mode = _value(data, found[IFLA_IPVLAN_MODE], _U16) if IFLA_IPVLAN_MODE in found else None
    flags = _value(data, found[IFLA_IPVLAN_FLAGS], _U16) if IFLA_IPVLAN_FLAGS in found else None
    return {'mode': IPVLAN_MODES.get(mode, mode), 'flag': IPVLAN_FLAGS.get(flags, flags)}


def _lean_tun(data, span):
    found = _first(data, span[0], span[1], _TUN_WANTED) if span else {}
    tun = dict((name, _value(data, found[attr], fmt) if attr in found else None) for attr, name, fmt in _TUN_FIELDS)
    tun['type'] = TUN_TYPES.get(tun['type'])
    for name in _TUN_FLAGS:
        tun[name] = None if tun[name] is None else bool(tun[name])
    return dict((key, tun[key]) for key in ('type', 'owner', 'group', 'packet_info', 'vnet_hdr', 'persistent',
                                            'multi_queue', 'queues'))


def lean_vf_info(data, offset, length):
    """Per-VF settings of one RTM_NEWLINK message (a PF's, read with RTEXT_FILTER_VF) from its
    bytes: equal to parse_vf_info of pyroute2's full decode. Raises LinkParseError (only)."""
    end = _message_end(data, offset, length)
    top = _first(data, offset + _HEADERS, end, (IFLA_VFINFO_LIST,))
    if IFLA_VFINFO_LIST not in top:
        return []
    vfs = []
    for kind, start, stop in _each(data, top[IFLA_VFINFO_LIST][0], top[IFLA_VFINFO_LIST][1]):
        if kind != IFLA_VF_INFO:
            continue
        # the last of each attribute counts, as in parse_vf_info
        vfs.append(_lean_vf(data, dict((attr, (first, last)) for attr, first, last in _each(data, start, stop))))
    return vfs


def _lean_vf(data, attrs):
    """One VF from the spans of its IFLA_VF_* attributes."""
    mac = vlan = rate = {}
    if IFLA_VF_MAC in attrs:
        fields = _fields(data, attrs[IFLA_VF_MAC], _VF_MAC)
        mac = {'vf': fields[0], 'mac': '%02x:%02x:%02x:%02x:%02x:%02x' % fields[1:]}
    if IFLA_VF_VLAN in attrs:
        vlan = dict(zip(('vf', 'vlan', 'qos'), _fields(data, attrs[IFLA_VF_VLAN], _VF_THREE)))
    if IFLA_VF_RATE in attrs:
        rate = dict(zip(('vf', 'min_tx_rate', 'max_tx_rate'), _fields(data, attrs[IFLA_VF_RATE], _VF_THREE)))
    settings = dict((attr, _fields(data, attrs[attr], _VF_SETTING)[1] if attr in attrs else None)
                    for attr in (IFLA_VF_SPOOFCHK, IFLA_VF_TRUST, IFLA_VF_LINK_STATE))
    vlan_proto = None
    if IFLA_VF_VLAN_LIST in attrs:
        for info, first, last in _each(data, attrs[IFLA_VF_VLAN_LIST][0], attrs[IFLA_VF_VLAN_LIST][1]):
            if info == IFLA_VF_VLAN_INFO:
                vlan_proto = _value(data, (first, last), _VF_VLAN_PROTO)
    return _vf_record(mac, vlan, rate, settings[IFLA_VF_SPOOFCHK], settings[IFLA_VF_TRUST],
                      settings[IFLA_VF_LINK_STATE], vlan_proto)


# -- through pyroute2's request machinery -----------------------------------------------------------

# The request style of each pyroute2 session class (request_style); a class whose hook failed
# in an unexpected way is set to None: the full decode from then on.
_STYLES: dict = {}


def _takes(func, name):
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def request_style(ipr):
    """How this pyroute2 session can read links with the lean parsers: 'request' (0.9: a
    NetlinkRequest with parser=, in the session's event loop), 'nlm_request' (0.8:
    nlm_request(parser=...)), or None (no parser hook: pyroute2's full decode)."""
    cls = type(ipr)
    if cls not in _STYLES:
        _STYLES[cls] = _detect_style(ipr)
    return _STYLES[cls]


def _detect_style(ipr):
    marshal = getattr(ipr, 'marshal', None)
    if ifinfmsg is None or not callable(getattr(marshal, 'parse_one_message', None)) \
            or not isinstance(getattr(marshal, 'seq_map', None), dict):
        return None
    if getattr(ipr, 'asyncore', None) is not None:
        if NetlinkRequest is not None and _takes(NetlinkRequest, 'parser') and hasattr(NetlinkRequest, 'response') \
                and callable(getattr(ipr, '_run_with_cleanup', None)):
            return 'request'
        return None
    # the class's method: 0.8 wraps it per instance in a (*argv, **kwarg) function that passes all on
    return 'nlm_request' if _takes(getattr(type(ipr), 'nlm_request', None), 'parser') else None


class _Lean(dict):
    """What the parser hook gives pyroute2's loop: the header it reads (that of the last link
    message of a buffer) and 'records', the link states or VF lists of the buffer's messages
    (a LinkParseError for an unreadable one)."""


def _header(data, offset):
    length, kind, flags, seq, port = _NLMSGHDR.unpack_from(data, offset)
    return {'length': length, 'type': kind, 'flags': flags, 'sequence_number': seq, 'pid': port, 'error': None}


class _Hook:
    """The parser pyroute2 calls for each message of one request: ``hook(data, offset, length)``
    (pyroute2's marshal has checked that a 16-byte header is there). Never raises.

    Anything but RTM_NEWLINK (NLMSG_DONE, errors, acks) goes to pyroute2's own decoder, so the
    kernel's errors raise as they always did. Link messages are parsed with ``lean`` (``full`` on
    pyroute2's decode where lean cannot read one) and handed over one batch per receive buffer,
    with its last message: pyroute2's loop then steps once per buffer, not once per link. (It
    stops reading a reply at a buffer that gave it no message, so every buffer must give one.)
    """

    def __init__(self, marshal, lean, full):
        self.marshal, self.lean, self.full = marshal, lean, full
        self.pending: list = []
        self.ended = False  # NLMSG_DONE (or an error) seen: the whole reply went through here

    def __call__(self, data, offset, length):
        header = _header(data, offset)
        if header['type'] != RTM_NEWLINK:
            self.ended = True
            return self.marshal.parse_one_message(header['type'], header['flags'], header['sequence_number'], data,
                                                  offset, length)
        try:
            self.pending.append(self.lean(data, offset, length))
        except LinkParseError as exc:
            self.pending.append(_full_one(self.marshal, self.full, header, data, offset, length, exc))
        # the marshal reads another message from this buffer only if 16 more bytes are there
        if offset + length > len(data) - _NLMSGHDR.size:
            return _Lean(header=header, records=self.take())
        return None

    def take(self):
        """The records not handed over yet."""
        records, self.pending = self.pending, []
        return records


def _full_one(marshal, full, header, data, offset, length, why):
    """pyroute2's decode of a message the lean parser could not read (what the engine always did
    with it); a LinkParseError saying why when that fails too."""
    try:
        msg = marshal.parse_one_message(RTM_NEWLINK, header['flags'], header['sequence_number'], data, offset, length)
        if msg['header'].get('error') is None:
            return full(msg)
        failure = msg['header']['error']
    except Exception as exc:  # pyroute2's decoder on a malformed message: reported below, in words
        failure = exc
    index = _I32.unpack_from(data, offset + 20)[0] if length >= 24 and offset + 24 <= len(data) else None
    return LinkParseError('the link with index %s: %s; pyroute2 could not decode it either (%s)'
                          % (index, why, failure))


def _records(replies, hook):
    """The records of a reply, in the kernel's order: the batches the hook handed pyroute2, a
    message pyroute2 decoded itself (the hook not applied) read with ``full``, then what the hook
    still holds (messages before an ack or NLMSG_DONE in the last buffer)."""
    out = []
    for reply in replies:
        if isinstance(reply, _Lean):
            out.extend(reply['records'])
        elif reply.get('header', {}).get('type') == RTM_NEWLINK:
            out.extend(hook.take())
            out.append(hook.full(reply))
    out.extend(hook.take())
    for record in out:
        if isinstance(record, LinkParseError):
            raise VifError("the kernel's description of %s could not be decoded" % record)
    return out


def _request(ipr, style, msg, flags, parser):
    if style == 'request':
        request = NetlinkRequest(ipr.asyncore, msg, msg_type=RTM_GETLINK, msg_flags=flags, parser=parser)

        async def collect():
            await request.send()
            return [reply async for reply in request.response()]
        return ipr._run_with_cleanup(collect)
    return list(ipr.nlm_request(msg, msg_type=RTM_GETLINK, msg_flags=flags, parser=parser))


class _Incomplete(Exception):
    """A dump that ended without NLMSG_DONE passing through the hook."""


def _read(ipr, lean, full, fallback, index=0, ext_mask=0):
    """Records of one RTM_GETLINK (a dump when index is 0) through the lean parser where this
    pyroute2 has the hook; ``fallback()``: the same read through pyroute2's full decode."""
    style = request_style(ipr)
    if style:
        msg = ifinfmsg()
        msg['index'] = index
        if ext_mask:
            msg['attrs'] = [('IFLA_EXT_MASK', ext_mask)]
        hook = _Hook(ipr.marshal, lean, full)
        try:
            records = _records(_request(ipr, style, msg, NLM_F_REQUEST | (NLM_F_ACK if index else NLM_F_DUMP), hook),
                               hook)
            if not index and not hook.ended:
                raise _Incomplete()
            return records
        except (NetlinkError, OSError, VifError):
            raise  # the kernel's answer or a session error: the full decode would meet the same
        except Exception:
            # this pyroute2's hook does not behave as the feature check expected: full decode from now on
            _STYLES[type(ipr)] = None
    return [full(msg) for msg in fallback()]


def read_links(ipr):
    """Every link of the session's namespace as link states (parse_link's dicts), one dump."""
    return _read(ipr, lean_link, parse_link, lambda: ipr.link('dump'))


def read_vf_info(ipr, index):
    """Per-VF settings of the PF with this ifindex (one get with RTEXT_FILTER_VF)."""
    found = _read(ipr, lean_vf_info, parse_vf_info, lambda: ipr.link('get', index=index, ext_mask=RTEXT_FILTER_VF)[:1],
                  index=index, ext_mask=RTEXT_FILTER_VF)
    return found[0] if found else []
