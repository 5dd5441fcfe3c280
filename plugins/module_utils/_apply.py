# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply and undo: the actions a plan is made of, the host lock, and the all-or-nothing journal.

Each action knows how to describe itself (an ``ip``-style line), do itself and undo itself.
``apply_plan`` runs them in order; if one fails (or the process is told to stop), every action
already done is undone in reverse order and the original error is raised.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import random
import signal
import stat
import time
from typing import Callable, Optional

from ansible_collections.hostnet.vif.plugins.module_utils import _runtime
from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import _persist as persist
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

LOCK_PATH = _runtime.RUN_DIR + '/lock'
# After a stop signal, how long the run may take to finish its step and undo before it gives up.
STOP_GRACE = 60.0


class HostLock:
    """One writer per host: overlapping runs (two AWX jobs) wait here, so each one's read, plan,
    apply and undo see a kernel nobody else is changing. Covers every namespace of the host.
    The holder writes its pid and start time into the lock file, so a waiter can say who holds it.
    While it is held, stop signals are recorded (StopSignals) and acted on between steps."""

    def __init__(self, timeout=120.0, path=None):
        self.timeout = timeout
        self.path = path or LOCK_PATH
        self.fd: Optional[int] = None

    def _open(self):
        directory = _runtime.private_dir(os.path.dirname(self.path))
        try:
            fd = os.open(os.path.basename(self.path), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                         dir_fd=directory)
        except OSError as exc:
            raise VifError("cannot open the host lock %s: %s" % (self.path, exc.strerror or exc)) from exc
        finally:
            os.close(directory)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            os.close(fd)
            raise VifError("refusing the host lock %s: not a regular file owned by uid %d" % (self.path, os.geteuid()))
        return fd

    def holder(self):
        """Who holds the lock, in words (what the holder wrote, read through our own descriptor)."""
        try:
            pid, started = (int(v) for v in os.pread(self.fd or -1, 64, 0).split()[:2])
        except (OSError, ValueError):
            return 'a process that has not said who it is'
        if _runtime.start_time(pid) != started:
            return 'a process that is gone (pid %d) and left the lock to a child of its' % pid
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                command = handle.read().replace(b'\0', b' ').decode('ascii', 'replace').strip()[:120]
        except OSError:
            command = '?'
        return 'process %d (%s)' % (pid, command)

    def __enter__(self):
        self.signals = StopSignals()
        self.signals.__enter__()
        try:
            return self._acquire()
        except BaseException:
            self.signals.__exit__()
            raise

    def _acquire(self):
        fd = self.fd = self._open()
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            stop = StopSignals.pending()
            if stop or time.monotonic() >= deadline:
                who = self.holder()
                self._close()
                if stop:
                    raise VifError("interrupted by %s while waiting for the host lock; nothing was changed" % stop)
                raise VifError("%s has held the host lock %s for over %s s; try again later or raise lock_timeout"
                               % (who, self.path, self.timeout), field='lock_timeout', value=self.timeout)
            time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, ('%d %d\n' % (os.getpid(), _runtime.start_time(os.getpid()) or 0)).encode(), 0)
        return self

    def _close(self):
        if self.fd is not None:
            os.close(self.fd)  # closing the last descriptor releases the flock
            self.fd = None

    def __exit__(self, *exc):
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self._close()
        self.signals.__exit__()


class Interrupted(Exception):
    pass


class StopSignals:
    """While a run holds the host, SIGTERM, SIGINT and SIGHUP are recorded, never raised: an
    exception raised from a signal handler inside pyroute2's event loop is swallowed by asyncio
    with the netlink reply it interrupted, and the request then waits forever. The journal looks
    at the record between steps: before the first change the run stops with nothing changed; once
    changes began, the step in flight finishes, then everything is undone and the run reports
    exactly that. A run that has not finished ``grace`` s after the first signal (a kernel that
    never answers) is ended by ``on_deadline`` (the module prints its failure and exits)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    active: Optional['StopSignals'] = None  # the recorder of the run in progress (runs do not nest)
    on_deadline: Optional[Callable[[str], None]] = None  # set by the module wrapper; never returns

    def __init__(self, grace=None):
        self.grace = STOP_GRACE if grace is None else grace
        self.received = []
        self.saved = {}
        self.nested = False

    @classmethod
    def pending(cls):
        """The name of the first stop signal received by the run in progress, or None."""
        recorder = cls.active
        return signal.Signals(recorder.received[0]).name if recorder and recorder.received else None

    def __enter__(self):
        if StopSignals.active is not None:
            self.nested = True
            return StopSignals.active
        for sig in self.SIGNALS:
            self.saved[sig] = signal.signal(sig, self._record)
        StopSignals.active = self
        return self

    def _record(self, signum, _frame):
        if not self.received and self.grace and StopSignals.on_deadline is not None:
            signal.signal(signal.SIGALRM, self._deadline)
            signal.setitimer(signal.ITIMER_REAL, self.grace)
        self.received.append(signum)

    def _deadline(self, _signum, _frame):
        give_up = StopSignals.on_deadline
        if give_up is None:
            return
        give_up(
            "interrupted by %s, and the step in flight or the undo did not finish within %s s (the kernel did not "
            "answer); the host may be half-changed: run the task again to converge it" % (self.pending(), self.grace))

    def __exit__(self, *exc):
        if self.nested:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        StopSignals.active = None


def _raise_if_stopped():
    stop = StopSignals.pending()
    if stop:
        raise Interrupted(stop)


class Journal:
    """What a run has done, in order, each action with the context it ran in; undone newest first.
    One module's run has one context; a profile's runs every stage's actions into one journal."""

    def __init__(self):
        self.done = []  # (ctx, action)

    def run(self, ctx, actions):
        """Do ``actions`` in order, acting on a recorded stop signal between them. An action that fails
        cleans up after itself (one action, all or nothing), so the journal holds exactly the actions
        the kernel carried out."""
        for action in actions:
            _raise_if_stopped()
            action.do(ctx)
            self.done.append((ctx, action))

    def undo(self):
        """Undo everything, newest first, each run of actions with its own context; returns the
        failures in words (never hidden)."""
        groups: list = []
        for ctx, action in self.done:
            if groups and groups[-1][0] is ctx:
                groups[-1][1].append(action)
            else:
                groups.append((ctx, [action]))
        errors: list = []
        for ctx, actions in reversed(groups):
            errors += undo(ctx, actions)
        return errors

    def failure(self, exc, what=None, whole='task'):
        """Undo everything after ``exc`` and return the error that tells what happened: ``what`` failed
        (a profile's stage), and that everything this ``whole`` had changed was undone."""
        count = len(self.done)
        undo_errors = self.undo()
        during = 'while applying' + (' the %s' % whole if whole != 'task' else '')
        if isinstance(exc, Interrupted) and not count:
            return VifError("interrupted by %s before anything was changed" % exc)
        if isinstance(exc, VifError):
            error = exc
            if what:
                error = VifError('%s: %s' % (what, exc.msg), obj=exc.obj, field=exc.field, value=exc.value,
                                 errno=exc.errno, details=exc.details)
        elif isinstance(exc, Interrupted):
            error = VifError("interrupted by %s %s" % (exc, during))
        elif isinstance(exc, KeyboardInterrupt):
            error = VifError("interrupted by SIGINT %s" % during)
        else:
            error = VifError("unexpected failure %s (%s: %s)" % (during, type(exc).__name__, exc))
        if undo_errors:
            error.msg += ("; undoing the earlier actions also failed, the host may be half-changed: %s"
                          % '; '.join(undo_errors))
        else:
            error.msg += "; everything this %s had changed was undone (%d action%s)" % (
                whole, count, '' if count == 1 else 's')
        error.args = (error.msg,)
        return error


def apply_plan(ctx, actions):
    """Run actions; on any failure or stop signal undo the done ones (newest first) and raise.
    ``ctx`` is a Context (kernel session and namespace). Returns the journal."""
    journal = Journal()
    with StopSignals():
        try:
            journal.run(ctx, actions)
            _raise_if_stopped()  # a signal during the last step
        except BaseException as exc:
            raise journal.failure(exc) from exc
    return journal


def apply_and_verify_plan(ctx, actions, read_back):
    """apply_plan, then ``read_back()`` -> (state, problems) inside the same stop-signal scope:
    problems, or a stop signal before the read-back is done, undo every action. Returns the state."""
    with StopSignals():
        journal = apply_plan(ctx, actions)
        try:
            state, problems = read_back()
            _raise_if_stopped()
        except BaseException as exc:
            raise journal.failure(exc) from exc
        if problems:
            errors = journal.undo()
            raise VifError("read-back after applying does not match the request (%s); %s" % (
                '; '.join(problems), 'the changes were undone' if not errors else
                'undoing also failed: ' + '; '.join(errors)))
    return state


def undo(ctx, done):
    """Undo ``done`` newest first (runs of created links are removed in one bulk delete), carrying
    on past failures, which are returned in words. Stop signals wait until the undo is over."""
    errors = []
    with StopSignals():
        for action in reversed(_merge_adds(done)):
            try:
                action.undo(ctx)
            except Exception as exc:  # keep undoing the rest
                errors.append("%s: %s" % (action.describe(), getattr(exc, 'msg', exc)))
    return errors


def _merge_adds(done):
    """Consecutive AddLink actions as one AddLinks, whose undo deletes them together (one kernel
    transaction instead of ~16 ms per link)."""
    out, run = [], []
    for action in list(done) + [None]:
        if isinstance(action, AddLink):
            run.append(action)
            continue
        if run:
            out.append(AddLinks(run) if len(run) > 1 else run[0])
        run = []
        if action is not None:
            out.append(action)
    return out


class Context:
    """What actions share while applying: the kernel session, the namespace, and the indexes of
    links the plan does not touch (a lower device's index is looked up once, not once per link)."""

    def __init__(self, kernel, netns, current):
        self.kernel = kernel
        self.netns = netns
        self.groups_in_use = set(link['group'] for link in current.values())
        self.stable_indexes = {}

    def keep_indexes(self, current, untouched):
        """Remember the indexes of links no action changes (lower devices, mostly)."""
        self.stable_indexes = dict((name, current[name]['index']) for name in untouched if name in current)

    def index_of(self, name):
        index = self.stable_indexes.get(name)
        return index if index is not None else self.kernel.index_of(name)


# -- link actions --------------------------------------------------------------------------------

def describe_add(link):
    words = ['ip link add link %s name %s type %s mode %s' % (link['lower'], link['name'], link['kind'], link['mode'])]
    if link.get('flag'):  # ipvlan/ipvtap: bridge, private or vepa
        words.append(link['flag'])
    if link.get('nopromisc'):
        words.append('nopromisc')
    if link.get('mac'):
        words.append('address %s' % link['mac'])
    if link.get('mtu'):
        words.append('mtu %s' % link['mtu'])
    line = ' '.join(words)
    if link.get('source_macs'):
        line += '; ip link set %s type %s macaddr set %s' % (link['name'], link['kind'], ' '.join(link['source_macs']))
    if link.get('admin_state') == 'up':
        line += '; ip link set %s up' % link['name']
    return line


class AddLink:
    """Create a macvlan/macvtap/ipvlan/ipvtap. ``link`` holds the attributes to create it with."""

    verb = 'add'

    def __init__(self, link, reason=None):
        self.link = link
        self.obj = link['name']
        self.reason = reason

    def describe(self):
        return describe_add(self.link) + (' (%s)' % self.reason if self.reason else '')

    def do(self, ctx):
        link = self.link
        lower_index = ctx.index_of(link['lower'])
        if link['kind'] in kern.IPVL_KINDS:
            ctx.kernel.add_ipvl(self.describe(), link, lower_index, index=link.get('restore_index'))
            return
        ctx.kernel.add_macv(self.describe(), link['kind'], link['name'], lower_index, link['mode'],
                            mac=link.get('mac'), mtu=link.get('mtu'), nopromisc=link.get('nopromisc'),
                            source_macs=link.get('source_macs'), admin_state=link.get('admin_state'),
                            index=link.get('restore_index'))

    def undo(self, ctx):
        index = ctx.kernel.find_index(self.obj)
        if index is not None:
            ctx.kernel.delete('undo: ip link del %s' % self.obj, self.obj, index)
        if self.link['kind'] in kern.CHARDEV_KINDS:
            kern.remove_private_node(ctx.netns, self.obj)


class AddLinks:
    """Many AddLink actions sent as one netlink batch (made by ``coalesce`` at apply time; the
    plan, check mode and the ``actions`` result keep one AddLink per link)."""

    verb = 'add'

    def __init__(self, adds):
        self.adds = adds
        self.obj = ','.join(a.obj for a in adds)

    def describe(self):
        return '; '.join(a.describe() for a in self.adds)

    def _names(self):
        return [a.obj for a in self.adds]

    def do(self, ctx):
        links = [dict(a.link, lower_index=ctx.index_of(a.link['lower'])) for a in self.adds]
        try:
            ctx.kernel.add_macv_many('ip link add (batch of %d)' % len(links), links)
        except VifError as exc:
            # The batch stops at the first refusal; the links before it exist. Name the refused
            # one (the first missing), remove the created ones, and let the journal undo the rest.
            existing = ctx.kernel.dump_links()
            culprit = next((a for a in self.adds if a.obj not in existing), None)
            self._remove(ctx, existing)
            if culprit is not None:
                exc.obj = culprit.obj
                exc.msg = exc.msg.replace('ip link add (batch of %d)' % len(links), culprit.describe())
                exc.args = (exc.msg,)
            raise

    def _remove(self, ctx, existing):
        mine = [existing[name] for name in self._names() if name in existing]
        if len(mine) == 1:
            ctx.kernel.delete('undo', mine[0]['name'], mine[0]['index'])
        elif mine:
            DeleteLinks(mine)._delete_by_group(_GroupContext(ctx.kernel, existing))
        for add in self.adds:
            if add.link['kind'] in kern.CHARDEV_KINDS:
                kern.remove_private_node(ctx.netns, add.obj)

    def undo(self, ctx):
        self._remove(ctx, ctx.kernel.dump_links())


class _GroupContext:
    def __init__(self, kernel, current):
        self.kernel = kernel
        self.groups_in_use = set(link['group'] for link in current.values())


def _batchable(action, ctx):
    """An AddLink whose request can be built up front: lower index known, one request."""
    if not isinstance(action, AddLink):
        return False
    link = action.link
    return (not link.get('source_macs') and link['lower'] in ctx.stable_indexes
            and not (link['mode'] == 'passthru' and link.get('mac')))


def coalesce(ctx, actions):
    """Merge runs of batchable AddLink actions into AddLinks batches."""
    out, run = [], []
    for action in list(actions) + [None]:
        if action is not None and _batchable(action, ctx):
            run.append(action)
            continue
        if len(run) > 1:
            out.append(AddLinks(run))
        else:
            out.extend(run)
        run = []
        if action is not None:
            out.append(action)
    return out


class DeleteLinks:
    """Delete links; many at once through a throwaway link group (one kernel transaction)."""

    verb = 'delete'

    def __init__(self, links, reason=None):
        self.links = list(links)
        self.obj = ','.join(link['name'] for link in self.links)
        self.reason = reason
        self.group = None

    def describe(self):
        if len(self.links) == 1:
            line = 'ip link del %s' % self.links[0]['name']
        else:
            line = 'ip link del group <unused> (%d links: %s)' % (len(self.links), ', '.join(
                link['name'] for link in self.links))
        return line + (' (%s)' % self.reason if self.reason else '')

    def do(self, ctx):
        if len(self.links) == 1:
            link = self.links[0]
            ctx.kernel.delete(self.describe(), link['name'], ctx.kernel.index_of(link['name']))
        else:
            self._delete_by_group(ctx)
        for link in self.links:
            if link['kind'] in kern.CHARDEV_KINDS:
                kern.remove_private_node(ctx.netns, link['name'])

    def _delete_by_group(self, ctx):
        # A group number no link of the namespace uses, so the bulk delete removes only ours.
        # Deletes run first in a plan, under the host lock: the indexes read at the start still hold.
        in_use = ctx.groups_in_use
        group = random.randint(0x10000000, 0x7ffffff0)
        while group in in_use:
            group += 1
        try:
            ctx.kernel.set_group_many(self.describe(), [link['index'] for link in self.links], group)
            ctx.kernel.delete_group(self.describe(), group)
        except BaseException:
            for link in self.links:  # put the marks back; nothing was deleted
                index = ctx.kernel.find_index(link['name'])
                if index is not None:
                    ctx.kernel.set_group('undo', link['name'], index, link['group'])
            raise

    def undo(self, ctx):
        for link in self.links:
            if link['kind'] == 'tun':
                AddTap(dict(tap_from_state(link), restore_index=link['index'])).do(ctx)
                continue
            # Same ifindex as before, so the restored link is the same to everyone (and a
            # macvtap gets back its /dev/tapN name).
            AddLink(dict(link, restore_index=link['index'])).do(ctx)
            if link.get('group'):
                ctx.kernel.set_group('undo', link['name'], ctx.kernel.index_of(link['name']), link['group'])
            if link['kind'] in kern.CHARDEV_KINDS and link.get('device'):
                dev = link['device']
                SetDeviceOwner(link['name'], dev.get('owner'), dev.get('group'), dev.get('device_mode')).do(ctx)


class ChangeLink:
    """Change attributes of an existing link in place. ``changes`` maps field -> (old, new)."""

    verb = 'change'

    def __init__(self, link, changes):
        self.link = link
        self.obj = link['name']
        self.changes = changes

    def describe(self):
        kind = self.link['kind']
        parts = []
        simple = []
        for field, (_old, new) in sorted(self.changes.items()):
            if field in ('mode', 'flag') and kind in kern.IPVL_KINDS:
                continue  # one line below: ip sets the two together
            if field == 'mode':
                simple.append('type %s mode %s' % (kind, new))
            elif field == 'mac':
                simple.append('address %s' % new)
            elif field == 'mtu':
                simple.append('mtu %s' % new)
            elif field == 'admin_state':
                simple.append(new)
            elif field == 'source_macs':
                macs = ('set ' + ' '.join(new)) if new else 'flush'
                parts.append('ip link set %s type %s macaddr %s' % (self.obj, kind, macs))
        if simple:
            parts.insert(0, 'ip link set %s %s' % (self.obj, ' '.join(simple)))
        if kind in kern.IPVL_KINDS and ('mode' in self.changes or 'flag' in self.changes):
            mode, flag = (self.changes.get(f, (None, self.link.get(f)))[1] for f in ('mode', 'flag'))
            parts.insert(0, 'ip link set %s type %s mode %s %s' % (self.obj, kind, mode, flag))
        return '; '.join(parts)

    def _apply(self, ctx, which):
        values = dict((field, pair[which]) for field, pair in self.changes.items())
        kernel = ctx.kernel
        index = kernel.index_of(self.obj)
        what = self.describe() if which == 1 else 'undo: ' + self.describe()
        if self.link['kind'] in kern.IPVL_KINDS and ('mode' in values or 'flag' in values):
            kernel.set_ipvl(what, self.link['kind'], index, mode=values.get('mode'), flag=values.get('flag'))
        elif 'mode' in values:
            kernel.set_macv(what, self.link['kind'], self.obj, index, mode=values['mode'])
        if 'source_macs' in values:
            kernel.set_source_macs(what, self.link['kind'], self.obj, index, values['source_macs'] or [])
        kernel.set_macv(what, self.link['kind'], self.obj, index, mac=values.get('mac'), mtu=values.get('mtu'),
                        admin_state=values.get('admin_state'))

    def do(self, ctx):
        try:
            self._apply(ctx, 1)
        except VifError as exc:
            try:  # up to three requests: put back the ones that went through
                self._apply(ctx, 0)
            except VifError as again:
                exc.msg += '; putting back its earlier changes also failed: %s' % again.msg
                exc.args = (exc.msg,)
            raise

    def undo(self, ctx):
        self._apply(ctx, 0)


class SetDeviceOwner:
    """Owner, group and permission bits of a macvtap's character device (kernel.set_node_owner:
    on the node checked to be that device, never through a symbolic link)."""

    verb = 'chown'

    def __init__(self, name, owner=None, group=None, device_mode=None):
        self.obj = name
        self.owner, self.group, self.device_mode = owner, group, device_mode
        self.previous = None
        self.path = None
        self.device = None

    def describe(self):
        words = []
        if self.owner is not None or self.group is not None:
            words.append('chown %s:%s' % ('' if self.owner is None else self.owner,
                                          '' if self.group is None else self.group))
        if self.device_mode is not None:
            words.append('chmod %s' % self.device_mode)
        return '%s <character device of %s>' % (' && '.join(words), self.obj)

    def do(self, ctx):
        index = ctx.kernel.index_of(self.obj)
        devs = kern.macvtap_chardevs(ctx.netns, [self.obj])
        if self.obj not in devs:
            raise VifError("%s: the link's character device is not visible in sysfs" % self.obj, obj=self.obj)
        dev = devs[self.obj]
        self.device = (dev['major'], dev['minor'])
        self.path = kern.chardev_node(ctx.netns, self.obj, index, dev['major'], dev['minor'])
        self.previous = kern.node_owner(self.path, *self.device)
        kern.set_node_owner(self.path, dev['major'], dev['minor'], self.owner, self.group, self.device_mode)

    def undo(self, ctx):
        if self.path and self.previous and self.device and os.path.lexists(self.path):
            prev = self.previous
            kern.set_node_owner(self.path, self.device[0], self.device[1], prev['owner'], prev['group'],
                                prev['device_mode'])


class SetHairpin:
    verb = 'hairpin'

    def __init__(self, port, on):
        self.port = port
        self.obj = port['name']
        self.on = on

    def describe(self):
        return 'ip link set %s type bridge_slave hairpin %s' % (self.obj, 'on' if self.on else 'off')

    def do(self, ctx):
        ctx.kernel.set_hairpin(self.describe(), self.obj, ctx.kernel.index_of(self.obj), self.on)

    def undo(self, ctx):
        ctx.kernel.set_hairpin('undo: ' + self.describe(), self.obj, ctx.kernel.index_of(self.obj), not self.on)


# -- tun/tap actions ------------------------------------------------------------------------------

def tap_from_state(link):
    """A tap spec that recreates a device as the kernel reported it."""
    tun = link.get('tun') or {}
    return {'name': link['name'], 'mode': tun.get('type') or 'tap', 'owner': tun.get('owner'),
            'group': tun.get('group'), 'multi_queue': bool(tun.get('multi_queue')),
            'vnet_hdr': bool(tun.get('vnet_hdr')), 'packet_info': bool(tun.get('packet_info')),
            'mtu': link.get('mtu'), 'mac': link.get('mac') if tun.get('type') == 'tap' else None,
            'bridge': link.get('master') or '', 'admin_state': link.get('admin_state'), 'kind': 'tun'}


def _tap_settings(ctx, name, values, what):
    """mtu, mac, bridge ('' = none), admin_state of an existing tun/tap device."""
    attrs = {}
    if values.get('mtu') is not None:
        attrs['mtu'] = values['mtu']
    if values.get('mac'):
        attrs['address'] = values['mac']
    if values.get('bridge') is not None:
        attrs['master'] = ctx.index_of(values['bridge']) if values['bridge'] else 0
    ctx.kernel.set_tap(what, name, ctx.kernel.index_of(name), **attrs)
    if values.get('admin_state'):  # last: a port comes up after it joined its bridge
        ctx.kernel.set_tap(what, name, ctx.kernel.index_of(name), state=values['admin_state'])


class AddTap:
    verb = 'add'

    def __init__(self, tap, reason=None):
        self.tap = tap
        self.obj = tap['name']
        self.reason = reason

    def describe(self):
        tap = self.tap
        words = ['ip tuntap add dev %s mode %s' % (tap['name'], tap['mode'])]
        words += ['user %s' % tap['owner']] if tap.get('owner') is not None else []
        words += ['group %s' % tap['group']] if tap.get('group') is not None else []
        words += [flag for flag, key in (('pi', 'packet_info'), ('vnet_hdr', 'vnet_hdr'),
                                         ('multi_queue', 'multi_queue')) if tap.get(key)]
        line = ' '.join(words)
        extra = []
        if tap.get('mtu'):
            extra.append('mtu %s' % tap['mtu'])
        if tap.get('mac'):
            extra.append('address %s' % tap['mac'])
        if tap.get('bridge'):
            extra.append('master %s' % tap['bridge'])
        if tap.get('admin_state') == 'up':
            extra.append('up')
        if extra:
            line += '; ip link set %s %s' % (tap['name'], ' '.join(extra))
        return line + (' (%s)' % self.reason if self.reason else '')

    def do(self, ctx):
        tap = self.tap
        ctx.kernel.add_tap(self.describe(), tap['name'], tap['mode'], tap.get('owner'), tap.get('group'), tap,
                           index=tap.get('restore_index'))
        try:
            _tap_settings(ctx, tap['name'], tap, self.describe())
        except VifError:
            self.undo(ctx)  # one action, all or nothing: no half-made device stays behind
            raise

    def undo(self, ctx):
        index = ctx.kernel.find_index(self.obj)
        if index is not None:
            ctx.kernel.delete('undo: ip link del %s' % self.obj, self.obj, index)


class ChangeTap:
    """In place: owner, group, vnet_hdr and packet_info (attach with TUNSETIFF and the new flags,
    TUNSETOWNER/TUNSETGROUP), mtu, mac, bridge, up/down. ``changes`` maps field -> (old, new)."""

    verb = 'change'

    def __init__(self, link, changes):
        self.link = link
        self.obj = link['name']
        self.changes = changes

    def describe(self):
        parts = []
        for field, (_old, new) in sorted(self.changes.items()):
            if field == 'owner':
                parts.append('ip tuntap set owner of %s to %s' % (self.obj, new))
            elif field == 'group':
                parts.append('ip tuntap set group of %s to %s' % (self.obj, new))
            elif field in ('vnet_hdr', 'packet_info'):
                parts.append('set %s of %s %s' % (field, self.obj, 'on' if new else 'off'))
            elif field == 'bridge':
                parts.append('ip link set %s %s' % (self.obj, 'master %s' % new if new else 'nomaster'))
            elif field == 'mac':
                parts.append('ip link set %s address %s' % (self.obj, new))
            elif field == 'mtu':
                parts.append('ip link set %s mtu %s' % (self.obj, new))
            elif field == 'admin_state':
                parts.append('ip link set %s %s' % (self.obj, new))
        return '; '.join(parts)

    def _apply(self, ctx, which):
        values = dict((field, pair[which]) for field, pair in self.changes.items())
        what = self.describe() if which == 1 else 'undo: ' + self.describe()
        if set(values) & {'owner', 'group', 'vnet_hdr', 'packet_info'}:
            tap = tap_from_state(self.link)
            tap.update((f, values[f]) for f in ('vnet_hdr', 'packet_info') if f in values)
            ctx.kernel.add_tap(what, self.obj, tap['mode'], values.get('owner'), values.get('group'), tap)
        _tap_settings(ctx, self.obj, values, what)

    def do(self, ctx):
        self._apply(ctx, 1)

    def undo(self, ctx):
        if any(f in self.changes and self.changes[f][0] is None for f in ('owner', 'group')):
            # TUNSETOWNER/TUNSETGROUP cannot unset (-1 is EINVAL): remake the device as it was.
            ctx.kernel.delete('undo: ip link del %s' % self.obj, self.obj, ctx.kernel.index_of(self.obj))
            AddTap(dict(tap_from_state(self.link), restore_index=self.link['index'])).do(ctx)
            return
        self._apply(ctx, 0)


# -- SR-IOV actions -------------------------------------------------------------------------------

def _sysfs_path(pf, attribute):
    return '%s/%s' % ('/sys/bus/pci/devices/' + pf if kern.PCI_ADDRESS_RE.match(pf) else
                      '/sys/class/net/%s/device' % pf, attribute)


class SetAutoprobe:
    verb = 'change'

    def __init__(self, pf, old, new):
        self.obj = self.pf = pf
        self.old, self.new = old, new

    def describe(self):
        return 'echo %d > %s' % (int(self.new), _sysfs_path(self.pf, 'sriov_drivers_autoprobe'))

    def do(self, ctx):
        ctx.kernel.write_sriov(self.describe(), self.pf, 'sriov_drivers_autoprobe', int(self.new))

    def undo(self, ctx):
        ctx.kernel.write_sriov('undo: ' + self.describe(), self.pf, 'sriov_drivers_autoprobe', int(self.old))


class SetNumVfs:
    """Change a PF's VF count. From a non-zero count the kernel only accepts 0 (EBUSY otherwise), so
    a change between non-zero counts writes 0 first: every existing VF is destroyed. Waits until the
    VFs (and, with autoprobe, their drivers) are there. Undo goes back to the old count and puts
    back the old VFs' settings (``restore``: {vf: settings} as the PF reported them)."""

    verb = 'change'

    def __init__(self, pf, pf_netdev, old, new, need_drivers, timeout, destroyed=(), restore=None):
        self.obj = self.pf = pf
        self.pf_netdev = pf_netdev
        self.old, self.new = old, new
        self.need_drivers = need_drivers
        self.timeout = timeout
        self.destroyed = list(destroyed)
        self.restore = restore or {}

    def describe(self):
        path = _sysfs_path(self.pf, 'sriov_numvfs')
        line = ('echo 0 > %s; ' % path if self.old and self.new else '') + 'echo %d > %s' % (self.new, path)
        if self.old:
            line += ' (destroys %d VFs: %s)' % (self.old, ', '.join(self.destroyed) or 'all')
        return line

    def _count(self, ctx, what, old, new):
        if old and new:
            ctx.kernel.write_sriov(what, self.pf, 'sriov_numvfs', 0)
        ctx.kernel.write_sriov(what, self.pf, 'sriov_numvfs', new)
        seen = ctx.kernel.wait_sriov(self.pf, new, self.need_drivers, self.timeout)
        if not seen.get('ready'):
            if old != new:  # one action, all or nothing: back to the count it had
                if new and old:
                    ctx.kernel.write_sriov('undo: ' + what, self.pf, 'sriov_numvfs', 0)
                ctx.kernel.write_sriov('undo: ' + what, self.pf, 'sriov_numvfs', old)
            have = len(seen.get('vfs') or [])
            bound = sum(1 for v in seen.get('vfs') or [] if v.get('driver'))
            drivers = ' (%d with a driver bound)' % bound if self.need_drivers else ''
            raise VifError("%s: the kernel accepted %d VFs but after %s s %d VFs exist%s; a slow NIC may need a "
                           "larger wait_timeout" % (self.pf, new, self.timeout, have, drivers),
                           obj=self.pf, field='wait_timeout', value=self.timeout)

    def do(self, ctx):
        self._count(ctx, self.describe(), self.old, self.new)

    def undo(self, ctx):
        self._count(ctx, 'undo: ' + self.describe(), self.new, self.old)
        if self.restore and self.pf_netdev:
            index = ctx.kernel.index_of(self.pf_netdev)
            for vf, values in sorted(self.restore.items()):
                ctx.kernel.set_vf('undo: restore the settings of %s vf %d' % (self.pf, vf), self.pf_netdev, index, vf,
                                  values)


class SetVf:
    """Per-VF settings on the PF over netlink. ``new`` and ``old`` hold whole groups (vlan with qos
    and vlan_proto, both rates) as the kernel takes them; old is None where nothing is known to
    restore (a VF this task creates)."""

    verb = 'change'

    def __init__(self, pf, pf_netdev, vf, new, old):
        self.pf, self.pf_netdev, self.vf = pf, pf_netdev, vf
        self.obj = '%s vf %d' % (pf, vf)
        self.new, self.old = new, old

    def describe(self):
        words = []
        for field in ('mac', 'vlan', 'qos', 'vlan_proto', 'spoofchk', 'trust', 'link_state', 'min_tx_rate',
                      'max_tx_rate'):
            if field in self.new:
                value = self.new[field]
                words.append('%s %s' % (field, ('on' if value else 'off') if isinstance(value, bool) else value))
        return 'ip link set %s vf %d %s' % (self.pf_netdev, self.vf, ' '.join(words))

    def do(self, ctx):
        ctx.kernel.set_vf(self.describe(), self.pf_netdev, ctx.kernel.index_of(self.pf_netdev), self.vf, self.new)

    def undo(self, ctx):
        if self.old:
            ctx.kernel.set_vf('undo: ' + self.describe(), self.pf_netdev, ctx.kernel.index_of(self.pf_netdev),
                              self.vf, self.old)


class WriteFile:
    """A configuration file on the host (atomic replace); undo puts back what was there, or removes it."""

    verb = 'change'

    def __init__(self, path, old, new):
        self.obj = self.path = path
        self.old, self.new = old, new

    def describe(self):
        return 'write %s' % self.path if self.new is not None else 'rm %s' % self.path

    def do(self, ctx):
        try:
            persist.write_text(self.path, self.new)
        except OSError as exc:
            raise VifError("%s failed: %s" % (self.describe(), exc.strerror or exc), obj=self.path) from exc

    def undo(self, ctx):
        persist.write_text(self.path, self.old)
