# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration files that make kernel state survive a reboot (rendered here, written by the
WriteFile action with undo). Today: systemd .link files for SR-IOV VF counts and per-VF settings
(systemd.link(5), sections [Match], [Link] with SR-IOVVirtualFunctions=, one [SR-IOV] per VF)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import os
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
