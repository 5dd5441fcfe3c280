# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""macvlan and macvtap: one handler; a macvtap is a macvlan plus a character device whose owner,
group and permission bits the task may manage (``chardev``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils._apply import (
    AddLink, ChangeLink, DeleteLinks, SetDeviceOwner)
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._facts import device_state, report_link
from ansible_collections.hostnet.vif.plugins.module_utils._model import (
    check_ifname, check_mtu, normalise_file_mode, normalise_mac, reject_duplicates, resolve_group, resolve_user,
    task_entries)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import (
    IN_PLACE, RECREATE, Field, names, normalise)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler, Plan, differences

MODES = ('vepa', 'bridge', 'private', 'passthru', 'source')


def _source_macs(value, field, obj):
    """The source list is a set: normal form sorted, without repeats."""
    return sorted(set(normalise_mac(mac, field, obj) for mac in value))


# The options of a link (top level, and the keys of a links: entry). The default mode vepa is the
# kernel's own default for macvlan and macvtap.
LINK_FIELDS = (
    Field('name', check=check_ifname, per_entry=True),
    Field('lower', check=check_ifname, change=RECREATE),
    Field('mode', choices=MODES, default='vepa', change=IN_PLACE),  # to or from passthru: recreate_reason
    Field('mac', check=normalise_mac, per_entry=True, change=IN_PLACE),
    Field('mtu', type='int', check=check_mtu, change=IN_PLACE),
    Field('state', choices=('present', 'absent'), default='present'),
    Field('admin_state', choices=('up', 'down'), default='up', change=IN_PLACE),
    Field('source_macs', type='list', elements='str', check=_source_macs, per_entry=True, change=IN_PLACE),
    Field('nopromisc', type='bool', default=False, change=RECREATE),
)
# A macvtap's character device /dev/tapN; not managed where None.
DEVICE_FIELDS = (
    Field('owner', check=resolve_user, change=IN_PLACE),
    Field('group', check=resolve_group, change=IN_PLACE),
    Field('device_mode', type='raw', check=normalise_file_mode, change=IN_PLACE),
)
VERIFIED = ('kind',) + names(LINK_FIELDS, verify=True)
DEVICE_VERIFIED = names(DEVICE_FIELDS)
IN_PLACE_FIELDS = names(LINK_FIELDS, change=IN_PLACE)


class LinkTask:
    def __init__(self, specs, purge_lowers, chardev):
        self.specs = specs
        self.purge_lowers = purge_lowers
        self.present = [s['name'] for s in specs if s['state'] == 'present']
        self.managed = self.present if chardev else []  # links whose character device is read and reported


class LinkState:
    def __init__(self, links, devices):
        self.links = links
        self.devices = devices  # character-device state by link name (macvtap)


class MacvHandler(Handler):
    def __init__(self, kind, chardev):
        self.kind = kind
        self.chardev = chardev

    def build(self, params):
        specs = build_link_specs(params, self.kind)
        purge_lowers = set()
        if params.get('purge'):
            purge_lowers = set(s['lower'] for s in specs if s['state'] == 'present')
            if params.get('lower'):
                purge_lowers.add(params['lower'])
            if not purge_lowers:
                raise VifError("purge needs the lower devices to purge: set lower, or list links with lower",
                               field='purge', value=True)
        return LinkTask(specs, purge_lowers, self.chardev)

    def read(self, kernel, netns, task, after=False):
        links = kernel.dump_links()
        # the read-back makes a missing private node (the plan created the link); a first read never does
        devices = device_state(netns, links, task.managed, create=after) if task.managed else {}
        return LinkState(links, devices)

    def check(self, task, state):
        check_against(task.specs, state.links, self.kind, task.purge_lowers)

    def plan(self, task, state):
        return plan_links(task.specs, state.links, self.kind, task.purge_lowers, state.devices)

    def describe(self, obj):
        return describe_link(obj, self.chardev)

    def report_planned(self, netns, task, state, plan, check_mode):
        view = dict((n, plan.after.get(n) or state.links.get(n)) for n in task.present)
        devices = {}
        if not plan.actions and task.managed:
            devices = device_state(netns, state.links, task.managed, create=not check_mode)
        return {'links': [report_link(view[n], netns, devices.get(n)) for n in task.present if view.get(n)]}

    def problems(self, task, plan, after):
        return verify_links(task.specs, after.links, self.kind, plan, after.devices)

    def report(self, netns, task, plan, after):
        return {'links': [report_link(after.links[n], netns, after.devices.get(n)) for n in task.present]}


MACVLAN = MacvHandler('macvlan', chardev=False)
MACVTAP = MacvHandler('macvtap', chardev=True)
HANDLERS = {'macvlan': MACVLAN, 'macvtap': MACVTAP}


def fields(kind):
    """The table of a kind: a link's options, and for macvtap its character device's."""
    return LINK_FIELDS + (DEVICE_FIELDS if HANDLERS[kind].chardev else ())


def build_link_specs(params, kind):
    """Task arguments -> list of link specs (dicts). One link (top-level name) or many (links:)."""
    table = fields(kind)
    if params.get('links') is None and params.get('name') is None and params.get('purge'):
        return []  # purge alone: remove every link of this kind on the lower device
    entries = task_entries(params, 'links', 'name', '%s link' % kind, names(table), names(table, per_entry=True))
    return reject_duplicates([_link_spec(merged, kind, table, position) for position, merged in entries], 'name')


def _link_spec(entry, kind, table, position):
    name = check_ifname(entry.get('name'), 'name' if position is None else 'links[%d].name' % position)
    spec = normalise(table, entry, name, skip=('name',))
    spec.update(name=name, kind=kind)
    if spec['lower'] is None and spec['state'] == 'present':
        raise VifError("%s: lower is required (the device the %s sits on)" % (name, kind), obj=name, field='lower')
    if spec['lower'] == name:
        raise invalid('lower', spec['lower'], "a link cannot be its own lower device", name)
    mode = spec['mode']
    if spec['nopromisc'] and mode != 'passthru':
        raise invalid('nopromisc', True, "only applies to mode passthru (mode is %s)" % mode, name)
    if entry.get('source_macs') is not None and mode != 'source':
        raise invalid('source_macs', entry['source_macs'], "only applies to mode source (mode is %s)" % mode, name)
    if mode == 'source' and spec['source_macs'] is None:
        spec['source_macs'] = []
    if spec['state'] == 'absent':
        # every field it gives was validated above; removing a link needs only its name
        return {'name': name, 'kind': kind, 'state': 'absent'}
    return spec


def check_against(specs, current, kind, purge_lowers=()):
    """Validate specs against the kernel's current links (dict by name). Raises VifError."""
    for spec in specs:
        name = spec['name']
        existing = current.get(name)
        if existing and existing['kind'] != kind and spec['state'] == 'present':
            raise VifError("%s: a link named %s already exists and is a %s, not a %s; choose another name or "
                           "remove it first" % (name, name, existing['kind'] or 'plain device', kind),
                           obj=name, field='name', value=name)
        if spec['state'] == 'absent':
            continue
        lower = current.get(spec['lower'])
        if lower is None:
            raise invalid('lower', spec['lower'], "no such device in this network namespace", name)
        if lower['loopback']:
            raise invalid('lower', spec['lower'], "the loopback device cannot carry %s links" % kind, name)
        limit = lower.get('mtu')
        if spec['mtu'] is not None and limit is not None and spec['mtu'] > limit:
            raise invalid('mtu', spec['mtu'], "above the MTU of lower device %s (%d)" % (spec['lower'], limit), name)
    _check_passthru(specs, current, kind, purge_lowers)
    _check_macs(specs, current, kind, purge_lowers)


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


def describe_link(obj, chardev):
    words = ['%s %s: lower %s, mode %s' % (obj['kind'], obj['name'], obj.get('lower'), obj.get('mode'))]
    if obj.get('nopromisc'):
        words.append('nopromisc')
    default_mac = "(the lower device's)" if obj.get('mode') == 'passthru' else '(kernel-assigned)'
    words.append('mac %s' % (obj.get('mac') or default_mac))
    words.append('mtu %s' % (obj.get('mtu') or '(default)'))
    words.append(obj.get('admin_state') or 'down')
    if obj.get('mode') == 'source':
        words.append('source_macs [%s]' % ', '.join(obj.get('source_macs') or []))
    dev = obj.get('device') or {}
    if chardev and dev:
        owner = (dev.get('owner', '?'), dev.get('group', '?'), dev.get('device_mode', '?'))
        words.append('device owner %s group %s mode %s' % owner)
    return ', '.join(words)


def verify_links(specs, after, kind, plan, devices):
    """Compare what the kernel now reports with what was asked (pyroute2 drops unknown arguments
    silently, so a write is only trusted once read back)."""
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
        # the source list is a set: compared sorted, an empty one the same as none
        want = dict(predicted, source_macs=sorted(predicted.get('source_macs') or []))
        have = dict(link, source_macs=sorted(link.get('source_macs') or []))
        problems.extend(differences(name, want, have, VERIFIED))
        # only chardev kinds predict a device
        problems.extend(differences(name, predicted.get('device') or {}, devices.get(name) or {}, DEVICE_VERIFIED,
                                    'character device '))
    return problems


def recreate_reason(spec, cur):
    """Why a link cannot be brought to spec in place (None when it can)."""
    if cur.get('lower_netnsid') is not None:
        return 'its lower device is in another namespace'
    if cur['lower'] != spec['lower']:
        return 'lower device %s -> %s cannot change in place' % (cur['lower'], spec['lower'])
    if (cur['mode'] == 'passthru') != (spec['mode'] == 'passthru'):
        return 'mode %s -> %s cannot change in place' % (cur['mode'], spec['mode'])
    if bool(cur.get('nopromisc')) != bool(spec['nopromisc']):
        return 'the nopromisc flag cannot change in place'
    return None


def _owner_changes(spec, device):
    """What of owner/group/device_mode differs on the character device (dict field -> value)."""
    want = dict((field, spec.get(field)) for field in DEVICE_VERIFIED)
    have = device or {}
    return dict((k, v) for k, v in want.items() if v is not None and have.get(k) != v)


def _predict(spec, cur, chardev):
    link = dict(cur or {})
    link.update({'name': spec['name'], 'kind': spec['kind'], 'lower': spec['lower'], 'mode': spec['mode'],
                 'nopromisc': spec['nopromisc'], 'admin_state': spec['admin_state'],
                 'source_macs': spec['source_macs'] if spec['mode'] == 'source' else []})
    for field in ('mac', 'mtu'):
        if spec[field] is not None:
            link[field] = spec[field]
    if chardev:
        device = dict(link.get('device') or {})
        for field in DEVICE_VERIFIED:
            if spec.get(field) is not None:
                device[field] = spec[field]
        link['device'] = device
    return link


def _add_order(specs):
    """Links whose lower is created in the same task come after that lower."""
    names = set(s['name'] for s in specs)
    ordered, placed = [], set()
    pending = list(specs)
    while pending:
        progress = [s for s in pending if s['lower'] not in names or s['lower'] in placed]
        if not progress:  # a cycle: the kernel will refuse, in the user's order
            progress = pending
        for spec in progress:
            ordered.append(spec)
            placed.add(spec['name'])
        pending = [s for s in pending if s['name'] not in placed]
    return ordered


def plan_links(specs, current, kind, purge_lowers=(), devices=None):
    """Plan macvlan/macvtap changes. ``devices`` holds the character-device state of existing
    macvtaps by name ({'owner', 'group', 'device_mode', ...}); only needed where a spec manages ownership."""
    chardev = HANDLERS[kind].chardev
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
            # Keep the link's MAC across the recreate: guests and DHCP leases know it.
            keep_mac = cur['mac'] if 'passthru' not in (cur['mode'], spec['mode']) else None
            new = dict(after, mac=spec['mac'] or keep_mac, mtu=spec['mtu'])
            recreates.append(DeleteLinks([cur], reason='recreate: ' + reason))
            recreates.append(AddLink(new, reason='recreate: ' + reason))
            owner = dict((k, v) for k, v in (after.get('device') or {}).items() if k in DEVICE_VERIFIED)
            if owner:  # re-apply ownership (the managed one, else the one the old device had)
                owners.append(SetDeviceOwner(name, **owner))
            plan.touch(name, cur, new)
            continue
        diffs = {}
        for field in IN_PLACE_FIELDS:
            want = spec[field]
            have = cur.get(field)
            if want is not None and want != have:
                diffs[field] = (have, want)
        if diffs:
            changes.append(ChangeLink(cur, diffs))
        owner = _owner_changes(spec, cur.get('device')) if chardev else {}
        if owner:
            owners.append(SetDeviceOwner(name, **owner))
        if diffs or owner:
            plan.touch(name, cur, after)
    for name, link in sorted(current.items()):
        if (purge_lowers and link['kind'] == kind and name not in listed
                and link.get('lower') in purge_lowers):
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
