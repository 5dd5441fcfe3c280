# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""macvlan and macvtap: one handler class (the shared link-kind machinery is _links.py); a macvtap
is a macvlan plus a character device whose owner, group and permission bits the task may manage."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import check_ifname, check_mtu, normalise_mac
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import IN_PLACE, RECREATE, Field
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._links import LinkHandler

MODES = ('vepa', 'bridge', 'private', 'passthru', 'source')


def _source_macs(value, field, obj):
    """The source list is a set: normal form sorted, without repeats."""
    return sorted(set(normalise_mac(mac, field, obj) for mac in value))


class MacvHandler(LinkHandler):
    # The options of a link (top level, and the keys of a links: entry). The default mode vepa is the
    # kernel's own default for macvlan and macvtap.
    LINK_FIELDS = (
        Field('name', check=check_ifname, per_entry=True),
        Field('lower', check=check_ifname, change=RECREATE),
        Field('mode', choices=MODES, default='vepa', change=IN_PLACE),  # to or from passthru: fixed_change
        Field('mac', check=normalise_mac, per_entry=True, change=IN_PLACE),
        Field('mtu', type='int', check=check_mtu, change=IN_PLACE),
        Field('state', choices=('present', 'absent'), default='present'),
        Field('admin_state', choices=('up', 'down'), default='up', change=IN_PLACE),
        Field('source_macs', type='list', elements='str', check=_source_macs, per_entry=True, change=IN_PLACE),
        Field('nopromisc', type='bool', default=False, change=RECREATE),
    )

    def entry_rules(self, spec, entry):
        mode, name = spec['mode'], spec['name']
        if spec['nopromisc'] and mode != 'passthru':
            raise invalid('nopromisc', True, "only applies to mode passthru (mode is %s)" % mode, name)
        if entry.get('source_macs') is not None and mode != 'source':
            raise invalid('source_macs', entry['source_macs'], "only applies to mode source (mode is %s)" % mode,
                          name)
        if mode == 'source' and spec['source_macs'] is None:
            spec['source_macs'] = []  # mode source with no list accepts nothing

    def kernel_rules(self, specs, current, purge_lowers):
        _check_passthru(specs, current, self.kind, purge_lowers)
        _check_macs(specs, current, self.kind, purge_lowers)

    def link_view(self, spec, cur):
        link = dict(cur or {})
        link.update({'name': spec['name'], 'kind': spec['kind'], 'lower': spec['lower'], 'mode': spec['mode'],
                     'nopromisc': spec['nopromisc'], 'admin_state': spec['admin_state'],
                     'source_macs': spec['source_macs'] if spec['mode'] == 'source' else []})
        for field in ('mac', 'mtu'):
            if spec[field] is not None:
                link[field] = spec[field]
        return link

    def fixed_change(self, spec, cur):
        if (cur['mode'] == 'passthru') != (spec['mode'] == 'passthru'):
            return 'mode %s -> %s cannot change in place' % (cur['mode'], spec['mode'])
        if bool(cur.get('nopromisc')) != bool(spec['nopromisc']):
            return 'the nopromisc flag cannot change in place'
        return None

    def recreated(self, after, spec, cur):
        # Keep the link's MAC across the recreate: guests and DHCP leases know it (a passthru link
        # has its lower device's).
        keep_mac = cur['mac'] if 'passthru' not in (cur['mode'], spec['mode']) else None
        return dict(after, mac=spec['mac'] or keep_mac, mtu=spec['mtu'])

    def comparable(self, link):
        # the source list is a set: compared sorted, an empty one the same as none
        return dict(link, source_macs=sorted(link.get('source_macs') or []))

    def describe_words(self, obj):
        words = ['%s %s: lower %s, mode %s' % (obj['kind'], obj['name'], obj.get('lower'), obj.get('mode'))]
        if obj.get('nopromisc'):
            words.append('nopromisc')
        default_mac = "(the lower device's)" if obj.get('mode') == 'passthru' else '(kernel-assigned)'
        words.append('mac %s' % (obj.get('mac') or default_mac))
        words.append('mtu %s' % (obj.get('mtu') or '(default)'))
        words.append(obj.get('admin_state') or 'down')
        if obj.get('mode') == 'source':
            words.append('source_macs [%s]' % ', '.join(obj.get('source_macs') or []))
        return words


MACVLAN = MacvHandler('macvlan', chardev=False)
MACVTAP = MacvHandler('macvtap', chardev=True)
HANDLERS = {'macvlan': MACVLAN, 'macvtap': MACVTAP}


def _check_macs(specs, current, kind, purge_lowers):
    """Two macvlan/macvtap links that are up on one lower device cannot share a MAC, nor take the lower
    device's own (outside passthru): the kernel refuses to bring the second one up with only EADDRINUSE,
    so name both links before anything changes. (Links that stay down may share one: the kernel checks
    addresses when a link goes up.)"""
    removed = set(s['name'] for s in specs if s['state'] == 'absent')
    in_task = dict((s['name'], s) for s in specs if s['state'] == 'present')
    holders = {}  # (lower, mac) -> who holds it up after the task, among links that keep their address
    for link in current.values():
        spec = in_task.get(link['name'])
        if spec is None:
            keeps = (link['name'] not in removed and link.get('admin_state') == 'up'
                     and not (link['kind'] == kind and link['lower'] in purge_lowers))
        else:
            keeps = spec['mac'] is None and link['lower'] == spec['lower'] and spec['admin_state'] == 'up'
        if link['kind'] in ('macvlan', 'macvtap') and link.get('lower') and link.get('mac') and keeps:
            holders[(link['lower'], link['mac'])] = 'existing %s %s' % (link['kind'], link['name'])
    for spec in in_task.values():
        if not spec['mac'] or spec['admin_state'] != 'up':
            continue
        lower = current.get(spec['lower']) or {}
        other = holders.get((spec['lower'], spec['mac']))
        if other is None and spec['mode'] != 'passthru' and lower.get('mac') == spec['mac']:
            other = 'lower device %s itself' % spec['lower']
        if other is not None:
            raise invalid('mac', spec['mac'], "already used on lower device %s by %s; links that are up on one "
                          "lower device need different MAC addresses" % (spec['lower'], other), spec['name'])
        holders[(spec['lower'], spec['mac'])] = '%s %s of this task' % (kind, spec['name'])


def _check_passthru(specs, current, kind, purge_lowers):
    """After the task, a lower device carrying a passthru link carries nothing else of either kind."""
    final = {}
    for link in current.values():
        if link['kind'] in ('macvlan', 'macvtap') and link.get('lower'):
            final[link['name']] = (link['lower'], link['mode'], link['kind'])
    for name, (lower, _mode, link_kind) in list(final.items()):
        if link_kind == kind and lower in purge_lowers:
            del final[name]
    for spec in specs:
        if spec['state'] == 'absent':
            final.pop(spec['name'], None)
        else:
            final[spec['name']] = (spec['lower'], spec['mode'], kind)
    by_lower: dict = {}
    for name, (lower, mode, link_kind) in final.items():
        by_lower.setdefault(lower, []).append((name, mode, link_kind))
    task_names = set(s['name'] for s in specs if s['state'] == 'present')
    for lower, members in sorted(by_lower.items()):
        passthru = [m for m in members if m[1] == 'passthru']
        if passthru and len(members) > 1:
            # the culprit is what the task asks for: its passthru link first, else its link beside one
            offender = next((m for m in members if m[0] in task_names and m[1] == 'passthru'),
                            next((m for m in members if m[0] in task_names), members[0]))
            others = ', '.join('%s (%s %s)' % (m[0], m[2], m[1]) for m in members if m[0] != offender[0])
            raise VifError("%s: lower device %s would carry a passthru link beside other links (%s); a passthru "
                           "link must be alone on its lower device" % (offender[0], lower, others),
                           obj=offender[0], field='mode', value=[m[1] for m in members if m[0] == offender[0]][0])
