# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Configuration files that make kernel state survive a reboot (rendered here, written by the
WriteFile action with undo). Today: systemd .link files for SR-IOV VF counts and per-VF settings
(systemd.link(5), sections [Match], [Link] with SR-IOVVirtualFunctions=, one [SR-IOV] per VF)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

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


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def write_text(path, text):
    """Atomic replace (temp file + rename); None removes the file."""
    if text is None:
        if os.path.exists(path):
            os.unlink(path)
        return
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    temp = os.path.join(directory, '.%s.tmp' % os.path.basename(path))
    with open(temp, 'w') as handle:
        handle.write(text)
    os.chmod(temp, 0o644)
    os.rename(temp, path)
