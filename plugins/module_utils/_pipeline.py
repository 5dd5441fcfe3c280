# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module pipeline (DESIGN.md section 3), one for every kind:

validate -> one read of current state -> plan -> (check mode: report the plan) -> apply with an
undo journal -> read back and verify -> result.

``run(handler, params, check_mode, diff)`` drives a kind's handler (module_utils/_kinds) through
those steps. It takes plain argument dicts and returns plain result dicts, so tests can run it
in-process against a real kernel; modules only wire AnsibleModule to it. The run_* functions are
the in-process entry points of each module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import gc
import importlib

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils._apply import HostLock, apply_and_verify_plan
from ansible_collections.hostnet.vif.plugins.module_utils._model import check_seconds


def render_diff(plan, netns, describe):
    """--diff: ``describe`` (the handler's) gives each object's line, before and after."""
    where = ' (netns %s)' % netns if netns else ''
    before = [describe(plan.before[n]) for n in sorted(plan.before) if plan.before[n] is not None]
    after = [describe(plan.after[n]) for n in sorted(plan.after) if plan.after[n] is not None]
    return {
        'before_header': 'kernel before' + where,
        'after_header': 'kernel after' + where,
        'before': ''.join(line + '\n' for line in before),
        'after': ''.join(line + '\n' for line in after),
    }


def plan_result(plan, netns, diff, describe):
    """What every module returns about its plan: changed, the ip-style actions, and the diff."""
    result = {'changed': bool(plan.actions), 'actions': [a.describe() for a in plan.actions]}
    if diff:
        result['diff'] = render_diff(plan, netns, describe)
    return result


class _GcPaused:
    """pyroute2 builds dozens of small objects per link attribute; with thousands of links the
    cyclic garbage collector rescans them over and over (a dump of 1,000 links took 0.45-1.0 s with
    it, 0.29-0.37 s without). A module run is short-lived: collect once at the end instead."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was_enabled:
            gc.enable()


def run(handler, params, check_mode=False, diff=False):
    """The whole pipeline for one module's handler."""
    with _GcPaused():
        task = handler.build(params)  # every value checked before the first netlink request
        netns = params.get('netns')
        lock: contextlib.AbstractContextManager = contextlib.nullcontext()
        if handler.takes_lock:
            timeout = params.get('lock_timeout')  # None (callers in-process): the default
            lock = HostLock(check_seconds(120 if timeout is None else timeout, 'lock_timeout', 0, 86400))
        kern.check_netns(netns)
        with lock, kern.Kernel(netns) as kernel:
            if handler.read_only:
                return handler.observe(kernel, netns, task, check_mode)
            if handler.composite:
                return handler.run_composite(kernel, netns, task, check_mode, diff)
            state = handler.read(kernel, netns, task)
            handler.check(task, state)
            plan = handler.plan(task, state)
            result = plan_result(plan, netns, diff, handler.describe)
            result.update(handler.extra_result(task, state))
            if check_mode or not plan.actions:
                result.update(handler.report_planned(netns, task, state, plan, check_mode))
                return result
            ctx, actions = handler.context(kernel, netns, state, plan)

            def read_back():
                after = handler.read(kernel, netns, task, after=True)
                return after, handler.problems(task, plan, after)
            after = apply_and_verify_plan(ctx, actions, read_back)
            result.update(handler.report(netns, task, plan, after))
            return result


# -- in-process entry points, one per module --------------------------------------------------------

def _kind(name):
    """A kind's handler module, imported by name when its entry point is called. Modules import their
    own handler themselves and call run(): an import statement here would put every kind into every
    module's AnsiballZ payload (the controller's scan follows import statements, also inside
    functions, not importlib) and have each module run compile and import all of them."""
    return importlib.import_module('ansible_collections.hostnet.vif.plugins.module_utils._kinds.' + name)


def run_links(params, kind, check_mode=False, diff=False):
    """hostnet.vif.macvlan / hostnet.vif.macvtap."""
    return run(_kind('macv').HANDLERS[kind], params, check_mode, diff)


def run_ipvl(params, kind, check_mode=False, diff=False):
    """hostnet.vif.ipvlan / hostnet.vif.ipvtap."""
    return run(_kind('ipvl').HANDLERS[kind], params, check_mode, diff)


def run_hairpin(params, check_mode=False, diff=False):
    return run(_kind('hairpin').HAIRPIN, params, check_mode, diff)


def run_taps(params, check_mode=False, diff=False):
    return run(_kind('tap').TAP, params, check_mode, diff)


def run_sriov(params, check_mode=False, diff=False):
    return run(_kind('sriov').SRIOV, params, check_mode, diff)


def run_relay(params, check_mode=False, diff=False):
    return run(_kind('relay').RELAY, params, check_mode, diff)


def run_info(params, check_mode=False, diff=False):
    return run(_kind('info').INFO, params, check_mode, diff)


def run_profile(params, check_mode=False, diff=False):
    """hostnet.vif.profile: the whole host profile as one transaction."""
    return run(_kind('profile').PROFILE, params, check_mode, diff)
