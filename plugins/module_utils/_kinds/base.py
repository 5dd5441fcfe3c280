# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every kind's handler provides to the one pipeline (pipeline.run), and the plan record.

A handler owns, for its kind: building the task from the module's arguments (every value checked
before the first netlink request), reading the current state from the Kernel, the checks against
it, planning (actions with do/undo/describe, before/after per object), the --diff line of an
object, read-back and verification, and the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
from ansible_collections.hostnet.vif.plugins.module_utils._apply import Context, coalesce


@dataclasses.dataclass
class Plan:
    actions: list = dataclasses.field(default_factory=list)
    before: dict = dataclasses.field(default_factory=dict)  # name -> state before (only objects the plan touches)
    after: dict = dataclasses.field(default_factory=dict)   # name -> predicted state after (None: gone)

    def touch(self, name, before, after):
        self.before.setdefault(name, before)
        self.after[name] = after


class Handler:
    """The steps pipeline.run calls, in this order. ``state`` is whatever ``read`` returns; its
    ``links`` attribute is the namespace's link dump (kernel.Kernel.dump_links)."""

    read_only = False    # True: observe() is the whole run (no plan, no journal)
    composite = False    # True: run_composite() is the whole run, inside the lock (kinds composed: profile)
    takes_lock = True    # the host lock around read, plan, apply and verify

    def argument_spec(self):
        """The module's options (from the kind's table, _fields.module_options)."""
        raise NotImplementedError

    def build(self, params):
        """The task (specs) from the module's arguments; raises VifError on any bad value."""
        raise NotImplementedError

    def read(self, kernel, netns, task, after=False):
        """Current state; ``after``: the read-back once the plan was applied."""
        raise NotImplementedError

    def check(self, task, state):
        """Rules against the kernel's state, before anything is changed."""

    def plan(self, task, state):
        raise NotImplementedError

    def describe(self, obj):
        """One readable line (or block) per object for --diff."""
        raise NotImplementedError

    def extra_result(self, task, state):
        """Result keys every run returns, whatever the plan (none by default)."""
        return {}

    def report_planned(self, netns, task, state, plan, check_mode):
        """The result's objects when nothing is applied (check mode or nothing to do)."""
        raise NotImplementedError

    def context(self, kernel, netns, state, plan):
        """The apply context and the actions to run (link adds coalesced into batches)."""
        ctx = Context(kernel, netns, state.links)
        ctx.keep_indexes(state.links, set(state.links) - set(plan.before) - set(plan.after))
        return ctx, coalesce(ctx, plan.actions)

    def problems(self, task, plan, after):
        """How the read-back state differs from the request (empty: as asked)."""
        raise NotImplementedError

    def report(self, netns, task, plan, after):
        """The result's objects after the plan was applied and verified."""
        raise NotImplementedError

    def observe(self, kernel, netns, task, check_mode):
        """The whole run of a read-only handler."""
        raise NotImplementedError

    def run_composite(self, kernel, netns, task, check_mode, diff):
        """The whole run of a handler that composes others (its own plan, journal and read-back)."""
        raise NotImplementedError


def differences(name, expected, read_back, fields, what=''):
    """The read-back check every kind shares: one line per field of ``fields`` whose expected value is
    not None (None: not managed) and differs from what the kernel reports."""
    return ['%s: %s%s is %r, expected %r' % (name, what, field, read_back.get(field), expected[field])
            for field in fields if expected.get(field) is not None and read_back.get(field) != expected[field]]


@dataclasses.dataclass
class Links:
    """State that is just the namespace's link dump."""

    links: dict
