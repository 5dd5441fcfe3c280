# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tun/tap devices (the kernel's link kind 'tun')."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils._apply import (
    AddTap, ChangeTap, DeleteLinks, tap_from_state)
from ansible_collections.hostnet.vif.plugins.module_utils._facts import report_tap
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import (
    check_ifname, check_mtu, normalise_mac, reject_duplicates, resolve_group, resolve_user, task_entries)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import (
    IN_PLACE, RECREATE, Field, module_options, names, normalise)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler, Links, Plan, differences


def _bridge(value, field, obj):
    """A bridge to be a port of, or '' for none."""
    return check_ifname(value, field, obj) if value != '' else ''


# The options of a tun/tap device (top level, and the keys of a taps: entry). mode and the flags have no
# default: omitted means "as it is" for an existing device, tap / off for a new one. The kernel refuses
# to attach with another type or multi-queue flag (EINVAL), so those are fixed when the device is made;
# vnet_hdr and packet_info follow whoever attaches (TUNSETIFF).
TAP_FIELDS = (
    Field('name', check=check_ifname, per_entry=True),
    Field('state', choices=('present', 'absent'), default='present'),
    Field('mode', choices=('tap', 'tun'), change=RECREATE),
    Field('owner', check=resolve_user, change=IN_PLACE),
    Field('group', check=resolve_group, change=IN_PLACE),
    Field('multi_queue', type='bool', change=RECREATE),
    Field('vnet_hdr', type='bool', change=IN_PLACE),
    Field('packet_info', type='bool', change=IN_PLACE),
    Field('bridge', check=_bridge, change=IN_PLACE),
    Field('mtu', type='int', check=check_mtu, change=IN_PLACE),
    Field('mac', check=normalise_mac, per_entry=True, change=IN_PLACE),
    Field('admin_state', choices=('up', 'down'), default='up', change=IN_PLACE),
)
TAP_FLAGS = ('multi_queue', 'vnet_hdr', 'packet_info')
TAP_FIXED = names(TAP_FIELDS, change=RECREATE)
TAP_IN_PLACE = names(TAP_FIELDS, change=IN_PLACE)
VERIFIED = names(TAP_FIELDS, verify=True)


class TapHandler(Handler):
    kind = 'tun'

    def argument_spec(self):
        return module_options(TAP_FIELDS, 'taps')

    def build(self, params):
        return build_tap_specs(params)

    def read(self, kernel, netns, task, after=False):
        return Links(kernel.dump_links())

    def check(self, task, state):
        check_taps_against(task, state.links)

    def plan(self, task, state):
        return plan_taps(task, state.links)

    def describe(self, obj):
        tap = obj if 'tun' not in obj else dict(obj, **_tap_view(obj))
        flags = [f for f in ('multi_queue', 'vnet_hdr', 'packet_info') if tap.get(f)]
        return '%s %s: owner %s, group %s, flags [%s], mtu %s, mac %s, bridge %s, %s' % (
            tap.get('mode'), tap['name'], tap.get('owner'), tap.get('group'), ', '.join(flags),
            tap.get('mtu') or '(default)', tap.get('mac') or '(kernel-assigned)', tap.get('bridge') or '(none)',
            tap.get('admin_state'))

    def report_planned(self, netns, task, state, plan, check_mode):
        return {'taps': [_predicted_tap(plan.after.get(s['name']), state.links.get(s['name']), netns)
                         for s in task if s['state'] == 'present']}

    def problems(self, task, plan, after):
        found = []
        for spec in task:
            link = after.links.get(spec['name'])
            if spec['state'] == 'absent':
                if link is not None and link['kind'] == 'tun':
                    found.append('%s still exists' % spec['name'])
                continue
            if link is None or link['kind'] != 'tun':
                found.append('%s does not exist' % spec['name'])
                continue
            found.extend(differences(spec['name'], spec, _tap_view(link), VERIFIED))
        return found

    def report(self, netns, task, plan, after):
        return {'taps': [report_tap(after.links[s['name']], netns) for s in task if s['state'] == 'present']}


TAP = TapHandler()


def _tap_view(link):
    """A tun/tap device from the kernel, in the fields a tap spec uses."""
    view = tap_from_state(link)
    view['bridge'] = view['bridge'] or ''
    return view


def _predicted_tap(predicted, link, netns):
    if predicted is None:
        return report_tap(link, netns)
    out = dict((k, predicted.get(k)) for k in ('name', 'owner', 'group', 'multi_queue', 'vnet_hdr', 'packet_info',
                                               'mac', 'mtu', 'admin_state'))
    out.update({'index': (link or {}).get('index'), 'type': predicted.get('mode'),
                'bridge': predicted.get('bridge') or None, 'persistent': True, 'netns': netns})
    return out


def build_tap_specs(params):
    """Task arguments -> tap specs. One device (top-level name) or many (taps:)."""
    entries = task_entries(params, 'taps', 'name', 'tap device', names(TAP_FIELDS),
                           names(TAP_FIELDS, per_entry=True))
    return reject_duplicates([_tap_spec(merged, position) for position, merged in entries], 'name')


def _tap_spec(entry, position):
    name = check_ifname(entry.get('name'), 'name' if position is None else 'taps[%d].name' % position)
    spec = normalise(TAP_FIELDS, entry, name, skip=('name',))
    spec.update(name=name, kind='tun')
    if spec['mode'] == 'tun' and spec['mac']:
        raise invalid('mac', entry['mac'], "a tun device carries IP packets and has no MAC address", name)
    if spec['mode'] == 'tun' and spec['bridge']:
        raise invalid('bridge', entry['bridge'], "a tun device carries IP packets and cannot be a bridge port "
                      "(set bridge: '' for this entry)", name)
    if spec['state'] == 'absent':
        # every field it gives was validated above; removing a device needs only its name
        return {'name': name, 'kind': 'tun', 'state': 'absent'}
    return spec


def check_taps_against(specs, current):
    for spec in specs:
        existing = current.get(spec['name'])
        if existing and existing['kind'] != 'tun' and spec['state'] == 'present':
            raise VifError("%s: a link named %s already exists and is a %s, not a tun/tap device; choose another "
                           "name or remove it first" % (spec['name'], spec['name'], existing['kind'] or 'plain device'),
                           obj=spec['name'], field='name', value=spec['name'])
        bridge = spec.get('bridge')
        if bridge:
            found = current.get(bridge)
            if found is None:
                raise invalid('bridge', bridge, "no such device in this network namespace", spec['name'])
            if found['kind'] != 'bridge':
                raise invalid('bridge', bridge, "is a %s, not a Linux bridge" % (found['kind'] or 'plain device'),
                              spec['name'])


def plan_taps(specs, current):
    """Plan tun/tap devices: create, delete, change owner/group/vnet_hdr/packet_info/mtu/mac/
    bridge/state in place; a different mode or multi_queue (fixed when the device is made)
    recreates it with the same ifindex."""
    plan = Plan()
    deletes, adds, changes = [], [], []
    recreates: list = []  # delete + add pairs
    for spec in specs:
        name = spec['name']
        cur = current.get(name)
        cur = cur if cur is not None and cur['kind'] == 'tun' else None
        if spec['state'] == 'absent':
            if cur is not None:
                deletes.append(cur)
                plan.touch(name, cur, None)
            continue
        if cur is None:
            new = dict(spec, mode=spec['mode'] or 'tap')
            new.update(dict((f, bool(spec[f])) for f in TAP_FLAGS))
            adds.append(AddTap(new))
            plan.touch(name, None, _predict_tap(new, None))
            continue
        have = tap_from_state(cur)
        fixed = [f for f in TAP_FIXED if spec[f] is not None and have[f] != spec[f]]
        if fixed:
            reason = 'recreate: %s cannot change on an existing device' % ', '.join(fixed)
            new = _predict_tap(spec, cur)
            if new['mode'] != 'tap' or have['mode'] != 'tap':
                new['mac'] = spec['mac']  # tun devices have no MAC to keep
            if new['mode'] == 'tun' and new.get('bridge'):
                reason += '; a tun device cannot be a bridge port, so it leaves %s' % new['bridge']
                new['bridge'] = ''
            recreates.append(DeleteLinks([cur], reason=reason))
            recreates.append(AddTap(dict(new, restore_index=cur['index']), reason=reason))
            plan.touch(name, cur, new)
            continue
        diffs = dict((f, (have[f], spec[f])) for f in TAP_IN_PLACE if spec[f] is not None and spec[f] != have[f])
        if diffs:
            changes.append(ChangeTap(cur, diffs))
            plan.touch(name, cur, _predict_tap(spec, cur))
    if deletes:
        plan.actions.append(DeleteLinks(deletes))
    plan.actions.extend(recreates + adds + changes)
    return plan


def _predict_tap(spec, cur):
    tap = tap_from_state(cur) if cur else {}
    tap.update(dict((k, v) for k, v in spec.items() if v is not None))
    tap['kind'] = 'tun'
    return tap
