# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration files that make kernel state survive a reboot (rendered here from validated specs,
written by the WriteFile action with undo): systemd .link files for SR-IOV VF counts and per-VF
settings (systemd.link(5)); for hostnet.vif.profile, systemd-networkd .netdev/.network files of
macvlan, macvtap, ipvlan, ipvtap and tap devices and their lower devices, and the udev rules that own
macvtap/ipvtap character devices."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import os
import re
import stat

from ansible_collections.hostnet.vif.plugins.module_utils import _nofollow as nofollow
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

HEADER = '# Managed by hostnet.vif (Ansible): edits here are overwritten.\n'
DEFAULT_DIR = '/etc/systemd/network'
# A .link file that matches a device replaces 99-default.link for it, so the default naming
# policies are repeated here (as systemd 252's 99-default.link has them).
DEFAULT_POLICIES = (('NamePolicy', 'keep kernel database onboard slot path'),
                    ('AlternativeNamesPolicy', 'database onboard slot path'),
                    ('MACAddressPolicy', 'persistent'))
LINK_STATE = {'auto': 'auto', 'enable': 'yes', 'disable': 'no'}
# per-VF settings systemd.link has no key for
NOT_PERSISTABLE = ('min_tx_rate', 'max_tx_rate')


def link_file_name(directory, pci_address):
    return os.path.join(directory, '70-hostnet-vif-sriov-%s.link' % pci_address.replace(':', '-'))


def render_sriov_link(pci_address, num_vfs, vfs):
    """The .link file for a PF (matched by its PCI path, which survives renames) with its VF count
    and the per-VF settings systemd can apply. ``vfs``: the module's VF specs."""
    lines = [HEADER.rstrip('\n'), '[Match]', 'Path=pci-%s' % pci_address, '', '[Link]']
    lines += ['%s=%s' % pair for pair in DEFAULT_POLICIES]
    lines.append('SR-IOVVirtualFunctions=%d' % num_vfs)
    for vf in vfs:
        section = ['', '[SR-IOV]', 'VirtualFunction=%d' % vf['vf']]
        if vf.get('mac'):
            section.append('MACAddress=%s' % vf['mac'])
        if vf.get('vlan') is not None:
            section.append('VLANId=%d' % vf['vlan'])
        if vf.get('qos') is not None:
            section.append('QualityOfService=%d' % vf['qos'])
        if vf.get('vlan_proto'):
            section.append('VLANProtocol=%s' % vf['vlan_proto'])
        if vf.get('spoofchk') is not None:
            section.append('MACSpoofCheck=%s' % ('yes' if vf['spoofchk'] else 'no'))
        if vf.get('trust') is not None:
            section.append('Trust=%s' % ('yes' if vf['trust'] else 'no'))
        if vf.get('link_state'):
            section.append('LinkState=%s' % LINK_STATE[vf['link_state']])
        if len(section) > 3:
            lines += section
    return '\n'.join(lines) + '\n'


FILE_MODE = 0o644
DIR_MODE = 0o755


def read_text(path):
    """The file's text, or None when it (or its directory) does not exist. The directory must be
    root's alone (nofollow.open_dir) and the file a regular file: a symbolic link is refused, never
    read through (its target could be any file of the host, shown by --diff)."""
    with nofollow.directory(os.path.dirname(path), field='persist_dir') as dir_fd:
        if dir_fd is None:
            return None
        try:
            fd = os.open(os.path.basename(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=dir_fd)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise VifError("%s is a symbolic link: refusing to read or replace it (remove it first)" % path,
                               obj=path) from None
            raise
    with os.fdopen(fd, 'rb') as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise VifError("%s is not a regular file: refusing to read or replace it" % path, obj=path)
        return handle.read().decode('utf-8', 'replace')


def write_text(path, text):
    """Atomic replace; None removes the file. The text goes to an exclusive temporary file of a
    random name (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644 whatever the umask) in the same directory,
    reached without following a symbolic link; it is flushed to disk, renamed over the file, and
    the directory is flushed. Removing unlinks the name itself (a symbolic link is never followed)."""
    name = os.path.basename(path)
    with nofollow.directory(os.path.dirname(path), DIR_MODE, field='persist_dir') as dir_fd:
        if text is None:
            try:
                os.unlink(name, dir_fd=dir_fd)
            except FileNotFoundError:
                return
            os.fsync(dir_fd)
            return
        temp = '.%s.%s.tmp' % (name, _random_suffix())
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE,
                     dir_fd=dir_fd)
        try:
            with os.fdopen(fd, 'wb') as handle:
                os.fchmod(handle.fileno(), FILE_MODE)  # open's mode went through the umask
                handle.write(text.encode('utf-8'))
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(temp, dir_fd=dir_fd)
            except OSError:
                pass
            raise
        os.fsync(dir_fd)


def _random_suffix():
    return binascii.hexlify(os.urandom(8)).decode()


# -- a host profile's systemd-networkd files and macvtap udev rule ----------------------------------
# Rendered from the handlers' validated, normalised specs (names already refused by model.check_name
# when udev or networkd would read them as patterns), byte for byte what the host_profile role's
# templates wrote where those were right, so hosts upgraded from the role see no change.

PROFILE_PREFIX = '70-hostnet-vif-'
DEFAULT_UDEV_DIR = '/etc/udev/rules.d'
UDEV_RULES_NAME = PROFILE_PREFIX + 'macvtap.rules'
_ROLE_HEADER = '# Managed by hostnet.vif (Ansible, role host_profile): edits here are overwritten.\n'
# A user or group as udev (OWNER=, GROUP=) and networkd (User=, Group=) take it: a plain name or a number.
_ID_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_.-]{0,31}|[0-9]{1,10}')


def profile_file_name(directory, name, suffix):
    return os.path.join(directory, PROFILE_PREFIX + name + suffix)


def persisted_id(value, field, obj):
    """An owner or group as written to a file: the validated name as given, or its number in ASCII
    digits (``value`` is what the task gave, already resolved on the target by the handler)."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ID_RE.fullmatch(text):
        raise VifError("%s: %s=%r cannot be written to a udev rule or networkd file: expected a user or group "
                       "name of letters, digits, '_', '.', '-' (not starting with a digit or '-') or a number"
                       % (obj, field, value), obj=obj, field=field, value=value)
    return str(int(text)) if text.isdigit() else text


# systemd.netdev(5): [IPVLAN]/[IPVTAP] Mode= takes L2, L3, L3S (upper case, as networkd's table spells them);
# Flags= takes bridge, private, vepa as the kernel's words are.
IPVL_KINDS = ('ipvlan', 'ipvtap')
_IPVL_MODES = {'l2': 'L2', 'l3': 'L3', 'l3s': 'L3S'}
_IPVL_FLAGS = ('bridge', 'private', 'vepa')


def render_link_netdev(spec):
    """The .netdev of a macvlan/macvtap (systemd.netdev(5): [NetDev], [MACVLAN]/[MACVTAP]) or of an
    ipvlan/ipvtap ([IPVLAN]/[IPVTAP] with its mode and flag; no MACAddress=: it has its lower device's)."""
    lines = [_ROLE_HEADER + '[NetDev]', 'Name=%s' % spec['name'], 'Kind=%s' % spec['kind']]
    if spec.get('mac'):
        lines.append('MACAddress=%s' % spec['mac'])
    if spec.get('mtu'):
        lines.append('MTUBytes=%d' % spec['mtu'])
    lines += ['', '[%s]' % spec['kind'].upper()]
    if spec['kind'] in IPVL_KINDS:
        if spec['mode'] not in _IPVL_MODES or spec['flag'] not in _IPVL_FLAGS:  # the handler's choices
            raise VifError("%s: mode %r / flag %r cannot be written to a .netdev" % (spec['name'], spec['mode'],
                                                                                     spec['flag']), obj=spec['name'])
        lines += ['Mode=%s' % _IPVL_MODES[spec['mode']], 'Flags=%s' % spec['flag']]
        return '\n'.join(lines) + '\n'
    lines.append('Mode=%s' % spec['mode'])
    if spec.get('source_macs'):
        lines.append('SourceMACAddress=%s' % ' '.join(spec['source_macs']))
    return '\n'.join(lines) + '\n'


def render_link_network(spec):
    """A link's .network: its admin state at boot, nothing else of its own."""
    name = spec['name']
    return (_ROLE_HEADER +
            '# Brings %s up (or keeps it down) at boot as the profile says, and configures nothing else\n'
            '# of its own. To give it addresses, put them in a drop-in: %s%s.network.d/*.conf\n'
            '[Match]\nName=%s\n\n[Link]\nActivationPolicy=%s\n'
            % (name, PROFILE_PREFIX, name, name, 'down' if spec['admin_state'] == 'down' else 'up'))


def render_lower_network(lower, specs):
    """The lower device's .network attaching its links (MACVLAN=, MACVTAP=, IPVLAN=, IPVTAP=), in the
    profile's order."""
    families = [family for family, kinds in (('macvlan/macvtap', ('macvlan', 'macvtap')), ('ipvlan/ipvtap', IPVL_KINDS))
                if any(spec['kind'] in kinds for spec in specs)]
    return (_ROLE_HEADER +
            "# Attaches the profile's %s links to %s at boot. systemd-networkd applies\n"
            "# only the first .network file (in lexical order) that matches a device: if another file already\n"
            "# matches %s, put these lines into a drop-in of that file instead.\n"
            "[Match]\nName=%s\n\n[Network]\n" % (' and '.join(families), lower, lower, lower)
            + ''.join('%s=%s\n' % (spec['kind'].upper(), spec['name']) for spec in specs))


def render_tap_netdev(spec, owner, group):
    """A tun/tap device's .netdev ([Tap]/[Tun]); ``owner``/``group`` as persisted_id gives them."""
    mode = spec.get('mode') or 'tap'
    lines = [_ROLE_HEADER + '[NetDev]', 'Name=%s' % spec['name'], 'Kind=%s' % mode]
    if spec.get('mac'):
        lines.append('MACAddress=%s' % spec['mac'])
    if spec.get('mtu'):
        lines.append('MTUBytes=%d' % spec['mtu'])
    lines += ['', '[%s]' % mode.capitalize()]
    if owner is not None:
        lines.append('User=%s' % owner)
    if group is not None:
        lines.append('Group=%s' % group)
    lines += ['%s=%s' % (key, 'yes' if spec.get(flag) else 'no') for key, flag in (
        ('MultiQueue', 'multi_queue'), ('VNetHeader', 'vnet_hdr'), ('PacketInfo', 'packet_info'))]
    return '\n'.join(lines) + '\n'


def render_tap_network(spec):
    name, bridge = spec['name'], spec.get('bridge')
    text = (_ROLE_HEADER + '# Brings %s up (or keeps it down) at boot as the profile says%s.\n'
            '# To configure more, put it in a drop-in: %s%s.network.d/*.conf\n'
            '[Match]\nName=%s\n\n[Link]\nActivationPolicy=%s\n'
            % (name, ', as a port of %s' % bridge if bridge else '', PROFILE_PREFIX, name, name,
               'down' if spec['admin_state'] == 'down' else 'up'))
    if bridge:
        text += '\n[Network]\nBridge=%s\n' % bridge
    return text


def render_chardev_rules(kind, rules):
    """The udev rule file of a tap kind's character devices (``kind``: macvtap or ipvtap, the class, so the
    SUBSYSTEM udev sees, of their /dev/tapN); ``rules``: (name, owner, group, device_mode) per present link,
    owner and group as persisted_id gives them, device_mode the four-digit octal string
    model.normalise_file_mode makes. Each rule matches the character device whose parent is the net device
    of that name (SUBSYSTEMS=="net" and KERNELS== on the same parent), never another link's /dev/tapN."""
    if kind not in ('macvtap', 'ipvtap'):
        raise VifError("no udev rule for the character devices of kind %r" % kind, obj=kind)
    text = (_ROLE_HEADER +
            "# Ownership of the %s character devices (/dev/tapN) each time they appear. Each rule matches the\n"
            "# device whose parent is the net device of that name (SUBSYSTEMS==\"net\" and KERNELS== on the same\n"
            "# parent): never another %s's /dev/tapN that happens to carry the name (a link named tap7).\n"
            % (kind, kind))
    for name, owner, group, mode in rules:
        words = ['SUBSYSTEM=="%s"' % kind, 'SUBSYSTEMS=="net"', 'KERNELS=="%s"' % name]
        if owner is not None:
            words.append('OWNER="%s"' % owner)
        if group is not None:
            words.append('GROUP="%s"' % group)
        if mode is not None:
            if not re.fullmatch(r'0[0-7]{3}', mode):  # never "432": udev reads MODE= as octal
                raise VifError("%s: device_mode %r is not a four-digit octal string" % (name, mode), obj=name)
            words.append('MODE="%s"' % mode)
        text += ', '.join(words) + '\n'
    return text


def list_profile_files(directory, suffixes=('.netdev', '.network')):
    """Names of this collection's profile files in ``directory`` (none when it is missing), read
    through a descriptor of the directory reached without following a symbolic link."""
    with nofollow.directory(directory, field='persist_dir') as dir_fd:
        if dir_fd is None:
            return []
        return sorted(name for name in os.listdir(dir_fd)
                      if name.startswith(PROFILE_PREFIX) and name.endswith(suffixes))


def creates_bridge(directories, bridge):
    """Whether a .netdev file of systemd-networkd's directories creates bridge ``bridge`` (networkd
    joins a tap to a bridge at boot only then). Unreadable files count as not creating it."""
    for directory in directories:
        try:
            names = [n for n in os.listdir(directory) if n.endswith('.netdev')]
        except OSError:
            continue
        for name in names:
            try:
                fd = os.open(os.path.join(directory, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
                with os.fdopen(fd, 'rb') as handle:
                    text = handle.read(65536).decode('utf-8', 'replace')
            except OSError:
                continue
            keys = [line.split('=', 1) for line in text.splitlines() if '=' in line]
            values = dict((k.strip(), v.strip()) for k, v in keys)
            if values.get('Name') == bridge and values.get('Kind') == 'bridge':
                return True
    return False
