# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvlan and ipvtap: one handler; an ipvtap is an ipvlan plus a character device (/dev/tapN, the
"ipvtap" major of /proc/devices) whose owner, group and permission bits the task may manage, as for
macvtap (the device helpers are macv.py's and _facts.py's).

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

from ansible_collections.hostnet.vif.plugins.module_utils._apply import (
    AddLink, ChangeLink, DeleteLinks, SetDeviceOwner)
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._facts import device_state, report_link
from ansible_collections.hostnet.vif.plugins.module_utils._model import (
    check_ifname, check_mtu, reject_duplicates, task_entries)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import (
    IN_PLACE, RECREATE, Field, names, normalise)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler, Plan, differences
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.macv import (
    DEVICE_FIELDS, DEVICE_VERIFIED, LinkState, LinkTask, _add_order, _owner_changes)

KINDS = ('ipvlan', 'ipvtap')  # both kinds share the lower device's ipvlan port
MODES = ('l2', 'l3', 'l3s')
FLAGS = ('bridge', 'private', 'vepa')  # one of three (IPVLAN_F_PRIVATE, IPVLAN_F_VEPA, neither)

# The options of a link (top level, and the keys of a links: entry). The defaults l3 and bridge are the
# kernel's own (ipvlan_link_new). No mac: an ipvlan has its lower device's. An ipvtap's character
# device takes macvtap's DEVICE_FIELDS.
LINK_FIELDS = (
    Field('name', check=check_ifname, per_entry=True),
    Field('lower', check=check_ifname, change=RECREATE),
    Field('mode', choices=MODES, default='l3', change=IN_PLACE),
    Field('flag', choices=FLAGS, default='bridge', change=IN_PLACE),
    Field('mtu', type='int', check=check_mtu, change=IN_PLACE),
    Field('state', choices=('present', 'absent'), default='present'),
    Field('admin_state', choices=('up', 'down'), default='up', change=IN_PLACE),
)
VERIFIED = ('kind',) + names(LINK_FIELDS, verify=True)
IN_PLACE_FIELDS = names(LINK_FIELDS, change=IN_PLACE)


class IpvlHandler(Handler):
    def __init__(self, kind, chardev):
        self.kind = kind
        self.chardev = chardev

    def build(self, params):
        specs = build_specs(params, self.kind)
        purge_lowers = set()
        if params.get('purge'):
            purge_lowers = set(s['lower'] for s in specs if s['state'] == 'present')
            if params.get('lower'):
                purge_lowers.add(check_ifname(params['lower'], 'lower'))
            if not purge_lowers:
                raise VifError("purge needs the lower devices to purge: set lower, or list links with lower",
                               field='purge', value=True)
        return LinkTask(specs, purge_lowers, self.chardev)

    def read(self, kernel, netns, task, after=False):
        links = kernel.dump_links()
        devices = device_state(netns, links, task.managed, create=after) if task.managed else {}
        return LinkState(links, devices)

    def check(self, task, state):
        check_against(task.specs, state.links, self.kind, task.purge_lowers)

    def plan(self, task, state):
        return plan_links(task.specs, state.links, self.kind, self.chardev, task.purge_lowers, state.devices)

    def describe(self, obj):
        return describe_link(obj, self.chardev)

    def report_planned(self, netns, task, state, plan, check_mode):
        view = dict((n, plan.after.get(n) or state.links.get(n)) for n in task.present)
        devices = {}
        if not plan.actions and task.managed:
            devices = device_state(netns, state.links, task.managed, create=not check_mode)
        return {'links': [report_link(view[n], netns, devices.get(n)) for n in task.present if view.get(n)]}

    def problems(self, task, plan, after):
        return verify_links(after.links, self.kind, plan, after.devices)

    def report(self, netns, task, plan, after):
        return {'links': [report_link(after.links[n], netns, after.devices.get(n)) for n in task.present]}


IPVLAN = IpvlHandler('ipvlan', chardev=False)
IPVTAP = IpvlHandler('ipvtap', chardev=True)
HANDLERS = {'ipvlan': IPVLAN, 'ipvtap': IPVTAP}


def fields(kind):
    """The table of a kind: a link's options, and for ipvtap its character device's."""
    return LINK_FIELDS + (DEVICE_FIELDS if HANDLERS[kind].chardev else ())


def build_specs(params, kind):
    """Task arguments -> link specs (dicts), every value checked. One link (name) or many (links:)."""
    table = fields(kind)
    if params.get('links') is None and params.get('name') is None and params.get('purge'):
        return []  # purge alone: remove every link of this kind on the lower device
    entries = task_entries(params, 'links', 'name', '%s link' % kind, names(table), names(table, per_entry=True))
    return reject_duplicates([_spec(merged, kind, table, position) for position, merged in entries], 'name')


def _spec(entry, kind, table, position):
    name = check_ifname(entry.get('name'), 'name' if position is None else 'links[%d].name' % position)
    spec = normalise(table, entry, name, skip=('name',))
    spec.update(name=name, kind=kind)
    if spec['lower'] is None and spec['state'] == 'present':
        raise VifError("%s: lower is required (the device the %s sits on)" % (name, kind), obj=name, field='lower')
    if spec['lower'] == name:
        raise invalid('lower', spec['lower'], "a link cannot be its own lower device", name)
    if spec['state'] == 'absent':
        # every field it gives was validated above; removing a link needs only its name
        return {'name': name, 'kind': kind, 'state': 'absent'}
    return spec


def check_against(specs, current, kind, purge_lowers=()):
    """The task against the kernel's links (dict by name), before anything changes. Raises VifError."""
    removed = set(s['name'] for s in specs if s['state'] == 'absent')
    present = [s for s in specs if s['state'] == 'present']
    for spec in present:
        name = spec['name']
        existing = current.get(name)
        if existing and existing['kind'] != kind:
            raise VifError("%s: a link named %s already exists and is a %s, not a %s; choose another name or "
                           "remove it first" % (name, name, existing['kind'] or 'plain device', kind),
                           obj=name, field='name', value=name)
        lower = current.get(spec['lower'])
        if lower is None:
            raise invalid('lower', spec['lower'], "no such device in this network namespace", name)
        if lower['loopback']:
            raise invalid('lower', spec['lower'], "the loopback device cannot carry %s links" % kind, name)
        if lower['kind'] in KINDS:
            raise invalid('lower', spec['lower'], "is itself an %s; give its lower device (%s), which the kernel "
                          "would use instead" % (lower['kind'], lower.get('lower')), name)
        limit = lower.get('mtu')
        if spec['mtu'] is not None and limit is not None and spec['mtu'] > limit:
            raise invalid('mtu', spec['mtu'], "above the MTU of lower device %s (%d)" % (spec['lower'], limit), name)
        macv = sorted(n for n, link in current.items() if link['kind'] in ('macvlan', 'macvtap')
                      and link.get('lower') == spec['lower'] and n not in removed)
        if macv:
            raise invalid('lower', spec['lower'], "carries macvlan/macvtap links (%s); a lower device takes either "
                          "macvlan/macvtap or ipvlan/ipvtap links, not both" % ', '.join(macv), name)
    _check_port(present, current, kind, removed, purge_lowers)


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


def describe_link(obj, chardev):
    words = ['%s %s: lower %s, mode %s %s' % (obj['kind'], obj['name'], obj.get('lower'), obj.get('mode'),
                                              obj.get('flag'))]
    words.append('mtu %s' % (obj.get('mtu') or '(default)'))
    words.append(obj.get('admin_state') or 'down')
    dev = obj.get('device') or {}
    if chardev and dev:
        words.append('device owner %s group %s mode %s' % (dev.get('owner', '?'), dev.get('group', '?'),
                                                            dev.get('device_mode', '?')))
    return ', '.join(words)


def verify_links(after, kind, plan, devices):
    """What the kernel now reports against the plan's prediction (every write is read back)."""
    problems = []
    for name, predicted in plan.after.items():
        link = after.get(name)
        if predicted is None:
            if link is not None and link['kind'] == kind:
                problems.append('%s still exists' % name)
            continue
        if link is None:
            problems.append('%s does not exist' % name)
            continue
        problems.extend(differences(name, predicted, link, VERIFIED))
        problems.extend(differences(name, predicted.get('device') or {}, devices.get(name) or {}, DEVICE_VERIFIED,
                                    'character device '))
    return problems


def recreate_reason(spec, cur):
    """Why a link cannot be brought to spec in place (None when it can: mode and flag can)."""
    if cur.get('lower_netnsid') is not None:
        return 'its lower device is in another namespace'
    if cur['lower'] != spec['lower']:
        return 'lower device %s -> %s cannot change in place' % (cur['lower'], spec['lower'])
    return None


def _predict(spec, cur, chardev):
    link = dict(cur or {})
    link.update(dict((f, spec[f]) for f in ('name', 'kind', 'lower', 'mode', 'flag', 'admin_state')))
    if spec['mtu'] is not None:
        link['mtu'] = spec['mtu']
    if chardev:
        device = dict(link.get('device') or {})
        for field in DEVICE_VERIFIED:
            if spec.get(field) is not None:
                device[field] = spec[field]
        link['device'] = device
    return link


def plan_links(specs, current, kind, chardev, purge_lowers=(), devices=None):
    """Deletes first (one kernel transaction), then recreates, adds (lower devices first), in-place
    changes and character-device ownership. ``devices``: character-device state of existing links."""
    devices = devices or {}
    plan = Plan()
    deletes, adds, changes, owners = [], [], [], []
    recreates: list = []  # delete + add pairs
    listed = set(spec['name'] for spec in specs)
    for spec in specs:
        name = spec['name']
        cur = current.get(name)
        if cur is not None and cur['kind'] != kind:
            cur = None  # check_against refused present specs on foreign links; absent: nothing of ours
        if spec['state'] == 'absent':
            if cur is not None:
                deletes.append(cur)
                plan.touch(name, cur, None)
            continue
        if cur is not None and chardev:
            cur = dict(cur, device=devices.get(name))
        after = _predict(spec, cur, chardev)
        if cur is None:
            adds.append(spec)
            plan.touch(name, None, after)
            continue
        reason = recreate_reason(spec, cur)
        if reason:
            new = dict(after, mtu=spec['mtu'])
            recreates.append(DeleteLinks([cur], reason='recreate: ' + reason))
            recreates.append(AddLink(new, reason='recreate: ' + reason))
            owner = dict((k, v) for k, v in (after.get('device') or {}).items() if k in DEVICE_VERIFIED)
            if owner:  # re-apply ownership (the managed one, else the one the old device had)
                owners.append(SetDeviceOwner(name, **owner))
            plan.touch(name, cur, new)
            continue
        diffs = dict((field, (cur.get(field), spec[field])) for field in IN_PLACE_FIELDS
                     if spec[field] is not None and spec[field] != cur.get(field))
        if diffs:
            changes.append(ChangeLink(cur, diffs))
        owner = _owner_changes(spec, cur.get('device')) if chardev else {}
        if owner:
            owners.append(SetDeviceOwner(name, **owner))
        if diffs or owner:
            plan.touch(name, cur, after)
    for name, link in sorted(current.items()):
        if purge_lowers and link['kind'] == kind and name not in listed and link.get('lower') in purge_lowers:
            deletes.append(link)
            plan.touch(name, link, None)
    if deletes:
        plan.actions.append(DeleteLinks(deletes))
    plan.actions.extend(recreates)
    for spec in _add_order(adds):
        plan.actions.append(AddLink(plan.after[spec['name']]))
        if chardev and _owner_changes(spec, None):
            owners.append(SetDeviceOwner(spec['name'], spec.get('owner'), spec.get('group'), spec.get('device_mode')))
    plan.actions.extend(changes)
    plan.actions.extend(owners)
    return plan
