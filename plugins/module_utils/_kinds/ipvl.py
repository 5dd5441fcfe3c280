# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvlan and ipvtap: one handler; an ipvtap is an ipvlan plus a character device (/dev/tapN, the
"ipvtap" major of /proc/devices) whose owner, group and permission bits the task may manage, as for
macvtap (the shared link-kind machinery is _links.py).

What the kernel does differently from macvlan (drivers/net/ipvlan, measured in the QEMU guest of
tests/qemu/test_ipvlan.py on Debian's 6.1):
- an ipvlan has no MAC of its own: it shows its lower device's (no ``mac`` option);
- mode (l2, l3, l3s) and flag (bridge, private, vepa) belong to the lower device's ipvlan *port*,
  shared by every ipvlan and ipvtap on it: creating or changing one link with another mode or flag
  changes them all ("latest update overrides"). So the task must agree with every sibling that stays;
- both change in place (RTM_NEWLINK on the existing link); only a new lower device recreates a link;
- a lower device carries either macvlan/macvtap links or ipvlan/ipvtap links, never both (EBUSY).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils._errors import invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import check_ifname, check_mtu
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import IN_PLACE, RECREATE, Field
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._links import LinkHandler

KINDS = ('ipvlan', 'ipvtap')  # both kinds share the lower device's ipvlan port
MODES = ('l2', 'l3', 'l3s')
FLAGS = ('bridge', 'private', 'vepa')  # one of three (IPVLAN_F_PRIVATE, IPVLAN_F_VEPA, neither)


class IpvlHandler(LinkHandler):
    # The options of a link (top level, and the keys of a links: entry). The defaults l3 and bridge are
    # the kernel's own (ipvlan_link_new). No mac: an ipvlan has its lower device's.
    LINK_FIELDS = (
        Field('name', check=check_ifname, per_entry=True),
        Field('lower', check=check_ifname, change=RECREATE),
        Field('mode', choices=MODES, default='l3', change=IN_PLACE),
        Field('flag', choices=FLAGS, default='bridge', change=IN_PLACE),
        Field('mtu', type='int', check=check_mtu, change=IN_PLACE),
        Field('state', choices=('present', 'absent'), default='present'),
        Field('admin_state', choices=('up', 'down'), default='up', change=IN_PLACE),
    )

    def kernel_rules(self, specs, current, purge_lowers):
        removed = set(s['name'] for s in specs if s['state'] == 'absent')
        present = [s for s in specs if s['state'] == 'present']
        for spec in present:
            lower = current[spec['lower']]
            if lower['kind'] in KINDS:
                raise invalid('lower', spec['lower'], "is itself an %s; give its lower device (%s), which the kernel "
                              "would use instead" % (lower['kind'], lower.get('lower')), spec['name'])
            macv = sorted(n for n, link in current.items() if link['kind'] in ('macvlan', 'macvtap')
                          and link.get('lower') == spec['lower'] and n not in removed)
            if macv:
                raise invalid('lower', spec['lower'], "carries macvlan/macvtap links (%s); a lower device takes "
                              "either macvlan/macvtap or ipvlan/ipvtap links, not both" % ', '.join(macv),
                              spec['name'])
        _check_port(present, current, self.kind, removed, purge_lowers)

    def link_view(self, spec, cur):
        link = dict(cur or {})
        link.update(dict((f, spec[f]) for f in ('name', 'kind', 'lower', 'mode', 'flag', 'admin_state')))
        if spec['mtu'] is not None:
            link['mtu'] = spec['mtu']
        return link

    def describe_words(self, obj):
        return ['%s %s: lower %s, mode %s %s' % (obj['kind'], obj['name'], obj.get('lower'), obj.get('mode'),
                                                 obj.get('flag')),
                'mtu %s' % (obj.get('mtu') or '(default)'), obj.get('admin_state') or 'down']


IPVLAN = IpvlHandler('ipvlan', chardev=False)
IPVTAP = IpvlHandler('ipvtap', chardev=True)
HANDLERS = {'ipvlan': IPVLAN, 'ipvtap': IPVTAP}


def _check_port(present, current, kind, removed, purge_lowers):
    """Mode and flag are the lower device's (its ipvlan port's): every ipvlan/ipvtap on one lower device
    has the same ones, and a link made or changed with others changes its siblings too. So the task's
    links on a lower device agree, and with every sibling that stays."""
    wanted: dict = {}  # lower -> (mode, flag, link that set them)
    for spec in present:
        settings = (spec['mode'], spec['flag'])
        first = wanted.setdefault(spec['lower'], settings + (spec['name'],))
        if first[:2] != settings:
            field = 'mode' if first[0] != spec['mode'] else 'flag'
            raise invalid(field, spec[field], "differs from %s's %s on the same lower device %s (%s %s): mode and "
                          "flag belong to the lower device, shared by all its ipvlan/ipvtap links"
                          % (first[2], field, spec['lower'], first[0], first[1]), spec['name'])
    listed = set(s['name'] for s in present)
    for name, link in sorted(current.items()):
        if link['kind'] not in KINDS or name in listed or name in removed or link.get('lower') not in wanted:
            continue
        if link['kind'] == kind and link['lower'] in purge_lowers:
            continue  # purged by this task
        mode, flag, by = wanted[link['lower']]
        if (link.get('mode'), link.get('flag')) != (mode, flag):
            field = 'mode' if link.get('mode') != mode else 'flag'
            raise invalid(field, mode if field == 'mode' else flag,
                          "lower device %s also carries %s %s (%s %s), which would change with it: mode and flag "
                          "belong to the lower device; list %s in the task with the same mode and flag, or remove it"
                          % (link['lower'], link['kind'], name, link.get('mode'), link.get('flag'), name), by)
