# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts: the kernel's virtual-NIC state as stable, documented records.

The same records are what the modules return for the objects they manage (report_link) and what
hostnet.vif.vif_info returns for everything, so "current state" means one thing everywhere. All of
it comes from one netlink dump per namespace (kernel.Kernel.dump_links), sysfs read inside the
namespace, and for SR-IOV physical functions one extended get per PF.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern

REPORTED = ('name', 'kind', 'index', 'lower', 'mode', 'mac', 'mtu', 'admin_state', 'nopromisc', 'source_macs')
KINDS = ('macvlan', 'macvtap', 'ipvlan', 'ipvtap', 'tap', 'bridge_port', 'sriov')
# ipvlan/ipvtap have no MAC of their own nor macvlan's flags, and have a flag (bridge, private, vepa)
IPVL_REPORTED = ('name', 'kind', 'index', 'lower', 'mode', 'flag', 'mac', 'mtu', 'admin_state')


def device_state(netns, links, names, create=False):
    """Character-device facts of macvtaps and ipvtaps by name: path, major, minor, owner, group (numeric
    ids) and device_mode. Only with ``create`` is a missing private node made (never in check mode or
    for vif_info); without it a link whose node does not exist has path None."""
    names = [n for n in names if n in links and links[n]['kind'] in kern.CHARDEV_KINDS]
    out = {}
    for name, dev in kern.macvtap_chardevs(netns, names).items():
        path = kern.chardev_node(netns, name, links[name]['index'], dev['major'], dev['minor'], create=create)
        entry = {'major': dev['major'], 'minor': dev['minor'], 'path': path}
        if path:
            entry.update(kern.node_owner(path, dev['major'], dev['minor']))
        out[name] = entry
    return out


def report_link(link, netns, device=None):
    """A macvlan/macvtap/ipvlan/ipvtap link as modules and vif_info return it."""
    out = dict((k, link.get(k)) for k in (IPVL_REPORTED if link.get('kind') in kern.IPVL_KINDS else REPORTED))
    out['netns'] = netns
    out['oper_state'] = link.get('oper_state')
    if link.get('kind') in kern.CHARDEV_KINDS:
        dev = device or link.get('device') or {}
        out['device'] = {
            'path': dev.get('path'),
            'major_minor': '%s:%s' % (dev['major'], dev['minor']) if dev.get('major') is not None else None,
            'owner': dev.get('owner'), 'group': dev.get('group'), 'mode': dev.get('device_mode')}
    return out


def report_tap(link, netns):
    tun = link.get('tun') or {}
    return {
        'name': link['name'], 'index': link['index'], 'type': tun.get('type'), 'owner': tun.get('owner'),
        'group': tun.get('group'), 'multi_queue': tun.get('multi_queue'), 'vnet_hdr': tun.get('vnet_hdr'),
        'packet_info': tun.get('packet_info'), 'persistent': tun.get('persistent'), 'queues': tun.get('queues'),
        'bridge': link.get('master'), 'mac': link.get('mac'), 'mtu': link.get('mtu'),
        'admin_state': link.get('admin_state'), 'oper_state': link.get('oper_state'), 'netns': netns}


def gather(kernel, netns, kinds=KINDS, lower=None):
    """Everything vif_info reports for one namespace."""
    links = kernel.dump_links()
    macv = [lk for lk in links.values() if lk['kind'] in kern.MACV_KINDS + kern.IPVL_KINDS and lk['kind'] in kinds
            and (lower is None or lk.get('lower') == lower)]
    facts = {'netns': netns}
    tap_names = [lk['name'] for lk in macv if lk['kind'] in kern.CHARDEV_KINDS]
    devices = device_state(netns, links, tap_names, create=False) if tap_names else {}
    facts['links'] = [report_link(lk, netns, devices.get(lk['name'])) for lk in sorted(macv, key=_by_name)]
    lowers: dict = {}
    for lk in macv:
        entry = lowers.setdefault(lk.get('lower') or '(other namespace)', {'links': [], 'modes': []})
        entry['links'].append({'name': lk['name'], 'kind': lk['kind'], 'mode': lk['mode']})
    for entry in lowers.values():
        entry['links'].sort(key=_by_name)
        entry['modes'] = sorted(set(x['mode'] for x in entry['links']))
        entry['passthru'] = 'passthru' in entry['modes']
    facts['lowers'] = lowers
    facts['taps'] = [report_tap(lk, netns) for lk in sorted(links.values(), key=_by_name)
                     if 'tap' in kinds and lk['kind'] == 'tun']
    facts['bridge_ports'] = [{'name': lk['name'], 'bridge': lk.get('master'), 'hairpin': lk['hairpin'],
                              'kind': lk['kind'], 'netns': netns}
                             for lk in sorted(links.values(), key=_by_name)
                             if 'bridge_port' in kinds and lk.get('hairpin') is not None]
    facts['sriov'] = []
    if 'sriov' in kinds:
        for pf in kern.read_sysfs(netns, kern.read_sriov_sysfs) or []:
            if pf['name'] in links:
                settings = dict((vf['vf'], vf) for vf in kernel.vf_settings(links[pf['name']]['index']))
                for vf in pf['vfs']:
                    vf.update(settings.get(vf['vf'], {}))
            pf['netns'] = netns
            facts['sriov'].append(pf)
    return facts


def _by_name(item):
    return item['name']
