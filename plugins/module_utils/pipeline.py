# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module pipeline (DESIGN.md section 3), shared by every module:

validate -> one read of current state -> plan -> (check mode: report the plan) -> apply with an
undo journal -> read back and verify -> result.

Functions here take plain argument dicts and return plain result dicts, so tests can run them
in-process against a real kernel; modules only wire AnsibleModule to them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc

from ansible_collections.hostnet.vif.plugins.module_utils import facts
from ansible_collections.hostnet.vif.plugins.module_utils import kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import persist
from ansible_collections.hostnet.vif.plugins.module_utils import relay
from ansible_collections.hostnet.vif.plugins.module_utils.apply import (
    Context, HostLock, apply_and_verify_plan, coalesce, tap_from_state)
from ansible_collections.hostnet.vif.plugins.module_utils.errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils.facts import device_state, report_link, report_tap
from ansible_collections.hostnet.vif.plugins.module_utils.model import (
    build_hairpin_specs, build_link_specs, build_sriov_specs, build_tap_specs, check_against, check_hairpin_against,
    check_ifname, check_seconds, check_sriov_against, check_taps_against)
from ansible_collections.hostnet.vif.plugins.module_utils.planner import plan_hairpin, plan_links, plan_sriov, plan_taps


# -- shared steps ------------------------------------------------------------------------------

def _word(value):
    return ('on' if value else 'off') if isinstance(value, bool) else value


def _describe(obj):
    """One readable line per object for --diff."""
    if obj is None:
        return None
    if obj.get('kind') == 'file':
        return 'file %s:\n%s' % (obj['name'], obj['content'].rstrip('\n'))
    if obj.get('kind') == 'sriov':
        lines = ['SR-IOV PF %s: %s VFs, drivers_autoprobe %s%s' % (
            obj['name'], obj['numvfs'], 'on' if obj['drivers_autoprobe'] else 'off',
            ' (would destroy all %d existing VFs first)' % obj['destroyed'] if obj.get('destroyed') else '')]
        for vf, values in sorted(obj['vfs'].items()):
            shown = ', '.join('%s %s' % (k, _word(values[k])) for k in sorted(values)
                              if values[k] is not None and k != 'vf')
            lines.append('  vf %d: %s' % (vf, shown or '(driver defaults)'))
        return '\n'.join(lines)
    if obj.get('kind') == 'tun':
        tap = obj if 'tun' not in obj else dict(obj, **_tap_view(obj))
        flags = [f for f in ('multi_queue', 'vnet_hdr', 'packet_info') if tap.get(f)]
        return '%s %s: owner %s, group %s, flags [%s], mtu %s, mac %s, bridge %s, %s' % (
            tap.get('mode'), tap['name'], tap.get('owner'), tap.get('group'), ', '.join(flags),
            tap.get('mtu') or '(default)', tap.get('mac') or '(kernel-assigned)', tap.get('bridge') or '(none)',
            tap.get('admin_state'))
    if 'hairpin' in obj and obj.get('kind') not in kern.MACV_KINDS:
        return 'bridge port %s (bridge %s): hairpin %s' % (obj['name'], obj.get('master'),
                                                           'on' if obj['hairpin'] else 'off')
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
    if obj.get('kind') == 'macvtap' and dev:
        owner = (dev.get('uid', '?'), dev.get('gid', '?'), dev.get('mode', '?'))
        words.append('device owner %s group %s mode %s' % owner)
    return ', '.join(words)


def render_diff(plan, netns):
    where = ' (netns %s)' % netns if netns else ''
    before = [_describe(plan.before[n]) for n in sorted(plan.before) if plan.before[n] is not None]
    after = [_describe(plan.after[n]) for n in sorted(plan.after) if plan.after[n] is not None]
    return {
        'before_header': 'kernel before' + where,
        'after_header': 'kernel after' + where,
        'before': ''.join(line + '\n' for line in before),
        'after': ''.join(line + '\n' for line in after),
    }


def plan_result(plan, netns, diff):
    """What every module returns about its plan: changed, the ip-style actions, and the diff."""
    result = {'changed': bool(plan.actions), 'actions': [a.describe() for a in plan.actions]}
    if diff:
        result['diff'] = render_diff(plan, netns)
    return result


def _seconds(params, field, default):
    """A timeout option: None (callers in-process) is the default; NaN or a negative value would wait forever."""
    return check_seconds(default if params.get(field) is None else params[field], field, 0, 86400)


def _locked_session(params):
    netns = params.get('netns')
    kern.check_netns(netns)
    return HostLock(_seconds(params, 'lock_timeout', 120)), netns


# -- macvlan / macvtap -------------------------------------------------------------------------

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
        for field in ('kind', 'lower', 'mode', 'nopromisc', 'admin_state', 'mac', 'mtu', 'source_macs'):
            want = predicted.get(field)
            if field in ('mac', 'mtu') and want is None:
                continue
            if field == 'source_macs':
                want = sorted(want or [])
            have = link.get(field)
            if field == 'source_macs':
                have = sorted(have or [])
            if have != want:
                problems.append('%s: %s is %r, expected %r' % (name, field, have, want))
        if kind == 'macvtap':
            dev = devices.get(name) or {}
            for key, want in (predicted.get('device') or {}).items():
                if key in ('uid', 'gid', 'mode') and want is not None and dev.get(key) != want:
                    problems.append('%s: character device %s is %r, expected %r' % (name, key, dev.get(key), want))
    return problems


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


def run_links(params, kind, check_mode=False, diff=False):
    """The whole pipeline for hostnet.vif.macvlan / hostnet.vif.macvtap."""
    with _GcPaused():
        return _run_links(params, kind, check_mode, diff)


def _run_links(params, kind, check_mode, diff):
    specs = build_link_specs(params, kind)
    purge_lowers = set()
    if params.get('purge'):
        purge_lowers = set(s['lower'] for s in specs if s['state'] == 'present')
        if params.get('lower'):
            purge_lowers.add(params['lower'])
        if not purge_lowers:
            raise VifError("purge needs the lower devices to purge: set lower, or list links with lower",
                           field='purge', value=True)
    lock, netns = _locked_session(params)
    with lock, kern.Kernel(netns) as kernel:
        current = kernel.dump_links()
        check_against(specs, current, kind, purge_lowers)
        managed = [s['name'] for s in specs if s['state'] == 'present' and kind == 'macvtap']
        devices = device_state(netns, current, managed) if managed else {}
        plan = plan_links(specs, current, kind, purge_lowers, devices)
        result = plan_result(plan, netns, diff)
        present = [s['name'] for s in specs if s['state'] == 'present']
        if check_mode or not plan.actions:
            view = dict((n, plan.after.get(n) or current.get(n)) for n in present)
            if not plan.actions:
                devices = device_state(netns, current, managed, create=not check_mode) if managed else {}
            result['links'] = [report_link(view[n], netns, devices.get(n) if not plan.actions else None)
                               for n in present if view.get(n)]
            return result
        seen = {}

        def problems(after):
            seen['devices'] = device_state(netns, after, managed, create=True) if managed else {}
            return verify_links(specs, after, kind, plan, seen['devices'])
        after = apply_and_verify(kernel, netns, current, plan, problems)
        result['links'] = [report_link(after[n], netns, seen['devices'].get(n)) for n in present]
        return result


def apply_and_verify(kernel, netns, current, plan, problems):
    """Apply a plan with the undo journal, read the namespace back, and undo everything if
    ``problems(after)`` finds the kernel differs from the request. Returns the state after."""
    ctx = Context(kernel, netns, current)
    ctx.keep_indexes(current, set(current) - set(plan.before) - set(plan.after))

    def read_back():
        after = kernel.dump_links()
        return after, problems(after)
    return apply_and_verify_plan(ctx, coalesce(ctx, plan.actions), read_back)


# -- bridge-port hairpin -----------------------------------------------------------------------

def run_hairpin(params, check_mode=False, diff=False):
    with _GcPaused():
        return _run_hairpin(params, check_mode, diff)


def _run_hairpin(params, check_mode, diff):
    specs = build_hairpin_specs(params)
    lock, netns = _locked_session(params)
    with lock, kern.Kernel(netns) as kernel:
        current = kernel.dump_links()
        check_hairpin_against(specs, current)
        plan = plan_hairpin(specs, current)
        result = plan_result(plan, netns, diff)
        if not check_mode and plan.actions:
            def problems(after):
                return ['%s: hairpin is %s, expected %s' % (s['name'], after[s['name']].get('hairpin'), s['hairpin'])
                        for s in specs if after.get(s['name'], {}).get('hairpin') != s['hairpin']]
            current = apply_and_verify(kernel, netns, current, plan, problems)
        view = dict((n, plan.after.get(n) or current.get(n)) for n in (s['name'] for s in specs))
        result['ports'] = [{'name': n, 'bridge': view[n].get('master'), 'hairpin': view[n].get('hairpin'),
                            'netns': netns} for n in sorted(view)]
        return result


# -- facts --------------------------------------------------------------------------------------

def run_info(params, check_mode=False, diff=False):
    """hostnet.vif.vif_info: read-only, no lock (it writes nothing; one dump is a consistent view)."""
    netns = params.get('netns')
    lock_timeout = _seconds(params, 'lock_timeout', 120)  # taken only for the reflective_relay probe
    if params.get('lower') is not None:
        check_ifname(params['lower'], 'lower')
    for position, lower in enumerate(params.get('reflective_relay') or []):  # before the first netlink request
        check_ifname(lower, 'reflective_relay[%d]' % position)
    kern.check_netns(netns)
    with _GcPaused(), kern.Kernel(netns) as kernel:
        kinds = params.get('kinds') or facts.KINDS
        vif = facts.gather(kernel, netns, kinds, params.get('lower'))
        if params.get('reflective_relay'):
            # opt-in: the probe creates temporary links (never in the user's namespace)
            with HostLock(lock_timeout):
                vif['reflective_relay'] = relay.run_relays(kernel, netns, {
                    'lowers': params['reflective_relay'], 'expect': 'any', 'method': 'auto',
                    'probe_in_check_mode': params.get('probe_in_check_mode')}, check_mode)
        return {'changed': False, 'vif': vif}


# -- reflective relay ------------------------------------------------------------------------------

def run_relay(params, check_mode=False, diff=False):
    """Observe the switch's reflective relay per lower device; fail where it contradicts ``expect``."""
    relay.build_relay_specs(params)  # before the first netlink request (run_relays uses the same specs)
    lock, netns = _locked_session(params)
    with _GcPaused(), lock, kern.Kernel(netns) as kernel:
        return {'changed': False, 'relays': relay.run_relays(kernel, netns, params, check_mode)}


# -- tun/tap --------------------------------------------------------------------------------------

def _tap_view(link):
    """A tun/tap device from the kernel, in the fields a tap spec uses."""
    view = tap_from_state(link)
    view['bridge'] = view['bridge'] or ''
    return view


def run_taps(params, check_mode=False, diff=False):
    with _GcPaused():
        return _run_taps(params, check_mode, diff)


def _run_taps(params, check_mode, diff):
    specs = build_tap_specs(params)
    lock, netns = _locked_session(params)
    with lock, kern.Kernel(netns) as kernel:
        current = kernel.dump_links()
        check_taps_against(specs, current)
        plan = plan_taps(specs, current)
        result = plan_result(plan, netns, diff)
        present = [s['name'] for s in specs if s['state'] == 'present']
        if check_mode or not plan.actions:
            result['taps'] = [_predicted_tap(plan.after.get(n), current.get(n), netns) for n in present]
            return result

        def problems(after):
            found = []
            for spec in specs:
                link = after.get(spec['name'])
                if spec['state'] == 'absent':
                    if link is not None and link['kind'] == 'tun':
                        found.append('%s still exists' % spec['name'])
                    continue
                if link is None or link['kind'] != 'tun':
                    found.append('%s does not exist' % spec['name'])
                    continue
                have = _tap_view(link)
                for field in ('mode', 'owner', 'group', 'multi_queue', 'vnet_hdr', 'packet_info', 'mtu', 'mac',
                              'bridge', 'admin_state'):
                    if spec[field] is not None and have[field] != spec[field]:
                        found.append('%s: %s is %r, expected %r' % (spec['name'], field, have[field], spec[field]))
            return found
        after = apply_and_verify(kernel, netns, current, plan, problems)
        result['taps'] = [report_tap(after[n], netns) for n in present]
        return result


def _predicted_tap(predicted, link, netns):
    if predicted is None:
        return report_tap(link, netns)
    out = dict((k, predicted.get(k)) for k in ('name', 'owner', 'group', 'multi_queue', 'vnet_hdr', 'packet_info',
                                               'mac', 'mtu', 'admin_state'))
    out.update({'index': (link or {}).get('index'), 'type': predicted.get('mode'),
                'bridge': predicted.get('bridge') or None, 'persistent': True, 'netns': netns})
    return out


# -- SR-IOV ---------------------------------------------------------------------------------------

def _sriov_state(kernel, specs, links):
    """sysfs record per PF, and the per-VF netlink settings of those whose interface is here."""
    states = dict((spec['pf'], kernel.read_sriov_pf(spec['pf'])) for spec in specs)
    vf_now = {}
    for pf, state in states.items():
        if state.get('found') and state.get('name') in links:
            vf_now[pf] = dict((vf['vf'], vf) for vf in kernel.vf_settings(links[state['name']]['index']))
    return states, vf_now


def _report_pf(state, settings, netns):
    vfs = []
    for vf in state.get('vfs') or []:
        merged = dict(vf)
        merged.update(dict((k, v) for k, v in (settings.get(vf['vf']) or {}).items() if k != 'vf'))
        vfs.append(merged)
    return {'name': state.get('name'), 'pci_address': state.get('pci_address'), 'totalvfs': state.get('totalvfs'),
            'numvfs': state.get('numvfs'), 'drivers_autoprobe': state.get('drivers_autoprobe'), 'vfs': vfs,
            'netns': netns}


def _persisted(specs, states, directory):
    """Per PF with persist: the file, and what systemd .link files cannot carry."""
    out = []
    for spec in specs:
        if spec['persist'] != 'systemd-networkd':
            continue
        lost = sorted(set(f for vf in spec['vfs'] for f in persist.NOT_PERSISTABLE if vf.get(f) is not None))
        out.append({'pf': spec['pf'], 'path': persist.link_file_name(directory, states[spec['pf']]['pci_address']),
                    'not_persisted': lost})
    return out


def verify_sriov(specs, states, vf_now):
    problems = []
    for spec in specs:
        pf, state = spec['pf'], states[spec['pf']]
        if spec['num_vfs'] is not None and state.get('numvfs') != spec['num_vfs']:
            problems.append('%s: numvfs is %s, expected %s' % (pf, state.get('numvfs'), spec['num_vfs']))
        if spec['drivers_autoprobe'] is not None and state.get('drivers_autoprobe') != spec['drivers_autoprobe']:
            problems.append('%s: drivers_autoprobe is %s, expected %s' % (
                pf, state.get('drivers_autoprobe'), spec['drivers_autoprobe']))
        for vf in spec['vfs']:
            have = vf_now.get(pf, {}).get(vf['vf'], {})
            for field, want in vf.items():
                if field == 'vf' or want is None:
                    continue
                got = have.get(field)
                if field == 'vlan_proto' and got is None:
                    got = '802.1Q'  # drivers without the VLAN list report only the 802.1Q tag
                if got != want:
                    problems.append('%s vf %d: %s is %r, expected %r' % (pf, vf['vf'], field, got, want))
    return problems


def run_sriov(params, check_mode=False, diff=False):
    """hostnet.vif.sriov: VF counts and autoprobe through sysfs, per-VF settings through netlink."""
    specs = build_sriov_specs(params)
    timeout = _seconds(params, 'wait_timeout', 60)
    lock, netns = _locked_session(params)
    with _GcPaused(), lock, kern.Kernel(netns) as kernel:
        links = kernel.dump_links()
        states, vf_now = _sriov_state(kernel, specs, links)
        check_sriov_against(specs, states)
        plan = plan_sriov(specs, states, vf_now, links, kernel.addressed_indexes(), timeout,
                          params.get('persist_dir') or persist.DEFAULT_DIR)
        result = plan_result(plan, netns, diff)
        result['persisted'] = _persisted(specs, states, params.get('persist_dir') or persist.DEFAULT_DIR)
        if check_mode or not plan.actions:
            result['pfs'] = [_report_pf(states[s['pf']], vf_now.get(s['pf'], {}), netns) for s in specs]
            return result

        def read_back():
            states, vf_now = _sriov_state(kernel, specs, kernel.dump_links())
            return (states, vf_now), verify_sriov(specs, states, vf_now)
        states, vf_now = apply_and_verify_plan(Context(kernel, netns, links), plan.actions, read_back)
        result['pfs'] = [_report_pf(states[s['pf']], vf_now.get(s['pf'], {}), netns) for s in specs]
        return result
