# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every kind of link on a lower device shares (macvlan/macvtap in macv.py, ipvlan/ipvtap in
ipvl.py): one link or a links: list, purge of the kind on the named lower devices, the checks
against the lower device, the plan (deletes, recreates, adds, in-place changes, character-device
ownership), the read-back and the result. A "tap" kind (macvtap, ipvtap) is its link kind plus a
character device /dev/tapN whose owner, group and permission bits the task may manage.

A kind subclasses LinkHandler with its table (``LINK_FIELDS``) and what is its own: rules that join
fields, rules against the kernel, the link a spec predicts, which of its own changes need a recreate, and the
words of its --diff line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
from ansible_collections.hostnet.vif.plugins.module_utils._apply import (
    AddLink, ChangeLink, DeleteLinks, SetDeviceOwner)
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._facts import device_state, report_link
from ansible_collections.hostnet.vif.plugins.module_utils._model import (
    check_ifname, normalise_file_mode, reject_duplicates, resolve_group, resolve_user, task_entries)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import (
    IN_PLACE, Field, module_options, names, normalise)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler, Plan, differences

# A tap kind's character device; not managed where None.
DEVICE_FIELDS = (
    Field('owner', check=resolve_user, change=IN_PLACE),
    Field('group', check=resolve_group, change=IN_PLACE),
    Field('device_mode', type='raw', check=normalise_file_mode, change=IN_PLACE),
)
DEVICE_VERIFIED = names(DEVICE_FIELDS)


@dataclasses.dataclass
class LinkTask:
    specs: list          # one spec (dict keyed by the kind's field names) per link
    purge_lowers: set
    chardev: bool
    present: list = dataclasses.field(init=False)  # names of the links the task wants
    managed: list = dataclasses.field(init=False)  # links whose character device is read and reported

    def __post_init__(self):
        self.present = [s['name'] for s in self.specs if s['state'] == 'present']
        self.managed = self.present if self.chardev else []


@dataclasses.dataclass
class LinkState:
    links: dict    # the namespace's link dump by name
    devices: dict  # character-device state by link name (tap kinds)


class LinkHandler(Handler):
    LINK_FIELDS: tuple = ()  # the kind's table (name, lower, state, ... and its own fields)

    def __init__(self, kind, chardev):
        self.kind = kind
        self.chardev = chardev
        self.verified = ('kind',) + names(self.LINK_FIELDS, verify=True)
        self.in_place = names(self.LINK_FIELDS, change=IN_PLACE)

    # -- the kind's own (overridden) -------------------------------------------------------------------

    def entry_rules(self, spec, entry):
        """Rules that join several fields of one link, on its normalised spec (``entry``: as given)."""

    def kernel_rules(self, specs, current, purge_lowers):
        """Rules against the kernel's links that are the kind's own (after the shared ones)."""

    def link_view(self, spec, cur):
        """The link a present spec predicts, without its character device."""
        raise NotImplementedError

    def fixed_change(self, spec, cur):
        """Why a change of the kind's own fields needs a recreate (None when they change in place)."""
        return None

    def recreated(self, after, spec, cur):
        """The link to create again when a change needs a recreate."""
        return dict(after, mtu=spec['mtu'])

    def comparable(self, link):
        """A link as the read-back compares it (a kind with set-like fields sorts them here)."""
        return link

    def describe_words(self, obj):
        raise NotImplementedError

    # -- arguments ------------------------------------------------------------------------------------

    def fields(self):
        return self.LINK_FIELDS + (DEVICE_FIELDS if self.chardev else ())

    def argument_spec(self):
        """The module's options: a link's fields at the top level and as links: entries."""
        return module_options(self.fields(), 'links', purge={'type': 'bool', 'default': False})

    def build(self, params):
        specs = self.build_specs(params)
        purge_lowers = set()
        if params.get('purge'):
            purge_lowers = set(s['lower'] for s in specs if s['state'] == 'present')
            if params.get('lower'):
                purge_lowers.add(check_ifname(params['lower'], 'lower'))
            if not purge_lowers:
                raise VifError("purge needs the lower devices to purge: set lower, or list links with lower",
                               field='purge', value=True)
        return LinkTask(specs, purge_lowers, self.chardev)

    def build_specs(self, params):
        """Task arguments -> link specs (dicts), every value checked. One link (name) or many (links:)."""
        if params.get('links') is None and params.get('name') is None and params.get('purge'):
            return []  # purge alone: remove every link of this kind on the lower device
        table = self.fields()
        entries = task_entries(params, 'links', 'name', '%s link' % self.kind, names(table),
                               names(table, per_entry=True))
        return reject_duplicates([self._spec(merged, position) for position, merged in entries], 'name')

    def _spec(self, entry, position):
        name = check_ifname(entry.get('name'), 'name' if position is None else 'links[%d].name' % position)
        spec = normalise(self.fields(), entry, name, skip=('name',))
        spec.update(name=name, kind=self.kind)
        if spec['lower'] is None and spec['state'] == 'present':
            raise VifError("%s: lower is required (the device the %s sits on)" % (name, self.kind), obj=name,
                           field='lower')
        if spec['lower'] == name:
            raise invalid('lower', spec['lower'], "a link cannot be its own lower device", name)
        self.entry_rules(spec, entry)
        if spec['state'] == 'absent':
            # every field it gives was validated above; removing a link needs only its name
            return {'name': name, 'kind': self.kind, 'state': 'absent'}
        return spec

    # -- the kernel -----------------------------------------------------------------------------------

    def read(self, kernel, netns, task, after=False):
        links = kernel.dump_links()
        # the read-back makes a missing private node (the plan created the link); a first read never does
        devices = device_state(netns, links, task.managed, create=after) if task.managed else {}
        return LinkState(links, devices)

    def check(self, task, state):
        self.check_against(task.specs, state.links, task.purge_lowers)

    def check_against(self, specs, current, purge_lowers=()):
        """The specs against the kernel's links (dict by name), before anything changes. Raises VifError."""
        for spec in specs:
            if spec['state'] == 'absent':
                continue
            name = spec['name']
            existing = current.get(name)
            if existing and existing['kind'] != self.kind:
                raise VifError("%s: a link named %s already exists and is a %s, not a %s; choose another name or "
                               "remove it first" % (name, name, existing['kind'] or 'plain device', self.kind),
                               obj=name, field='name', value=name)
            lower = current.get(spec['lower'])
            if lower is None:
                raise invalid('lower', spec['lower'], "no such device in this network namespace", name)
            if lower['loopback']:
                raise invalid('lower', spec['lower'], "the loopback device cannot carry %s links" % self.kind, name)
            limit = lower.get('mtu')
            if spec['mtu'] is not None and limit is not None and spec['mtu'] > limit:
                raise invalid('mtu', spec['mtu'], "above the MTU of lower device %s (%d)" % (spec['lower'], limit),
                              name)
        self.kernel_rules(specs, current, purge_lowers)

    # -- the plan -------------------------------------------------------------------------------------

    def recreate_reason(self, spec, cur):
        """Why an existing link cannot be brought to spec in place (None when it can)."""
        if cur.get('lower_netnsid') is not None:
            return 'its lower device is in another namespace'
        if cur['lower'] != spec['lower']:
            return 'lower device %s -> %s cannot change in place' % (cur['lower'], spec['lower'])
        return self.fixed_change(spec, cur)

    def plan(self, task, state):
        return self.plan_links(task.specs, state.links, task.purge_lowers, state.devices)

    def predict(self, spec, cur):
        link = self.link_view(spec, cur)
        if self.chardev:
            device = dict(link.get('device') or {})
            device.update((field, spec[field]) for field in DEVICE_VERIFIED if spec.get(field) is not None)
            link['device'] = device
        return link

    def plan_links(self, specs, current, purge_lowers=(), devices=None):
        """Deletes first (one kernel transaction), then recreates, adds (a link whose lower device the
        task creates after it), in-place changes, character-device ownership. ``devices``: the
        character-device state of existing links, needed only where a spec manages ownership."""
        devices = devices or {}
        plan = Plan()
        deletes, adds, changes, owners = [], [], [], []
        recreates: list = []  # delete + add pairs
        listed = set(spec['name'] for spec in specs)
        for spec in specs:
            name = spec['name']
            cur = current.get(name)
            if cur is not None and cur['kind'] != self.kind:
                cur = None  # check_against refused present specs on foreign links; absent: nothing of ours
            if spec['state'] == 'absent':
                if cur is not None:
                    deletes.append(cur)
                    plan.touch(name, cur, None)
                continue
            if cur is not None and self.chardev:
                cur = dict(cur, device=devices.get(name))
            after = self.predict(spec, cur)
            if cur is None:
                adds.append(spec)
                plan.touch(name, None, after)
                continue
            reason = self.recreate_reason(spec, cur)
            if reason:
                new = self.recreated(after, spec, cur)
                recreates.append(DeleteLinks([cur], reason='recreate: ' + reason))
                recreates.append(AddLink(new, reason='recreate: ' + reason))
                owner = dict((k, v) for k, v in (after.get('device') or {}).items() if k in DEVICE_VERIFIED)
                if owner:  # re-apply ownership (the managed one, else the one the old device had)
                    owners.append(SetDeviceOwner(name, **owner))
                plan.touch(name, cur, new)
                continue
            diffs = dict((field, (cur.get(field), spec[field])) for field in self.in_place
                         if spec[field] is not None and spec[field] != cur.get(field))
            if diffs:
                changes.append(ChangeLink(cur, diffs))
            owner = _owner_changes(spec, cur.get('device')) if self.chardev else {}
            if owner:
                owners.append(SetDeviceOwner(name, **owner))
            if diffs or owner:
                plan.touch(name, cur, after)
        for name, link in sorted(current.items()):
            if purge_lowers and link['kind'] == self.kind and name not in listed and link.get('lower') in purge_lowers:
                deletes.append(link)
                plan.touch(name, link, None)
        if deletes:
            plan.actions.append(DeleteLinks(deletes))
        plan.actions.extend(recreates)
        for spec in _add_order(adds):
            plan.actions.append(AddLink(plan.after[spec['name']]))
            owner = _owner_changes(spec, None) if self.chardev else {}
            if owner:
                owners.append(SetDeviceOwner(spec['name'], **owner))
        plan.actions.extend(changes)
        plan.actions.extend(owners)
        return plan

    def describe(self, obj):
        words = self.describe_words(obj)
        dev = obj.get('device') or {}
        if self.chardev and dev:
            words.append('device owner %s group %s mode %s' % (
                dev.get('owner', '?'), dev.get('group', '?'), dev.get('device_mode', '?')))
        return ', '.join(words)

    # -- read-back and result -------------------------------------------------------------------------

    def problems(self, task, plan, after):
        return self.verify_links(after.links, plan, after.devices)

    def verify_links(self, after, plan, devices):
        """What the kernel now reports against the plan's prediction (pyroute2 drops arguments it does
        not know silently, so a write is only trusted once read back)."""
        problems = []
        for name, predicted in plan.after.items():
            link = after.get(name)
            if predicted is None:
                if link is not None and link['kind'] == self.kind:
                    problems.append('%s still exists' % name)
                continue
            if link is None:
                problems.append('%s does not exist' % name)
                continue
            problems.extend(differences(name, self.comparable(predicted), self.comparable(link), self.verified))
            # only tap kinds predict a device
            problems.extend(differences(name, predicted.get('device') or {}, devices.get(name) or {},
                                        DEVICE_VERIFIED, 'character device '))
        return problems

    def report_planned(self, netns, task, state, plan, check_mode):
        view = dict((n, plan.after.get(n) or state.links.get(n)) for n in task.present)
        devices = {}
        if not plan.actions and task.managed:
            devices = device_state(netns, state.links, task.managed, create=not check_mode)
        return {'links': [report_link(view[n], netns, devices.get(n)) for n in task.present if view.get(n)]}

    def report(self, netns, task, plan, after):
        return {'links': [report_link(after.links[n], netns, after.devices.get(n)) for n in task.present]}


def _owner_changes(spec, device):
    """What of owner/group/device_mode differs on the character device (field -> value)."""
    have = device or {}
    return dict((field, spec[field]) for field in DEVICE_VERIFIED
                if spec.get(field) is not None and have.get(field) != spec[field])


def _add_order(specs):
    """Links whose lower is created in the same task come after that lower."""
    names_in_task = set(s['name'] for s in specs)
    ordered, placed = [], set()
    pending = list(specs)
    while pending:
        progress = [s for s in pending if s['lower'] not in names_in_task or s['lower'] in placed]
        if not progress:  # a cycle: the kernel will refuse, in the user's order
            progress = pending
        for spec in progress:
            ordered.append(spec)
            placed.add(spec['name'])
        pending = [s for s in pending if s['name'] not in placed]
    return ordered
