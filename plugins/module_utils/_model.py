# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules every kind shares: names, namespaces, MACs, numbers, owners, PCI addresses, task
entries and duplicates. Each kind's handler (module_utils/_kinds) builds its specs with them
(``build_*``: what can be checked from the arguments alone) and checks them against the kernel
state, both before anything is touched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import pwd
import re

from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid

IFNAMSIZ = 16
MIN_MTU = 68
MAX_MTU = 65535
_MAC_RE = re.compile(r'([0-9a-f]{2})([:-]?)([0-9a-f]{2})(?:\2[0-9a-f]{2}){4}')


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


def check_mtu(value, field='mtu', obj=None):
    return whole_number(value, field, MIN_MTU, MAX_MTU, obj)


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


def resolve_user(value, field='owner', obj=None):
    return _resolve(value, field, pwd.getpwnam, 'user', obj)


def resolve_group(value, field='group', obj=None):
    return _resolve(value, field, grp.getgrnam, 'group', obj)


def normalise_file_mode(value, field='device_mode', obj=None):
    if value is None:
        return None
    text = value if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        text = '%o' % value  # YAML reads an unquoted 0660 as the octal number 432
    if text is None or not re.fullmatch(r'0?[0-7]{3}', text):
        raise invalid(field, value, "expected an octal permission string like '0660'", obj)
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


def check_directory(value, field):
    """A directory root writes files into: an absolute path of printable ASCII, without '..' (where the
    files land must be what the task says; a NUL or newline would fail or mislead later)."""
    if (not isinstance(value, str) or not value.startswith('/') or '..' in value.split('/')
            or any(not 0x20 <= ord(char) <= 0x7e for char in value)):
        raise invalid(field, value, "expected an absolute directory path of printable ASCII characters, without '..'")
    return value
