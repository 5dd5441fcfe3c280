# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SR-IOV physical functions: VF counts and autoprobe through sysfs, per-VF settings through
netlink on the PF's interface, optionally persisted as a systemd .link file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
from ansible_collections.hostnet.vif.plugins.module_utils import _persist as persist
from ansible_collections.hostnet.vif.plugins.module_utils._apply import (
    Context, SetAutoprobe, SetNumVfs, SetVf, WriteFile)
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import (
    check_directory, check_pf, check_seconds, normalise_mac, reject_duplicates, task_entries)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import (
    IN_PLACE, Field, module_options, names, normalise, whole)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler, Plan, differences


PERSIST_CHOICES = ('none', 'systemd-networkd')
VF_LINK_STATE_NAMES = ('auto', 'enable', 'disable')
VLAN_PROTO_NAMES = ('802.1Q', '802.1ad')


def _vf_specs(entries, field, pf):
    """The vfs: list of one PF, each entry checked (and named by its VF number), sorted by VF."""
    vfs, seen = [], set()
    for position, entry in enumerate(entries):
        where = '%s[%d]' % (field, position)
        if not isinstance(entry, dict):
            raise invalid(where, entry, "each entry must be a dictionary with vf and its settings", pf)
        unknown = sorted(set(entry) - set(names(VF_FIELDS)))
        if unknown:
            raise invalid(where, unknown[0], "unknown option; valid options: %s" % ', '.join(names(VF_FIELDS)), pf)
        if entry.get('vf') is None:
            raise invalid(where + '.vf', None, "the VF number is required", pf)
        number = VF_FIELDS[0].normalise(entry['vf'], pf)
        if number in seen:
            raise invalid('vf', number, "appears twice for this PF", pf)
        seen.add(number)
        vf = normalise(VF_FIELDS, entry, '%s vf %d' % (pf, number), skip=('vf',))
        vf['vf'] = number
        _check_vf(vf, '%s vf %d' % (pf, number))
        vfs.append(vf)
    return sorted(vfs, key=lambda v: v['vf'])


def _check_vf(vf, name):
    if (vf['qos'] or vf['vlan_proto'] == '802.1ad') and not vf['vlan']:
        raise invalid('qos' if vf['qos'] else 'vlan_proto', vf['qos'] or vf['vlan_proto'],
                      "needs a VLAN (vlan 1-4095): the kernel applies QoS and the protocol to a VLAN tag", name)
    if vf['min_tx_rate'] and vf['max_tx_rate'] and vf['min_tx_rate'] > vf['max_tx_rate']:
        raise invalid('min_tx_rate', vf['min_tx_rate'], "is above max_tx_rate (%d Mbit/s); 0 means no limit"
                      % vf['max_tx_rate'], name)


# The settings of one VF (entries of vfs:); a setting not given is left as it is.
VF_FIELDS = (
    Field('vf', type='int', check=whole(0, 65535), required=True),
    Field('mac', check=normalise_mac, change=IN_PLACE),
    Field('vlan', type='int', check=whole(0, 4095), change=IN_PLACE),
    Field('qos', type='int', check=whole(0, 7), change=IN_PLACE),
    Field('vlan_proto', choices=VLAN_PROTO_NAMES, change=IN_PLACE),
    Field('spoofchk', type='bool', change=IN_PLACE),
    Field('trust', type='bool', change=IN_PLACE),
    Field('link_state', choices=VF_LINK_STATE_NAMES, change=IN_PLACE),
    Field('min_tx_rate', type='int', check=whole(0, 4294967295), change=IN_PLACE),
    Field('max_tx_rate', type='int', check=whole(0, 4294967295), change=IN_PLACE),
)
# A physical function (top level, and the keys of a pfs: entry).
PF_FIELDS = (
    Field('pf', check=lambda value, field, obj: check_pf(value), per_entry=True),
    Field('num_vfs', type='int', check=whole(0, 65535)),
    Field('drivers_autoprobe', type='bool'),
    Field('allow_reset', type='bool', default=False),
    Field('vfs', type='list', elements='dict', options=VF_FIELDS, check=_vf_specs, per_entry=True),
    Field('persist', choices=PERSIST_CHOICES, default='none'),
)
VF_SETTINGS = names(VF_FIELDS, change=IN_PLACE)


@dataclasses.dataclass
class SriovTask:
    specs: list
    timeout: float
    persist_dir: str


@dataclasses.dataclass
class SriovState:
    links: dict
    states: dict    # sysfs record per PF
    vf_now: dict    # per PF: per-VF netlink settings
    addressed: object = None


class SriovHandler(Handler):
    def argument_spec(self):
        return module_options(PF_FIELDS, 'pfs', wait_timeout={'type': 'float', 'default': 60},
                              persist_dir={'type': 'path', 'default': persist.DEFAULT_DIR})

    def build(self, params):
        specs = build_sriov_specs(params)
        timeout = params.get('wait_timeout')
        timeout = check_seconds(60 if timeout is None else timeout, 'wait_timeout', 0, 86400)
        return SriovTask(specs, timeout, params.get('persist_dir') or persist.DEFAULT_DIR)

    def read(self, kernel, netns, task, after=False):
        links = kernel.dump_links()
        states, vf_now = _sriov_state(kernel, task.specs, links)
        return SriovState(links, states, vf_now, None if after else kernel.addressed_indexes())

    def check(self, task, state):
        check_sriov_against(task.specs, state.states)

    def plan(self, task, state):
        return plan_sriov(task.specs, state.states, state.vf_now, state.links, state.addressed, task.timeout,
                          task.persist_dir)

    def describe(self, obj):
        if obj.get('kind') == 'file':
            return 'file %s:\n%s' % (obj['name'], obj['content'].rstrip('\n'))
        lines = ['SR-IOV PF %s: %s VFs, drivers_autoprobe %s%s' % (
            obj['name'], obj['numvfs'], 'on' if obj['drivers_autoprobe'] else 'off',
            ' (would destroy all %d existing VFs first)' % obj['destroyed'] if obj.get('destroyed') else '')]
        for vf, values in sorted(obj['vfs'].items()):
            shown = ', '.join('%s %s' % (k, _word(values[k])) for k in sorted(values)
                              if values[k] is not None and k != 'vf')
            lines.append('  vf %d: %s' % (vf, shown or '(driver defaults)'))
        return '\n'.join(lines)

    def extra_result(self, task, state):
        return {'persisted': _persisted(task.specs, state.states, task.persist_dir)}

    def report_planned(self, netns, task, state, plan, check_mode):
        return self.report(netns, task, plan, state)

    def context(self, kernel, netns, state, plan):
        return Context(kernel, netns, state.links), plan.actions

    def problems(self, task, plan, after):
        return verify_sriov(task.specs, after.states, after.vf_now)

    def report(self, netns, task, plan, after):
        return {'pfs': [_report_pf(after.states[s['pf']], after.vf_now.get(s['pf'], {}), netns) for s in task.specs]}


SRIOV = SriovHandler()


def build_sriov_specs(params):
    """Task arguments -> one spec per PF (by netdev name or PCI address). Top-level num_vfs,
    drivers_autoprobe, allow_reset and persist are defaults for pfs: entries; vfs: is per PF."""
    specs = []
    for _position, merged in task_entries(params, 'pfs', 'pf', 'physical function', names(PF_FIELDS),
                                          names(PF_FIELDS, per_entry=True)):
        pf = check_pf(merged['pf'])
        spec = normalise(PF_FIELDS, dict(merged, vfs=merged.get('vfs') or []), pf, skip=('pf',))
        spec['pf'] = pf
        specs.append(spec)
    if params.get('persist_dir') is not None:
        check_directory(params['persist_dir'], 'persist_dir')
    return reject_duplicates(specs, 'pf')


def check_sriov_against(specs, states):
    """Rules that need the device: found, SR-IOV capable, not itself a VF, count within
    sriov_totalvfs, VF numbers below the count the PF will have."""
    for spec in specs:
        pf, state = spec['pf'], states[spec['pf']]
        if not state.get('found'):
            raise invalid('pf', pf, state.get('why') or 'not found')
        if state.get('is_vf'):
            raise invalid('pf', pf, "is itself a virtual function (it has a physfn): VFs cannot have VFs")
        if state.get('totalvfs') is None:
            raise invalid('pf', pf, "is not SR-IOV capable (its device has no sriov_totalvfs)")
        count = spec['num_vfs']
        if count is not None and count > state['totalvfs']:
            raise invalid('num_vfs', count, "is above what %s supports: sriov_totalvfs is %d" % (pf, state['totalvfs']),
                          pf)
        target = count if count is not None else (state.get('numvfs') or 0)
        for vf in spec['vfs']:
            if vf['vf'] >= target:
                raise invalid('vf', vf['vf'], "does not exist: %s will have %d VFs (numbers 0 to %d)" % (
                    pf, target, target - 1) if target else "does not exist: %s will have no VFs" % pf, pf)


def _word(value):
    return ('on' if value else 'off') if isinstance(value, bool) else value


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
        problems.extend(differences(pf, {'numvfs': spec['num_vfs'], 'drivers_autoprobe': spec['drivers_autoprobe']},
                                    state, ('numvfs', 'drivers_autoprobe')))
        for vf in spec['vfs']:
            have = dict(vf_now.get(pf, {}).get(vf['vf'], {}))
            if have.get('vlan_proto') is None:
                have['vlan_proto'] = '802.1Q'  # drivers without the VLAN list report only the 802.1Q tag
            problems.extend(differences('%s vf %d' % (pf, vf['vf']), vf, have, VF_SETTINGS))
    return problems


# Drivers that hand a VF to a VM or a user-space program: such a VF is in use whatever its netdev says.
PASSTHROUGH_DRIVERS = ('vfio-pci', 'pci-stub', 'uio_pci_generic', 'igb_uio')
VF_GROUPS = (('mac',), ('vlan', 'qos', 'vlan_proto'), ('spoofchk',), ('trust',), ('link_state',),
             ('min_tx_rate', 'max_tx_rate'))
# What a VF the kernel has just made reports (what an undo of settings on a new VF goes back to).
_NORMAL = {'vlan_proto': '802.1Q', 'qos': 0, 'vlan': 0, 'min_tx_rate': 0, 'max_tx_rate': 0}


def vf_usage(vf, links, addressed):
    """Why a VF counts as in use (empty: it is not)."""
    why = []
    if vf.get('driver') in PASSTHROUGH_DRIVERS:
        why.append('bound to %s (assigned to a VM or user-space program)' % vf['driver'])
    for name in vf.get('netdevs') or []:
        link = links.get(name)
        if link is None:
            continue
        if link['admin_state'] == 'up' and link['index'] in addressed:
            why.append('%s is up with addresses' % name)
        if link.get('master'):
            why.append('%s is enslaved to %s' % (name, link['master']))
        uppers = sorted(lk['name'] for lk in links.values() if lk.get('lower') == name and lk['kind'] in (
            'macvlan', 'macvtap'))
        if uppers:
            why.append('%s carries %s' % (name, ', '.join(uppers)))
    return why


def _vf_line(vf, links, addressed):
    usage = vf_usage(vf, links, addressed)
    return 'vf %d (%s%s%s): %s' % (vf['vf'], vf.get('pci_address'), ', ' + vf['driver'] if vf.get('driver') else '',
                                   ', ' + '/'.join(vf.get('netdevs') or []) if vf.get('netdevs') else '',
                                   '; '.join(usage) if usage else 'not in use')


def _current(values, field):
    value = values.get(field)
    return _NORMAL.get(field) if value is None and field in _NORMAL else value


def plan_sriov(specs, states, vf_now, links, addressed, timeout, persist_dir=persist.DEFAULT_DIR):
    """Per PF: autoprobe, then the count (refused between two non-zero counts unless allow_reset:
    the kernel makes it go through 0), then per-VF settings. Returns a Plan whose objects are the
    PFs (kind 'sriov') for --diff."""
    plan = Plan()
    for spec in specs:
        pf, state = spec['pf'], states[spec['pf']]
        netdev = state.get('name')
        now = vf_now.get(pf, {})
        before = _sriov_view(pf, state, now)
        after = _sriov_view(pf, state, now)
        actions: list = []
        autoprobe = state.get('drivers_autoprobe')
        if spec['drivers_autoprobe'] is not None and spec['drivers_autoprobe'] != autoprobe:
            actions.append(SetAutoprobe(pf, autoprobe, spec['drivers_autoprobe']))
            autoprobe = after['drivers_autoprobe'] = spec['drivers_autoprobe']
        old = state.get('numvfs') or 0
        recreated = spec['num_vfs'] is not None and spec['num_vfs'] != old
        if recreated:
            new = spec['num_vfs']
            if old and new and not spec['allow_reset']:
                lines = [_vf_line(vf, links, addressed) for vf in state.get('vfs') or []]
                raise VifError("%s: changing num_vfs from %d to %d must go through 0, which destroys all %d VFs: %s. "
                               "Set allow_reset: true to do it (per-VF settings in vfs: are applied again afterwards)"
                               % (pf, old, new, old, '; '.join(lines)), obj=pf, field='num_vfs', value=new)
            destroyed = ['vf %d (%s)' % (vf['vf'], vf.get('pci_address')) for vf in state.get('vfs') or []]
            actions.append(SetNumVfs(pf, netdev, old, new, bool(autoprobe), timeout, destroyed,
                                     restore=dict((n, _settable(v)) for n, v in now.items()) if old else None))
            after['numvfs'] = new
            after['vfs'] = dict((n, {}) for n in range(new))
            after['destroyed'] = old
        for vf in spec['vfs']:
            have = {} if recreated else now.get(vf['vf'], {})
            new_values, old_values = {}, {}
            for group in VF_GROUPS:
                wanted = [f for f in group if vf[f] is not None]
                if not wanted:
                    continue
                if not recreated and all(vf[f] == _current(have, f) for f in wanted):
                    continue
                for field in group:  # a group goes whole: the kernel takes vlan+qos+proto, both rates as one
                    new_values[field] = vf[field] if vf[field] is not None else _current(have, field)
                    old_values[field] = _current(have, field)
            if new_values:
                if not netdev:
                    raise VifError("%s: per-VF settings are set over netlink on the PF's interface, and %s has none "
                                   "in this network namespace" % (pf, pf), obj=pf, field='vfs')
                actions.append(SetVf(pf, netdev, vf['vf'], new_values, None if recreated else old_values))
                after['vfs'].setdefault(vf['vf'], {}).update(new_values)
        if actions:
            plan.actions.extend(actions)
            plan.touch(pf, before, after)
        if spec['persist'] == 'systemd-networkd':
            path = persist.link_file_name(persist_dir, state['pci_address'])
            count = spec['num_vfs'] if spec['num_vfs'] is not None else (state.get('numvfs') or 0)
            text = persist.render_sriov_link(state['pci_address'], count, spec['vfs'])
            old_text = persist.read_text(path)
            if text != old_text:
                plan.actions.append(WriteFile(path, old_text, text))
                plan.touch(path, None if old_text is None else {'kind': 'file', 'name': path, 'content': old_text},
                           {'kind': 'file', 'name': path, 'content': text})
    return plan


def _settable(values):
    """The part of a VF's reported settings that can be written back."""
    out = dict((f, values[f]) for f in ('mac', 'spoofchk', 'trust', 'link_state') if values.get(f) is not None)
    if out.get('mac') == '00:00:00:00:00:00':  # no MAC set: nothing to put back
        del out['mac']
    out.update(vlan=values.get('vlan') or 0, qos=values.get('qos') or 0,
               vlan_proto=values.get('vlan_proto') or '802.1Q')
    if values.get('min_tx_rate') is not None or values.get('max_tx_rate') is not None:
        out.update(min_tx_rate=values.get('min_tx_rate') or 0, max_tx_rate=values.get('max_tx_rate') or 0)
    return out


def _sriov_view(pf, state, now):
    return {'kind': 'sriov', 'name': pf, 'numvfs': state.get('numvfs'), 'drivers_autoprobe': state.get(
        'drivers_autoprobe'), 'vfs': dict((n, dict(v)) for n, v in now.items())}
