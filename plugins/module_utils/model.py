# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data model: desired objects built from task arguments, normalised and validated.

Validation happens in two steps, both before anything is touched: ``build_*`` checks what can
be checked from the arguments alone; ``check_against`` checks the specs against the current
kernel state (lower devices exist, MTU limits, passthru exclusivity).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import pwd
import re

from ansible_collections.hostnet.vif.plugins.module_utils.errors import VifError, invalid

MODES = ('vepa', 'bridge', 'private', 'passthru', 'source')
DEFAULT_MODE = 'vepa'  # the kernel's own default for macvlan and macvtap
IFNAMSIZ = 16
MIN_MTU = 68
MAX_MTU = 65535
_MAC_RE = re.compile(r'([0-9a-f]{2})([:-]?)([0-9a-f]{2})(?:\2[0-9a-f]{2}){4}')
# Options a links: entry may carry; top-level values of the same name serve as defaults.
LINK_FIELDS = ('name', 'lower', 'mode', 'mac', 'mtu', 'state', 'admin_state', 'source_macs', 'nopromisc')
DEVICE_FIELDS = ('owner', 'group', 'device_mode')
# Per-link only: a top-level value would give every link the same one.
PER_LINK_ONLY = ('name', 'mac', 'source_macs')


# Characters a name may not contain besides the kernel's own rules: udev and systemd-networkd read
# names as patterns (glob, '!' negation, '|' alternation in udev), and quotes or backslashes change
# how they are parsed.
_NAME_FORBIDDEN = "*?[]!|'\"\\"
_NAME_RULE = ("printable ASCII without whitespace, '/', ':', glob characters (* ? [ ]), '!', '|', quotes or "
              "backslash, and not '.' or '..'")
NAME_MAX = 255  # a namespace name is a file name under /run/netns


def check_name(value, field, obj=None, max_bytes=IFNAMSIZ - 1, what='interface names'):
    """A name that reaches the kernel, a path or a persisted file: plain printable ASCII (no control
    character: the kernel cuts a name at NUL and would act on another device)."""
    if not isinstance(value, str) or not value:
        raise invalid(field, value, "a name (a non-empty string) is required", obj)
    if (value in ('.', '..') or any(not 0x21 <= ord(char) <= 0x7e for char in value)
            or re.search(r'[/:%s]' % re.escape(_NAME_FORBIDDEN), value)):
        raise invalid(field, value, "%s must be %s" % (what, _NAME_RULE), obj)
    if len(value) > max_bytes:
        raise invalid(field, value, "%s are at most %d bytes (this one has %d)" % (what, max_bytes, len(value)), obj)
    return value


def check_ifname(value, field='name', obj=None):
    """The kernel's dev_valid_name() (1-15 bytes, not . or .., no '/', ':' or whitespace), and check_name's
    characters."""
    return check_name(value, field, obj)


def check_netns_name(value):
    """A namespace name as `ip netns` makes them (a file under /run/netns), never a path."""
    return check_name(value, 'netns', max_bytes=NAME_MAX, what='network namespace names')


def normalise_mac(value, field='mac', obj=None):
    """Lower-case, colon-separated; unicast and not all-zero (the kernel's is_valid_ether_addr)."""
    text = value.lower() if isinstance(value, str) else ''
    if not _MAC_RE.fullmatch(text):
        raise invalid(field, value, "expected a MAC address like 02:00:5e:10:00:01", obj)
    octets = re.findall(r'[0-9a-f]{2}', text)
    if int(octets[0], 16) & 1:
        raise invalid(field, value, "a multicast MAC address (lowest bit of the first octet set) cannot be a "
                      "link's address; use a unicast address, e.g. a locally administered 02:xx:xx:xx:xx:xx", obj)
    if all(o == '00' for o in octets):
        raise invalid(field, value, "the all-zero MAC address is not a valid unicast address", obj)
    return ':'.join(octets)


def to_bool(value, field, obj=None):
    """Booleans as Ansible accepts them (links entries are not coerced by AnsibleModule)."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = value.lower() if isinstance(value, str) else repr(value)  # no surrounding whitespace
    if text in ('yes', 'on', '1', 'true', 'y', 't'):
        return True
    if text in ('no', 'off', '0', 'false', 'n', 'f', ''):
        return False
    raise invalid(field, value, "expected a boolean", obj)


def check_mtu(value, obj=None):
    return whole_number(value, 'mtu', MIN_MTU, MAX_MTU, obj)


def whole_number(value, field, low, high, obj=None):
    """An int, or a string of ASCII digits (no sign, no whitespace: int() would take ' 1500', '+1' and
    Arabic-Indic digits), within low..high."""
    why = "expected a whole number from %d to %d" % (low, high)
    if isinstance(value, str) and re.fullmatch(r'[0-9]+', value):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise invalid(field, value, why, obj)
    if not low <= number <= high:
        raise invalid(field, value, why, obj)
    return number


def check_seconds(value, field, low, high):
    """A duration: a number (not a boolean, not NaN) from low to high seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise invalid(field, value, "expected a number of seconds from %s to %s" % (low, high))
    return float(value)


MAX_ID = 4294967294  # uid_t/gid_t; 4294967295 is (uid_t)-1, "unset"


def _resolve(value, field, lookup, what, obj):
    """A user or group name (or number) as its numeric id, checked on the target host."""
    if value is None:
        return None
    if isinstance(value, int) or (isinstance(value, str) and re.fullmatch(r'[0-9]+', value)):
        return whole_number(value, field, 0, MAX_ID, obj)
    if not isinstance(value, str) or not value or any(not 0x21 <= ord(char) <= 0x7e for char in value):
        raise invalid(field, value, "expected a %s name (printable ASCII, no whitespace) or a number from 0 to %d"
                      % (what, MAX_ID), obj)
    try:
        return lookup(value)[2]
    except KeyError:
        raise invalid(field, value, "no such %s on the target host" % what, obj) from None


def resolve_user(value, obj=None):
    return _resolve(value, 'owner', pwd.getpwnam, 'user', obj)


def resolve_group(value, obj=None):
    return _resolve(value, 'group', grp.getgrnam, 'group', obj)


def normalise_file_mode(value, obj=None):
    if value is None:
        return None
    text = value if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        text = '%o' % value  # YAML reads an unquoted 0660 as the octal number 432
    if text is None or not re.fullmatch(r'0?[0-7]{3}', text):
        raise invalid('device_mode', value, "expected an octal permission string like '0660'", obj)
    return '%04o' % int(text, 8)


def task_entries(params, list_key, one_key, noun, fields, per_entry_only=(), bare_names=False):
    """The objects a task declares: the entries of ``list_key``, or one object made of the top-level
    options when ``one_key`` is given instead. Each entry must be a dictionary of known ``fields``
    (or, with ``bare_names``, just a name: {'name': entry}); top-level values are defaults for what
    an entry leaves out. Returns (position or None, merged)."""
    entries = params.get(list_key)
    if entries is not None and params.get(one_key) is not None:
        raise VifError("give either %s (one %s) or %s (a list), not both" % (one_key, noun, list_key), field=list_key)
    if entries is None:
        if params.get(one_key) is None:
            raise VifError("%s (one %s) or %s (a list) is required" % (one_key, noun, list_key), field=one_key)
        return [(None, dict((k, params.get(k)) for k in fields))]
    if not isinstance(entries, list):
        raise invalid(list_key, entries, "expected a list of %s entries" % noun)
    for field in per_entry_only:
        if params.get(field) is not None:
            raise invalid(field, params[field], "is per %s: set it inside each %s: entry" % (noun, list_key))
    merged = []
    for position, entry in enumerate(entries):
        where = '%s[%d]' % (list_key, position)
        if bare_names and isinstance(entry, str):
            entry = {'name': entry}
        if not isinstance(entry, dict):
            raise invalid(where, entry, "each entry must be a %sdictionary of %s options"
                          % ('name or a ' if bare_names else '', noun))
        unknown = sorted(set(entry) - set(fields))
        if unknown:
            raise invalid(where, unknown[0], "unknown option for a %s; valid options: %s" % (noun, ', '.join(fields)))
        merged.append((position, dict((k, entry.get(k) if entry.get(k) is not None else params.get(k))
                                      for k in fields)))
    return merged


def reject_duplicates(specs, key, field=None):
    """``specs`` unchanged, or the error naming ``field`` (default: ``key``) of the second spec with the same key."""
    seen = set()
    for spec in specs:
        if spec[key] in seen:
            raise invalid(field or key, spec[key], "appears twice in this task")
        seen.add(spec[key])
    return specs


def build_link_specs(params, kind):
    """Task arguments -> list of link specs (dicts). One link (top-level name) or many (links:)."""
    allowed = LINK_FIELDS + (DEVICE_FIELDS if kind == 'macvtap' else ())
    if params.get('links') is None and params.get('name') is None and params.get('purge'):
        return []  # purge alone: remove every link of this kind on the lower device
    entries = task_entries(params, 'links', 'name', '%s link' % kind, allowed, PER_LINK_ONLY)
    return reject_duplicates([_link_spec(merged, kind, position) for position, merged in entries], 'name')


def _link_spec(entry, kind, position):
    name = check_ifname(entry.get('name'), 'name' if position is None else 'links[%d].name' % position)
    state = entry.get('state') or 'present'
    if state not in ('present', 'absent'):
        raise invalid('state', state, "expected present or absent", name)
    spec = {'name': name, 'kind': kind, 'state': state}
    lower = entry.get('lower')
    if lower is None and state == 'present':
        raise VifError("%s: lower is required (the device the %s sits on)" % (name, kind), obj=name, field='lower')
    spec['lower'] = None if lower is None else check_ifname(lower, 'lower', name)
    if lower is not None and spec['lower'] == name:
        raise invalid('lower', lower, "a link cannot be its own lower device", name)
    for field in ('lower', 'mode', 'mac', 'state', 'admin_state'):
        if entry.get(field) is not None and not isinstance(entry[field], str):
            raise invalid(field, entry[field], "expected a string", name)
    mode = entry.get('mode') or DEFAULT_MODE
    if mode not in MODES:
        raise invalid('mode', mode, "expected one of %s" % ', '.join(MODES), name)
    spec['mode'] = mode
    spec['mac'] = normalise_mac(entry['mac'], 'mac', name) if entry.get('mac') else None
    spec['mtu'] = check_mtu(entry['mtu'], name) if entry.get('mtu') is not None else None
    admin_state = entry.get('admin_state') or 'up'
    if admin_state not in ('up', 'down'):
        raise invalid('admin_state', admin_state, "expected up or down", name)
    spec['admin_state'] = admin_state
    nopromisc = to_bool(entry.get('nopromisc'), 'nopromisc', name)
    if nopromisc and mode != 'passthru':
        raise invalid('nopromisc', True, "only applies to mode passthru (mode is %s)" % mode, name)
    spec['nopromisc'] = nopromisc
    sources = entry.get('source_macs')
    if sources is not None and not isinstance(sources, (list, tuple)):
        raise invalid('source_macs', sources, "expected a list of MAC addresses", name)
    if sources is not None and mode != 'source':
        raise invalid('source_macs', sources, "only applies to mode source (mode is %s)" % mode, name)
    if mode == 'source':
        sources = sorted(set(normalise_mac(m, 'source_macs', name) for m in (sources or [])))
    spec['source_macs'] = sources if mode == 'source' else None
    if kind == 'macvtap':
        spec['owner'] = resolve_user(entry.get('owner'), name)
        spec['group'] = resolve_group(entry.get('group'), name)
        spec['device_mode'] = normalise_file_mode(entry.get('device_mode'), name)
    if state == 'absent':
        # every field it gives was validated above; removing a link needs only its name
        return {'name': name, 'kind': kind, 'state': state}
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


def build_hairpin_specs(params):
    specs = []
    for position, entry in task_entries(params, 'ports', 'name', 'bridge port', ('name', 'hairpin'),
                                        bare_names=True):
        name = check_ifname(entry['name'], 'name' if position is None else 'ports[%s].name' % position)
        hairpin = True if entry['hairpin'] is None else to_bool(entry['hairpin'], 'hairpin', name)
        specs.append({'name': name, 'hairpin': hairpin})
    return reject_duplicates(specs, 'name')


def check_hairpin_against(specs, current):
    for spec in specs:
        port = current.get(spec['name'])
        if port is None:
            raise invalid('name', spec['name'], "no such device in this network namespace", spec['name'])
        if port.get('hairpin') is None:
            master = port.get('master')
            raise invalid('name', spec['name'], "is not a port of a Linux bridge%s" %
                          (" (its master %s is not a bridge)" % master if master else " (it has no master)"),
                          spec['name'])


# -- tun/tap --------------------------------------------------------------------------------------

TAP_FIELDS = ('name', 'state', 'mode', 'owner', 'group', 'multi_queue', 'vnet_hdr', 'packet_info', 'bridge',
              'mtu', 'mac', 'admin_state')
TAP_FLAGS = ('multi_queue', 'vnet_hdr', 'packet_info')
# The kernel refuses to attach with a different type or multi-queue flag (EINVAL), so these are
# fixed when the device is made; vnet_hdr and packet_info follow whoever attaches (TUNSETIFF).
TAP_FIXED = ('mode', 'multi_queue')


def build_tap_specs(params):
    """Task arguments -> tap specs. One device (top-level name) or many (taps:)."""
    entries = task_entries(params, 'taps', 'name', 'tap device', TAP_FIELDS, ('name', 'mac'))
    return reject_duplicates([_tap_spec(merged, position) for position, merged in entries], 'name')


def _tap_spec(entry, position):
    name = check_ifname(entry.get('name'), 'name' if position is None else 'taps[%d].name' % position)
    state = entry.get('state') or 'present'
    if state not in ('present', 'absent'):
        raise invalid('state', state, "expected present or absent", name)
    spec = {'name': name, 'kind': 'tun', 'state': state}
    # mode and flags: omitted means "as it is" for an existing device, tap / off for a new one.
    mode = entry.get('mode')
    if mode not in (None, 'tap', 'tun'):
        raise invalid('mode', mode, "expected tap (Ethernet frames) or tun (IP packets)", name)
    spec['mode'] = mode
    spec['owner'] = resolve_user(entry.get('owner'), name)
    spec['group'] = resolve_group(entry.get('group'), name)
    for flag in TAP_FLAGS:
        spec[flag] = None if entry.get(flag) is None else to_bool(entry.get(flag), flag, name)
    if mode == 'tun' and entry.get('mac'):
        raise invalid('mac', entry['mac'], "a tun device carries IP packets and has no MAC address", name)
    spec['mac'] = normalise_mac(entry['mac'], 'mac', name) if entry.get('mac') else None
    spec['mtu'] = check_mtu(entry['mtu'], name) if entry.get('mtu') is not None else None
    bridge = entry.get('bridge')
    spec['bridge'] = None if bridge is None else (check_ifname(bridge, 'bridge', name) if bridge else '')
    if mode == 'tun' and spec['bridge']:
        raise invalid('bridge', bridge, "a tun device carries IP packets and cannot be a bridge port "
                      "(set bridge: '' for this entry)", name)
    admin_state = entry.get('admin_state') or 'up'
    if admin_state not in ('up', 'down'):
        raise invalid('admin_state', admin_state, "expected up or down", name)
    spec['admin_state'] = admin_state
    if state == 'absent':
        # every field it gives was validated above; removing a device needs only its name
        return {'name': name, 'kind': 'tun', 'state': state}
    return spec


def check_taps_against(specs, current):
    for spec in specs:
        existing = current.get(spec['name'])
        if existing and existing['kind'] != 'tun' and spec['state'] == 'present':
            raise VifError("%s: a link named %s already exists and is a %s, not a tun/tap device; choose another "
                           "name or remove it first" % (spec['name'], spec['name'], existing['kind'] or 'plain device'),
                           obj=spec['name'], field='name', value=spec['name'])
        bridge = spec.get('bridge')
        if bridge:
            found = current.get(bridge)
            if found is None:
                raise invalid('bridge', bridge, "no such device in this network namespace", spec['name'])
            if found['kind'] != 'bridge':
                raise invalid('bridge', bridge, "is a %s, not a Linux bridge" % (found['kind'] or 'plain device'),
                              spec['name'])


# -- SR-IOV ---------------------------------------------------------------------------------------

SRIOV_FIELDS = ('pf', 'num_vfs', 'drivers_autoprobe', 'vfs', 'allow_reset', 'persist')
PERSIST_CHOICES = ('none', 'systemd-networkd')
VF_FIELDS = ('vf', 'mac', 'vlan', 'qos', 'vlan_proto', 'spoofchk', 'trust', 'link_state', 'min_tx_rate',
             'max_tx_rate')
VF_LINK_STATE_NAMES = ('auto', 'enable', 'disable')
VLAN_PROTO_NAMES = ('802.1Q', '802.1ad')


# domain:bus:device.function as sysfs names PCI devices (the kernel prints the domain with %04x, so
# domains above ffff, such as Intel VMD's 10000, have 5 to 8 digits and no leading zero; device
# 00-1f, function 0-7), lower-case hex
PCI_ADDRESS_RE = re.compile(r'(?:[0-9a-f]{4}|[1-9a-f][0-9a-f]{4,7}):[0-9a-f]{2}:[01][0-9a-f]\.[0-7]')


def check_pf(value):
    """A PF by interface name, or by PCI address (anything with ':' is meant as one: names cannot have it)."""
    if isinstance(value, str) and ':' in value:
        address = value.lower()
        if not PCI_ADDRESS_RE.fullmatch(address):
            raise invalid('pf', value, "expected a PCI address as dddd:bb:dd.f in hexadecimal as sysfs names it "
                          "(domain of 4 digits, or 5 to 8 without a leading zero; 2-digit bus; device 00-1f; "
                          "function 0-7), such as 0000:03:00.0, or an interface name")
        return address
    return check_ifname(value, 'pf')


def build_sriov_specs(params):
    """Task arguments -> one spec per PF (by netdev name or PCI address). Top-level num_vfs,
    drivers_autoprobe, allow_reset and persist are defaults for pfs: entries; vfs: is per PF."""
    specs = []
    for _position, merged in task_entries(params, 'pfs', 'pf', 'physical function', SRIOV_FIELDS, ('vfs',)):
        pf = check_pf(merged['pf'])
        count = merged.get('num_vfs')
        spec = {'pf': pf, 'allow_reset': to_bool(merged.get('allow_reset'), 'allow_reset', pf),
                'num_vfs': None if count is None else whole_number(count, 'num_vfs', 0, 65535, pf),
                'drivers_autoprobe': None if merged.get('drivers_autoprobe') is None else to_bool(
                    merged['drivers_autoprobe'], 'drivers_autoprobe', pf),
                'vfs': _vf_specs(merged.get('vfs') or [], pf),
                'persist': merged.get('persist') or 'none'}
        if spec['persist'] not in PERSIST_CHOICES:
            raise invalid('persist', spec['persist'], "expected none or systemd-networkd", pf)
        specs.append(spec)
    if params.get('persist_dir') is not None:
        check_directory(params['persist_dir'], 'persist_dir')
    return reject_duplicates(specs, 'pf')


def check_directory(value, field):
    """A directory root writes files into: an absolute path of printable ASCII, without '..' (where the
    files land must be what the task says; a NUL or newline would fail or mislead later)."""
    if (not isinstance(value, str) or not value.startswith('/') or '..' in value.split('/')
            or any(not 0x20 <= ord(char) <= 0x7e for char in value)):
        raise invalid(field, value, "expected an absolute directory path of printable ASCII characters, without '..'")
    return value


def _vf_specs(entries, pf):
    if not isinstance(entries, list):
        raise invalid('vfs', entries, "expected a list of dictionaries, each with vf and its settings", pf)
    vfs, seen = [], set()
    for position, entry in enumerate(entries):
        where = 'vfs[%d]' % position
        if not isinstance(entry, dict):
            raise invalid(where, entry, "each entry must be a dictionary with vf and its settings", pf)
        unknown = sorted(set(entry) - set(VF_FIELDS))
        if unknown:
            raise invalid(where, unknown[0], "unknown option; valid options: %s" % ', '.join(VF_FIELDS), pf)
        if entry.get('vf') is None:
            raise invalid(where + '.vf', None, "the VF number is required", pf)
        vf = {'vf': whole_number(entry['vf'], 'vf', 0, 65535, pf)}
        if vf['vf'] in seen:
            raise invalid('vf', vf['vf'], "appears twice for this PF", pf)
        seen.add(vf['vf'])
        name = '%s vf %d' % (pf, vf['vf'])
        vf['mac'] = normalise_mac(entry['mac'], 'mac', name) if entry.get('mac') is not None else None
        vf['vlan'] = None if entry.get('vlan') is None else whole_number(entry['vlan'], 'vlan', 0, 4095, name)
        vf['qos'] = None if entry.get('qos') is None else whole_number(entry['qos'], 'qos', 0, 7, name)
        proto = entry.get('vlan_proto')
        if proto is not None and proto not in VLAN_PROTO_NAMES:
            raise invalid('vlan_proto', proto, "expected 802.1Q or 802.1ad", name)
        vf['vlan_proto'] = proto
        if (vf['qos'] or proto == '802.1ad') and not vf['vlan']:
            raise invalid('qos' if vf['qos'] else 'vlan_proto', vf['qos'] or proto,
                          "needs a VLAN (vlan 1-4095): the kernel applies QoS and the protocol to a VLAN tag", name)
        for flag in ('spoofchk', 'trust'):
            vf[flag] = None if entry.get(flag) is None else to_bool(entry[flag], flag, name)
        state = entry.get('link_state')
        if state is not None and state not in VF_LINK_STATE_NAMES:
            raise invalid('link_state', state, "expected auto, enable or disable", name)
        vf['link_state'] = state
        for rate in ('min_tx_rate', 'max_tx_rate'):
            vf[rate] = None if entry.get(rate) is None else whole_number(entry[rate], rate, 0, 4294967295, name)
        if vf['min_tx_rate'] and vf['max_tx_rate'] and vf['min_tx_rate'] > vf['max_tx_rate']:
            raise invalid('min_tx_rate', vf['min_tx_rate'], "is above max_tx_rate (%d Mbit/s); 0 means no limit"
                          % vf['max_tx_rate'], name)
        vfs.append(vf)
    return sorted(vfs, key=lambda v: v['vf'])


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
