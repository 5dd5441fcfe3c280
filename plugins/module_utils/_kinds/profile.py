# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole host profile as one transaction (hostnet.vif.profile): the handlers of every kind,
composed through their interface, under one lock and one undo journal, with the profile's
systemd-networkd files and macvtap udev rule as planned actions of the same journal.

How a run goes (pipeline.run calls ``run_composite`` inside the host lock):

1. build: every entry of every kind validated by its own handler (an error names the profile key,
   the entry's position and the field: ``macvtap[2].device_mode``), and the relay entries.
2. the predicted plan: the stages (STAGES, in their order) are read and planned one after the
   other against the state the earlier stages would leave (the kernel's links with the earlier
   plans' "after" laid over them), then the files. This checks everything against the kernel
   before anything changes, is the whole plan check mode returns, and decides whether a count
   change that destroys VFs may go ahead (only alone: see ``_refuse_destructive``).
3. apply (not check mode, something to do): stage by stage, each stage reads the kernel as its
   predecessors left it, checks, plans and applies into the one journal; then the relay
   expectations (read-only), then the files; then every stage is read back and verified, the
   files too. A failure or a stop signal anywhere undoes every action of the journal, newest first.

A stage whose predicted check fails because it sits on devices an earlier stage creates but
whose names cannot be known in advance (VF interfaces, named by their driver when the VFs
appear) is not refused up front when VFs are being created: it is planned and checked at apply
time, and check mode says so in ``unpredicted``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
import re
import time

from ansible_collections.hostnet.vif.plugins.module_utils import _persist as persist
from ansible_collections.hostnet.vif.plugins.module_utils import _relay as relay
from ansible_collections.hostnet.vif.plugins.module_utils._apply import (
    Interrupted, Journal, SetAutoprobe, SetNumVfs, StopSignals, WriteFile)
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import check_directory, check_ifname
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler, Links, Plan
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.hairpin import HAIRPIN
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.ipvl import IPVLAN, IPVTAP
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.macv import MACVLAN, MACVTAP
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.sriov import SRIOV
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.tap import TAP


# -- lower devices brought up ---------------------------------------------------------------------

class SetUp:
    """Bring an existing device up; undo takes it down again."""

    verb = 'change'

    def __init__(self, name):
        self.obj = name

    def describe(self):
        return 'ip link set %s up' % self.obj

    def _set(self, ctx, what, state):
        ctx.kernel.set_macv(what, None, self.obj, ctx.kernel.index_of(self.obj), admin_state=state)

    def do(self, ctx):
        self._set(ctx, self.describe(), 'up')
        self.done_at = time.monotonic()

    def undo(self, ctx):
        self._set(ctx, 'undo: ip link set %s down' % self.obj, 'down')


class LowersUpHandler(Handler):
    """``lowers_up``: devices (made by something else) that must be administratively up."""

    def build(self, params):
        names = []
        for position, name in enumerate(params.get('lowers') or []):
            check_ifname(name, 'lowers[%d]' % position)
            if name not in names:
                names.append(name)
        return names

    def read(self, kernel, netns, task, after=False):
        return Links(kernel.dump_links())

    def check(self, task, state):
        for name in task:
            if name not in state.links:
                raise invalid('name', name, "no such device in this network namespace", name)

    def plan(self, task, state):
        plan = Plan()
        for name in task:
            link = state.links[name]
            if link.get('admin_state') != 'up':
                plan.actions.append(SetUp(name))
                plan.touch(name, link, dict(link, admin_state='up'))
        return plan

    def describe(self, obj):
        return 'device %s: %s' % (obj['name'], obj.get('admin_state') or 'down')

    def report_planned(self, netns, task, state, plan, check_mode):
        return self.report(netns, task, plan, state)

    def problems(self, task, plan, after):
        return ['%s is not up' % name for name in task if (after.links.get(name) or {}).get('admin_state') != 'up']

    def report(self, netns, task, plan, after):
        view = dict((n, plan.after.get(n) or after.links.get(n) or {}) for n in task)
        return {'lowers': [{'name': n, 'admin_state': view[n].get('admin_state'), 'netns': netns} for n in task]}


LOWERS_UP = LowersUpHandler()


# -- the stages ------------------------------------------------------------------------------------

class Stage:
    """One kind of the profile: its key in the profile, its handler, the handler's list option that
    receives the profile's entries, and the profile options passed on to it."""

    def __init__(self, key, handler, list_key, passed=(), result_key=None):
        self.key = key
        self.handler = handler
        self.list_key = list_key
        self.passed = passed
        self.result_key = result_key

    def params(self, entries, options, whole=True):
        params = dict((name, options.get(name)) for name in self.passed)
        params[self.list_key] = entries
        params['netns'] = options.get('netns')
        if not whole and 'purge' in params:
            params['purge'] = False  # one entry alone names no lower to purge: checked with the whole list
        return params


# In apply order (DESIGN.md: SR-IOV PFs, lower devices up, links, taps, hairpin). A kind is added
# to the profile by one entry here (its module option is derived from it: see argument_spec).
STAGES = (
    Stage('sriov', SRIOV, 'pfs', ('persist', 'persist_dir', 'wait_timeout'), 'pfs'),
    Stage('lowers_up', LOWERS_UP, 'lowers', (), 'lowers'),
    Stage('macvlan', MACVLAN, 'links', ('purge',), 'links'),
    Stage('macvtap', MACVTAP, 'links', ('purge',), 'links'),
    Stage('ipvlan', IPVLAN, 'links', ('purge',), 'links'),
    Stage('ipvtap', IPVTAP, 'links', ('purge',), 'links'),
    Stage('taps', TAP, 'taps', (), 'taps'),
    Stage('hairpin', HAIRPIN, 'ports', (), 'ports'),
)
# persisted as .netdev/.network with their lower's .network (one per lower device, all its links)
LINK_STAGES = ('macvlan', 'macvtap', 'ipvlan', 'ipvtap')
CHARDEV_STAGES = ('macvtap', 'ipvtap')  # and a udev rule file each for their character devices' ownership
PERSIST_CHOICES = ('none', 'systemd-networkd')
# Where systemd-networkd reads .netdev files (besides persist_dir): a tap's bridge must be created there.
NETWORKD_DIRS = ('/etc/systemd/network', '/run/systemd/network', '/usr/lib/systemd/network')


@dataclasses.dataclass
class StageTask:
    stage: Stage
    entries: list
    task: object  # what the stage's handler built


@dataclasses.dataclass
class ProfileTask:
    stages: list          # StageTask per kind the profile lists, in STAGES order
    relay_params: object  # None: no reflective_relay entries
    options: dict


def _located(exc, where, name=None):
    """``exc`` with the profile path of what it is about: ``macvtap[2].device_mode`` (``name``: the
    entry's, which the path then stands for in the message)."""
    field = exc.field.rsplit('.', 1)[-1] if exc.field else None
    if field and re.fullmatch(r'\w+\[\d+\]', field):
        field = None  # the handler's own list position (links[0]): the profile's replaces it
    path = where + ('.' + field if field else '')
    msg = '%s: %s' % (path, exc.msg)
    # "vm0: device_mode='0o660' is invalid: ..." -> "macvtap[2].device_mode='0o660' is invalid: ..."
    for own in ([exc.field] if exc.field else []) + (['%s: %s' % (name, exc.field)] if name and exc.field else []):
        if exc.msg.startswith(own + '='):
            msg = path + exc.msg[len(own):]
    return VifError(msg, obj=exc.obj, field=path, value=exc.value, errno=exc.errno, details=exc.details)


def _entry_name(entry):
    return entry.get('name', entry.get('pf')) if isinstance(entry, dict) else entry


def _entry_path(stage_task, obj):
    """The profile path of the entry an object belongs to (``macvlan[1]``), or the stage's key."""
    for position, entry in enumerate(stage_task.entries):
        if obj is not None and _entry_name(entry) == obj:
            return '%s[%d]' % (stage_task.stage.key, position)
    return stage_task.stage.key


def _build_stage(stage, entries, options):
    if not isinstance(entries, list):
        raise invalid(stage.key, entries, "expected a list of entries")
    for position, entry in enumerate(entries):  # one at a time first: the error knows its entry
        try:
            stage.handler.build(stage.params([entry], options, whole=False))
        except VifError as exc:
            raise _located(exc, '%s[%d]' % (stage.key, position), _entry_name(entry)) from None
    try:
        return StageTask(stage, entries, stage.handler.build(stage.params(entries, options)))
    except VifError as exc:  # across entries: duplicates, purge
        raise _located(exc, stage.key) from None


class ProfileHandler(Handler):
    composite = True

    def argument_spec(self):
        """hostnet.vif.profile's options: the role's host_profile_spec keys, and the run's settings."""
        spec = dict((stage.key, dict(type='list', elements='str' if stage.key == 'lowers_up' else
                                     ('raw' if stage.key == 'hairpin' else 'dict'))) for stage in STAGES)
        spec.update(
            reflective_relay=dict(type='list', elements='raw'),
            netns=dict(type='str'),
            lock_timeout=dict(type='float', default=120),
            purge=dict(type='bool', default=False),
            persist=dict(type='str', choices=list(PERSIST_CHOICES), default='none'),
            persist_dir=dict(type='path', default=persist.DEFAULT_DIR),
            udev_dir=dict(type='path', default=persist.DEFAULT_UDEV_DIR),
            wait_timeout=dict(type='float', default=60),
            probe_in_check_mode=dict(type='bool', default=False),
        )
        return spec

    def build(self, params):
        options = dict(params)
        if options.get('persist') is None:
            options['persist'] = 'none'
        if options['persist'] not in PERSIST_CHOICES:
            raise invalid('persist', options['persist'], "expected none or systemd-networkd")
        for field, default in (('persist_dir', persist.DEFAULT_DIR), ('udev_dir', persist.DEFAULT_UDEV_DIR)):
            options[field] = check_directory(options.get(field) or default, field)
        stages = [_build_stage(stage, params[stage.key], options) for stage in STAGES if params.get(stage.key)]
        relay_params = None
        if params.get('reflective_relay'):
            relay_params = {'lowers': params['reflective_relay'], 'netns': params.get('netns'),
                            'probe_in_check_mode': params.get('probe_in_check_mode') or False}
            for position, entry in enumerate(params['reflective_relay']):
                try:
                    relay.build_relay_specs(dict(relay_params, lowers=[entry]))
                except VifError as exc:
                    raise _located(exc, 'reflective_relay[%d]' % position, _entry_name(entry)) from None
            try:
                relay.build_relay_specs(relay_params)
            except VifError as exc:
                raise _located(exc, 'reflective_relay') from None
        return ProfileTask(stages, relay_params, options)

    def describe(self, obj):
        raise NotImplementedError  # each stage's handler describes its objects

    def run_composite(self, kernel, netns, task, check_mode, diff):
        predicted = _predict(kernel, netns, task)
        files = _plan_files(task, predicted)
        destructive = _refuse_destructive(predicted)
        kernel_actions = [action for _st, plan in predicted.plans for action in plan.actions]
        planned = files.actions + kernel_actions if destructive else kernel_actions + files.actions
        result = {'changed': bool(planned), 'actions': [a.describe() for a in planned],
                  'unpredicted': predicted.unpredicted, 'persisted': _persisted_files(files)}
        if files.warnings:
            result['warnings'] = files.warnings
        if check_mode or not planned:
            if diff:
                result['diff'] = _diffs(predicted.plans, files, netns)
            for stage_task, plan in predicted.plans:
                state = predicted.states[stage_task.stage.key]
                _set_report(result, stage_task, stage_task.stage.handler.report_planned(
                    netns, stage_task.task, state, plan, check_mode))
            if task.relay_params:
                result['reflective_relay'] = relay.run_relays(kernel, netns, task.relay_params, check_mode)
            return result
        done_plans = _apply(kernel, netns, task, files, destructive, result)
        applied = [a for _st, plan in done_plans for a in plan.actions]
        applied = files.actions + applied if destructive else applied + files.actions
        result['actions'] = [a.describe() for a in applied]
        if diff:
            result['diff'] = _diffs(done_plans, files, netns)
        return result


PROFILE = ProfileHandler()


# -- the predicted plan -----------------------------------------------------------------------------

@dataclasses.dataclass
class Predicted:
    plans: list = dataclasses.field(default_factory=list)        # (StageTask, Plan) in stage order
    states: dict = dataclasses.field(default_factory=dict)       # stage key -> the state it was planned against
    unpredicted: list = dataclasses.field(default_factory=list)  # stages planned only at apply time, in words


_UNKNOWN_LINK = {'index': None, 'loopback': False, 'group': 0, 'master': None, 'hairpin': None, 'lower': None,
                 'admin_state': 'down', 'mac': None, 'mtu': None, 'kind': None}


def _lay_over(links, plan):
    """The links as they will be once ``plan`` is applied (for the stages after it)."""
    out = dict(links)
    for name, after in plan.after.items():
        if after is None:
            out.pop(name, None)
            continue
        if after.get('kind') in ('file', 'sriov'):
            continue
        current = out.get(name) or dict(_UNKNOWN_LINK, name=name)
        link = dict(current)
        link.update(after)
        if 'bridge' in after:  # a tap: its bridge is its master; a new port starts with hairpin off
            link['master'] = after['bridge'] or None
            link['hairpin'] = ((current.get('hairpin') if current.get('master') == link['master'] else False)
                               if link['master'] else None)
        out[name] = link
    return out


def _creates_vfs(plans):
    return any(isinstance(a, SetNumVfs) and a.new > a.old for _st, plan in plans for a in plan.actions)


def _predict(kernel, netns, task):
    predicted = Predicted()
    links = None
    for stage_task in task.stages:
        handler = stage_task.stage.handler
        state = handler.read(kernel, netns, stage_task.task)
        if links is not None:
            state.links = links
        try:
            handler.check(stage_task.task, state)
            plan = handler.plan(stage_task.task, state)
        except VifError as exc:
            if not _creates_vfs(predicted.plans):
                raise _located(exc, _entry_path(stage_task, exc.obj), exc.obj) from None
            predicted.unpredicted.append('%s: planned once the VFs the profile creates exist (%s)'
                                         % (stage_task.stage.key, exc.msg))
            continue
        predicted.plans.append((stage_task, plan))
        predicted.states[stage_task.stage.key] = state
        links = _lay_over(state.links, plan)
    return predicted


def _refuse_destructive(predicted):
    """A VF count change from a non-zero count (a reduction, or any change that goes through 0)
    destroys the PF's VFs. Undoing it after a later failure would have to recreate them (and what
    used them would not get them back), so nothing that can fail may follow it: it runs only with
    its PF's drivers_autoprobe and the files (written before it), never with VF settings (the new
    VFs have none yet, and a refused one would need the old VFs back) nor any other change.
    Returns whether one is planned."""
    destructive = [(st, a) for st, plan in predicted.plans for a in plan.actions
                   if isinstance(a, SetNumVfs) and a.old and a.new != a.old]
    if not destructive:
        return False
    pfs = set(a.pf for _st, a in destructive)
    alone = set(id(a) for _st, a in destructive)
    others = [a.describe() for st, plan in predicted.plans for a in plan.actions
              if id(a) not in alone and not (isinstance(a, SetAutoprobe) and a.pf in pfs)]
    if others or predicted.unpredicted:
        stage_task, action = destructive[0]
        where = '%s.num_vfs' % _entry_path(stage_task, action.pf)
        raise VifError("%s: changing the VF count of %s from %d to %d destroys its %d VFs, and undoing a later "
                       "failure of this profile would have to recreate them (what used them would not get them "
                       "back). Apply this count change on its own first (hostnet.vif.sriov with pf, num_vfs and "
                       "allow_reset, without vfs), then this profile, which then sets the new VFs up; nothing was "
                       "changed. Other changes planned: %s"
                       % (where, action.pf, action.old, action.new, action.old,
                          '; '.join(others + predicted.unpredicted)),
                       obj=action.pf, field=where, value=action.new)
    return True


# -- files --------------------------------------------------------------------------------------------

@dataclasses.dataclass
class FilePlan:
    actions: list = dataclasses.field(default_factory=list)   # WriteFile, in path order
    wanted: dict = dataclasses.field(default_factory=dict)    # path -> text the profile persists
    warnings: list = dataclasses.field(default_factory=list)


def _sriov_file_actions(predicted):
    """The SR-IOV .link files the sriov handler planned (moved to the files stage)."""
    found = []
    for _st, plan in predicted.plans:
        found += [a for a in plan.actions if isinstance(a, WriteFile)]
        plan.actions = [a for a in plan.actions if not isinstance(a, WriteFile)]
        for name in [n for n, after in plan.after.items() if (after or plan.before.get(n) or {}).get('kind') == 'file']:
            plan.after.pop(name, None)
            plan.before.pop(name, None)
    return found


def _plan_files(task, predicted):
    files = FilePlan()
    sriov_files = _sriov_file_actions(predicted)
    files.wanted.update((a.path, a.new) for a in sriov_files)
    files.actions += sriov_files
    options = task.options
    if options['persist'] != 'systemd-networkd':
        return files
    by_key = dict((st.stage.key, st) for st in task.stages)
    wanted: dict = {}
    unwanted: set = set()

    def want(path, text):
        if wanted.get(path, text) != text:
            raise VifError("two objects of the profile would be persisted in the same file %s (a link, tap or lower "
                           "device share a name); rename one" % path, obj=path, field='persist')
        wanted[path] = text
    directory = options['persist_dir']
    links: list = []
    lowers: dict = {}
    for stage_task in [by_key[key] for key in LINK_STAGES if key in by_key]:
        for position, spec in enumerate(stage_task.task.specs):
            if spec['state'] == 'absent':
                unwanted.update(persist.profile_file_name(directory, spec['name'], suffix)
                                for suffix in ('.netdev', '.network'))
                entry = stage_task.entries[position]
                if isinstance(entry, dict) and entry.get('lower'):
                    lower = check_ifname(entry['lower'], 'lower')
                    unwanted.add(persist.profile_file_name(directory, lower, '.network'))
                continue
            links.append(spec)
            lowers.setdefault(spec['lower'], []).append(spec)
    for spec in links:
        want(persist.profile_file_name(directory, spec['name'], '.netdev'), persist.render_link_netdev(spec))
        want(persist.profile_file_name(directory, spec['name'], '.network'), persist.render_link_network(spec))
    for lower in sorted(lowers):
        want(persist.profile_file_name(directory, lower, '.network'),
             persist.render_lower_network(lower, lowers[lower]))
    taps = by_key.get('taps')
    tap_entries = taps.entries if taps is not None else []
    bridges: dict = {}
    for position, spec in enumerate(taps.task if taps is not None else []):
        if spec['state'] == 'absent':
            unwanted.update(persist.profile_file_name(directory, spec['name'], suffix)
                            for suffix in ('.netdev', '.network'))
            continue
        entry, where = tap_entries[position], 'taps[%d]' % position
        owner = persist.persisted_id(entry.get('owner'), where + '.owner', spec['name'])
        group = persist.persisted_id(entry.get('group'), where + '.group', spec['name'])
        want(persist.profile_file_name(directory, spec['name'], '.netdev'),
             persist.render_tap_netdev(spec, owner, group))
        want(persist.profile_file_name(directory, spec['name'], '.network'), persist.render_tap_network(spec))
        if spec.get('bridge'):
            bridges.setdefault(spec['bridge'], []).append(spec['name'])
    for kind in [key for key in CHARDEV_STAGES if key in by_key]:
        stage_task, rules = by_key[kind], []
        for position, spec in enumerate(stage_task.task.specs):
            if spec['state'] != 'present':
                continue
            entry, where = stage_task.entries[position], '%s[%d]' % (kind, position)
            rules.append((spec['name'], persist.persisted_id(entry.get('owner'), where + '.owner', spec['name']),
                          persist.persisted_id(entry.get('group'), where + '.group', spec['name']),
                          spec.get('device_mode')))
        want(persist.profile_file_name(options['udev_dir'], kind, '.rules'), persist.render_chardev_rules(kind, rules))
    if options.get('purge'):
        unwanted.update(persist.profile_file_name(directory, name[len(persist.PROFILE_PREFIX):], '')
                        for name in persist.list_profile_files(directory))
        # a rule file of a tap kind the profile no longer lists would keep owning its old devices
        unwanted.update(persist.profile_file_name(options['udev_dir'], kind, '.rules') for kind in CHARDEV_STAGES)
    for path in sorted(wanted):
        old = persist.read_text(path)
        if old != wanted[path]:
            files.actions.append(WriteFile(path, old, wanted[path]))
    for path in sorted(unwanted - set(wanted)):
        old = persist.read_text(path)
        if old is not None:
            files.actions.append(WriteFile(path, old, None))
    files.wanted.update(wanted)
    searched = (directory,) + tuple(d for d in NETWORKD_DIRS if d != directory)
    for bridge, names in sorted(bridges.items()):
        if not persist.creates_bridge(searched, bridge):
            files.warnings.append(
                "systemd-networkd does not create bridge %s (no .netdev of Kind=bridge with that Name in %s), and it "
                "joins a tap to a bridge only if it does: after a reboot, taps %s will not be ports of %s unless "
                "whatever creates it adds them." % (bridge, ', '.join(searched), ', '.join(names), bridge))
    return files


def _persisted_files(files):
    return sorted(files.wanted)


# -- apply ---------------------------------------------------------------------------------------------

def _apply(kernel, netns, task, files, destructive, result):
    """Stage by stage into one journal, then relay, files, read-back; all undone on any failure."""
    journal = Journal()
    done_plans, what = [], None
    with StopSignals():
        try:
            if destructive:  # files first: nothing after a VF-destroying count change may fail
                what = 'files'
                journal.run(None, files.actions)
            for stage_task in task.stages:
                handler, what = stage_task.stage.handler, stage_task.stage.key
                state = handler.read(kernel, netns, stage_task.task)
                try:
                    handler.check(stage_task.task, state)
                    plan = handler.plan(stage_task.task, state)
                except VifError as exc:
                    raise _located(exc, _entry_path(stage_task, exc.obj), exc.obj) from None
                plan.actions = [a for a in plan.actions if not isinstance(a, WriteFile)]  # the files stage's
                for name in [n for n, v in plan.after.items() if (v or {}).get('kind') == 'file']:
                    plan.after.pop(name)
                    plan.before.pop(name, None)
                ctx, actions = handler.context(kernel, netns, state, plan)
                done_plans.append((stage_task, plan))
                journal.run(ctx, actions)
            if task.relay_params:
                what = 'reflective_relay'
                brought_up = dict((a.obj, a.done_at) for _ctx, a in journal.done if isinstance(a, SetUp))
                result['reflective_relay'] = _relays_once_forwarding(kernel, netns, task.relay_params, brought_up)
            if not destructive:
                what = 'files'
                journal.run(None, files.actions)
            what = 'read-back'
            problems = []
            for stage_task, plan in done_plans:
                handler = stage_task.stage.handler
                after = handler.read(kernel, netns, stage_task.task, after=True)
                problems += handler.problems(stage_task.task, plan, after)
                _set_report(result, stage_task, handler.report(netns, stage_task.task, plan, after))
            problems += ['%s does not have the content written' % path for path, text in sorted(files.wanted.items())
                         if persist.read_text(path) != text]
            stop = StopSignals.pending()
            if stop:
                raise Interrupted(stop)
            if problems:
                raise VifError("read-back after applying does not match the request (%s)" % '; '.join(problems))
        except BaseException as exc:
            raise journal.failure(exc, what, whole='profile') from exc
    return done_plans


# How long a lower device this call brought up gets to start forwarding before its relay verdict
# counts: Linux batches carrier events for up to a second before a bridge port at the far end of a
# veth forwards (measured: the lab's probes lost every frame when sent at once), and a switch port
# takes its own time.
RELAY_QUIET = 1.2   # before any probe of such a lower
RELAY_SETTLE = 8.0  # a required reflection is probed again until then (an STP port: 2 x forward delay)


def _relays_once_forwarding(kernel, netns, params, brought_up):
    """relay.run_relays, where a lower this call brought up is probed only once it may forward: after
    RELAY_QUIET seconds, and an unmet ``required`` is probed again until RELAY_SETTLE seconds after
    it came up (a reflection that is there shows within them; one that is not, never)."""
    fresh = [brought_up[spec['name']] for spec in relay.build_relay_specs(params) if spec['name'] in brought_up]
    if not fresh:
        return relay.run_relays(kernel, netns, params, False)
    _sleep_until(max(fresh) + RELAY_QUIET)
    while True:
        try:
            return relay.run_relays(kernel, netns, params, False)
        except VifError:
            if time.monotonic() >= max(fresh) + RELAY_SETTLE:
                raise
            _sleep_until(time.monotonic() + 0.5)


def _sleep_until(moment):
    while time.monotonic() < moment:
        stop = StopSignals.pending()
        if stop:
            raise Interrupted(stop)
        time.sleep(min(0.1, max(0.0, moment - time.monotonic())))


def _set_report(result, stage_task, report):
    result[stage_task.stage.key] = report.get(stage_task.stage.result_key, report)


# -- diff ------------------------------------------------------------------------------------------------

def _diffs(plans, files, netns):
    """One diff per stage (its objects before and after, as its handler describes them) and one per file."""
    where = ' (netns %s)' % netns if netns else ''
    out = []
    for stage_task, plan in plans:
        if not plan.before and not plan.after:
            continue
        describe = stage_task.stage.handler.describe
        out.append({
            'before_header': '%s before%s' % (stage_task.stage.key, where),
            'after_header': '%s after%s' % (stage_task.stage.key, where),
            'before': ''.join(describe(plan.before[n]) + '\n' for n in sorted(plan.before)
                              if plan.before[n] is not None),
            'after': ''.join(describe(plan.after[n]) + '\n' for n in sorted(plan.after) if plan.after[n] is not None)})
    for action in files.actions:
        out.append({'before_header': action.path + ('' if action.old is not None else ' (absent)'),
                    'after_header': action.path + ('' if action.new is not None else ' (absent)'),
                    'before': action.old or '', 'after': action.new or ''})
    return out
