"""The batches' RTM_NEWLINK messages are packed by hand (kernel.macv_newlink_body, newlink_bytes):
byte for byte what pyroute2's own encoder makes of the same request, on the installed pyroute2."""

import itertools
import struct

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern

pyroute2 = pytest.importorskip('pyroute2')
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST  # noqa: E402
from pyroute2.netlink.rtnl import RTM_NEWLINK  # noqa: E402
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402


def by_pyroute2(flags, index=0, attrs=(), up=False):
    msg = ifinfmsg()
    msg['header']['type'] = RTM_NEWLINK
    msg['header']['flags'] = NLM_F_REQUEST | NLM_F_ACK | flags
    msg['index'] = index
    if up:
        msg['flags'] = msg['change'] = kern.IFF_UP
    msg['attrs'] = list(attrs)
    return msg


def encoded(msg, seq=4242, pid=77):
    msg['header']['sequence_number'] = seq
    msg['header']['pid'] = pid
    msg.encode()
    return bytes(msg.data)


LINKS = [dict(name=name, kind=kind, lower_index=lower, mode=mode, nopromisc=nopromisc, mac=mac, mtu=mtu,
              admin_state=state)
         for name, kind, lower, mode, nopromisc, mac, mtu, state in itertools.product(
             ('m', 'mv0', 'abcdefghijklmno'), ('macvlan', 'macvtap'), (1, 70000), sorted(kern.MACVLAN_MODES),
             (False, True), (None, '02:00:5e:0a:bc:01'), (None, 68, 9000), ('up', 'down'))
         if not nopromisc or mode == 'passthru']


@pytest.mark.parametrize('link', LINKS[::7] + LINKS[-3:])
def test_a_create_is_packed_as_pyroute2_encodes_it(link):
    prefix = 'IFLA_%s_' % link['kind'].upper()
    data = [(prefix + 'MODE', link['mode'])] + ([(prefix + 'FLAGS', 1)] if link['nopromisc'] else [])
    attrs = [('IFLA_IFNAME', link['name']), ('IFLA_LINK', link['lower_index']),
             ('IFLA_LINKINFO', {'attrs': [('IFLA_INFO_KIND', link['kind']), ('IFLA_INFO_DATA', {'attrs': data})]})]
    attrs += [('IFLA_ADDRESS', link['mac'])] if link['mac'] else []
    attrs += [('IFLA_MTU', link['mtu'])] if link['mtu'] else []
    want = by_pyroute2(NLM_F_CREATE | NLM_F_EXCL, attrs=attrs, up=link['admin_state'] == 'up')
    mine = kern.Kernel._encoded_newlink(NLM_F_CREATE | NLM_F_EXCL, kern.macv_newlink_body(link))
    assert encoded(mine) == encoded(want)


@pytest.mark.parametrize('index, group', [(1, 0), (3, 0x10000000), (2 ** 31 - 1, 0x7ffffff0)])
def test_a_group_change_is_packed_as_pyroute2_encodes_it(index, group):
    want = by_pyroute2(0, index=index, attrs=[('IFLA_GROUP', group)])
    mine = kern.Kernel._encoded_newlink(0, kern.newlink_bytes(index, [(kern.IFLA_GROUP, struct.pack('I', group))]))
    assert encoded(mine) == encoded(want)
