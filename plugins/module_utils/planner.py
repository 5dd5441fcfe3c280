# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: desired specs + current kernel state -> an ordered list of actions, plus the
predicted state after them. Pure data work, no kernel access: the same plan feeds check mode,
--diff, the ``actions`` result and the undo journal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils.apply import (
    AddLink, AddTap, ChangeLink, ChangeTap, DeleteLinks, SetAutoprobe, SetDeviceOwner, SetHairpin, SetNumVfs, SetVf,
    WriteFile, tap_from_state)
from ansible_collections.hostnet.vif.plugins.module_utils import persist
from ansible_collections.hostnet.vif.plugins.module_utils.errors import VifError
from ansible_collections.hostnet.vif.plugins.module_utils.model import TAP_FIXED, TAP_FLAGS

# Fields changeable in place; a spec value of None means "not managed".
IN_PLACE = ('mode', 'mac', 'mtu', 'source_macs', 'admin_state')


class Plan:
    def __init__(self):
        self.actions = []
        self.before = {}     # name -> state before (only objects the plan touches)
        self.after = {}      # name -> predicted state after (None: gone)

    def touch(self, name, before, after):
        self.before.setdefault(name, before)
        self.after[name] = after


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
    want = {'uid': spec.get('owner'), 'gid': spec.get('group'), 'mode': spec.get('device_mode')}
    have = device or {}
    return dict((k, v) for k, v in want.items() if v is not None and have.get(k) != v)


def _predict(spec, cur):
    link = dict(cur or {})
    link.update({'name': spec['name'], 'kind': spec['kind'], 'lower': spec['lower'], 'mode': spec['mode'],
                 'nopromisc': spec['nopromisc'], 'admin_state': spec['admin_state'],
                 'source_macs': spec['source_macs'] if spec['mode'] == 'source' else []})
    for field in ('mac', 'mtu'):
        if spec[field] is not None:
            link[field] = spec[field]
    if spec['kind'] == 'macvtap':
        device = dict(link.get('device') or {})
        for field, key in (('owner', 'uid'), ('group', 'gid'), ('device_mode', 'mode')):
            if spec.get(field) is not None:
                device[key] = spec[field]
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
    macvtaps by name ({'uid','gid','mode',...}); only needed where a spec manages ownership."""
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
        if cur is not None and kind == 'macvtap':
            cur = dict(cur, device=devices.get(name))
        after = _predict(spec, cur)
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
            if kind == 'macvtap':
                owner = dict((k, v) for k, v in (after.get('device') or {}).items() if k in ('uid', 'gid', 'mode'))
                if owner:  # re-apply ownership (the managed one, else the one the old device had)
                    owners.append(SetDeviceOwner(name, owner.get('uid'), owner.get('gid'), owner.get('mode')))
            plan.touch(name, cur, new)
            continue
        diffs = {}
        for field in IN_PLACE:
            want = spec[field] if field != 'source_macs' else (spec['source_macs'] if spec['mode'] == 'source'
                                                               else None)
            have = cur.get(field)
            if want is not None and want != have:
                diffs[field] = (have, want)
        if diffs:
            changes.append(ChangeLink(cur, diffs))
        owner = _owner_changes(spec, cur.get('device')) if kind == 'macvtap' else {}
        if owner:
            owners.append(SetDeviceOwner(name, owner.get('uid'), owner.get('gid'), owner.get('mode')))
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
        if spec['kind'] == 'macvtap' and _owner_changes(spec, None):
            owners.append(SetDeviceOwner(spec['name'], spec.get('owner'), spec.get('group'), spec.get('device_mode')))
    plan.actions.extend(changes)
    plan.actions.extend(owners)
    return plan


def plan_hairpin(specs, current):
    plan = Plan()
    for spec in specs:
        port = current[spec['name']]
        if port['hairpin'] != spec['hairpin']:
            plan.actions.append(SetHairpin(port, spec['hairpin']))
            plan.touch(spec['name'], port, dict(port, hairpin=spec['hairpin']))
    return plan


TAP_IN_PLACE = ('owner', 'group', 'vnet_hdr', 'packet_info', 'mtu', 'mac', 'bridge', 'admin_state')


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


# -- SR-IOV ---------------------------------------------------------------------------------------

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
