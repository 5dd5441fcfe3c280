# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hostnet.vif.libvirt_interfaces: a host profile or vif_info facts -> libvirt <interface> and <network>
XML for the VM NICs the host serves (documentation in libvirt_interfaces.yml, docs/libvirt.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import xml.etree.ElementTree as ET

from ansible.errors import AnsibleFilterError

from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import (
    PCI_ADDRESS_RE, check_ifname, normalise_mac)

# The kernel's macvtap modes and libvirt's names for them (<source mode=...> of type='direct').
# libvirt has no 'source' mode: such a device can only be handed over as it is (macvtap='ethernet').
LIBVIRT_DIRECT_MODES = {'vepa': 'vepa', 'bridge': 'bridge', 'private': 'private', 'passthru': 'passthrough'}
KERNEL_MODES = tuple(LIBVIRT_DIRECT_MODES) + ('source',)
MACVTAP_STYLES = ('direct', 'ethernet')
VF_NETWORK_MODES = ('hostdev', 'passthrough')
# libvirt's deviceName (basictypes.rng) allows [a-zA-Z0-9_.\-\\:/]; check_ifname already refuses '/', ':'
# and backslash, so what is left of both rules is this.
_LIBVIRT_NAME_RE = re.compile(r'[A-Za-z0-9_.-]+')
_MODEL_RE = re.compile(r'[A-Za-z0-9_-]{1,32}')
_ZERO_MAC = '00:00:00:00:00:00'


def _device_name(value, field, obj=None):
    """An interface name that the kernel and libvirt's schema both accept (XML-safe by construction)."""
    name = check_ifname(value, field, obj)
    if not _LIBVIRT_NAME_RE.fullmatch(name):
        raise invalid(field, value, "libvirt device names are letters, digits, '_', '.' and '-' only", obj)
    return name


def _mac(value, field, obj):
    if value in (None, '', _ZERO_MAC):
        return None  # no MAC chosen: libvirt generates one
    return normalise_mac(value, field, obj)


def _xml(element):
    return ET.tostring(element, encoding='unicode')


def _interface(kind, mac, managed=None):
    element = ET.Element('interface', {'type': kind})
    if managed:
        element.set('managed', managed)
    if mac:
        ET.SubElement(element, 'mac', {'address': mac})
    return element


def _finish(element, model):
    # <model> comes last for readability; libvirt's schema interleaves the children in any order.
    if model:
        ET.SubElement(element, 'model', {'type': model})
    return element


def _macvtap(name, kind, lower, mode, mac, style, model, field):
    """One macvtap (or ipvtap) VM NIC."""
    if kind == 'ipvtap' or style == 'ethernet':
        # The device exists (the collection made it): libvirt opens it as it is, by name.
        element = _interface('ethernet', mac)
        ET.SubElement(element, 'target', {'dev': name, 'managed': 'no'})
        return 'ethernet', _finish(element, model)
    if mode not in LIBVIRT_DIRECT_MODES:
        raise invalid(field + '.mode', mode, "libvirt's type='direct' has no mode %r; use macvtap='ethernet' to hand "
                      "libvirt the existing device" % mode, name)
    if lower is None:
        raise invalid(field + '.lower', lower, "type='direct' needs the lower device (in libvirt's namespace)", name)
    element = _interface('direct', mac)
    ET.SubElement(element, 'source', {'dev': lower, 'mode': LIBVIRT_DIRECT_MODES[mode]})
    return 'direct', _finish(element, model)


def _tap(name, model):
    """A tap VM NIC: the existing device, unmanaged. Only type='ethernet' with managed='no' may use a tap that
    exists before the VM starts (libvirt 9.0 refuses one for type='bridge' or 'network'); a tap that is a bridge
    port stays in the bridge the collection put it in. The tap's own MAC is the host side of the wire, not the
    guest's, so it is not carried over."""
    element = _interface('ethernet', None)
    ET.SubElement(element, 'target', {'dev': name, 'managed': 'no'})
    return _finish(element, model)


def _hostdev(pci_address, mac, field, obj):
    """A VF given to the VM by PCI passthrough (no live migration)."""
    if not isinstance(pci_address, str) or not PCI_ADDRESS_RE.fullmatch(pci_address):
        raise invalid(field, pci_address, "expected a PCI address like 0000:03:10.0", obj)
    domain, bus, slot_function = pci_address.split(':')
    slot, function = slot_function.split('.')
    element = _interface('hostdev', mac, managed='yes')
    source = ET.SubElement(element, 'source')
    ET.SubElement(source, 'address', {'type': 'pci', 'domain': '0x' + domain, 'bus': '0x' + bus,
                                      'slot': '0x' + slot, 'function': '0x' + function})
    return element


def _vf_network(pf, prefix, mode):
    """A libvirt network that hands out the VFs of one PF: mode hostdev (PCI passthrough of a VF) or passthrough
    (a macvtap in passthru mode on a VF's netdev, which keeps live migration possible)."""
    name = prefix + pf
    network = ET.Element('network')
    ET.SubElement(network, 'name').text = name
    forward = ET.SubElement(network, 'forward', {'mode': mode})
    if mode == 'hostdev':
        forward.set('managed', 'yes')
    ET.SubElement(forward, 'pf', {'dev': pf})
    nic = ET.Element('interface', {'type': 'network'})
    ET.SubElement(nic, 'source', {'network': name})
    return {'name': name, 'pf': pf, 'mode': mode, 'xml': _xml(network), 'interface_xml': _xml(nic)}


def _entries(spec, key):
    entries = spec.get(key) or []
    if not isinstance(entries, list):
        raise invalid(key, entries, "expected a list of entries")
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise invalid('%s[%d]' % (key, position), entry, "expected a dictionary")
        yield '%s[%d]' % (key, position), entry


def _from_profile(spec, style, model, prefix, vf_mode):
    interfaces, networks = [], []
    for kind in ('macvtap', 'ipvtap'):
        for field, entry in _entries(spec, kind):
            if entry.get('state', 'present') == 'absent':
                continue
            name = _device_name(entry.get('name'), field + '.name')
            mode = entry.get('mode') or 'vepa'  # macvtap's default; an ipvtap's l2/l3/l3s mode does not matter here
            if kind == 'macvtap' and mode not in KERNEL_MODES:
                raise invalid(field + '.mode', mode, "expected one of %s" % ', '.join(KERNEL_MODES), name)
            lower = entry.get('lower')
            lower = None if lower is None else _device_name(lower, field + '.lower', name)
            mac = _mac(entry.get('mac'), field + '.mac', name)
            nic_type, element = _macvtap(name, kind, lower, mode, mac, style, model, field)
            interfaces.append({'name': name, 'kind': kind, 'type': nic_type, 'xml': _xml(element)})
    for field, entry in _entries(spec, 'taps'):
        if entry.get('state', 'present') == 'absent' or entry.get('mode') == 'tun':
            continue
        name = _device_name(entry.get('name'), field + '.name')
        bridge = _device_name(entry['bridge'], field + '.bridge', name) if entry.get('bridge') else None
        interfaces.append({'name': name, 'kind': 'tap', 'type': 'ethernet', 'bridge': bridge,
                           'xml': _xml(_tap(name, model))})
    for field, entry in _entries(spec, 'sriov'):
        pf = entry.get('pf')
        if isinstance(pf, str) and PCI_ADDRESS_RE.fullmatch(pf):
            raise invalid(field + '.pf', pf, "a libvirt VF pool names its PF by interface name: give the name, or "
                          "use hostnet.vif.vif_info facts, which know both")
        pf = _device_name(pf, field + '.pf')
        if str(entry.get('num_vfs', 0)) not in ('0', ''):
            networks.append(_vf_network(pf, prefix, vf_mode))
    return interfaces, networks


def _from_facts(vif, style, model, prefix, vf_mode):
    interfaces, networks, vf_lowers = [], [], set()
    for position, link in enumerate(vif.get('links') or []):
        kind = link.get('kind')
        if kind not in ('macvtap', 'ipvtap'):
            continue  # macvlan/ipvlan links are the host's own, not VM NICs
        field = 'links[%d]' % position
        name = _device_name(link.get('name'), field + '.name')
        lower = link.get('lower')
        lower = _device_name(lower, field + '.lower', name) if lower else None
        mac = _mac(link.get('mac'), field + '.mac', name)
        nic_type, element = _macvtap(name, kind, lower, link.get('mode'), mac, style, model, field)
        interfaces.append({'name': name, 'kind': kind, 'type': nic_type, 'xml': _xml(element)})
        if link.get('mode') == 'passthru' and lower:
            vf_lowers.add(lower)
    for position, tap in enumerate(vif.get('taps') or []):
        if tap.get('type') != 'tap':
            continue
        field = 'taps[%d]' % position
        name = _device_name(tap.get('name'), field + '.name')
        bridge = _device_name(tap['bridge'], field + '.bridge', name) if tap.get('bridge') else None
        interfaces.append({'name': name, 'kind': 'tap', 'type': 'ethernet', 'bridge': bridge,
                           'xml': _xml(_tap(name, model))})
    for position, pf in enumerate(vif.get('sriov') or []):
        field = 'sriov[%d]' % position
        pf_name = _device_name(pf.get('name'), field + '.name')
        for index, vf in enumerate(pf.get('vfs') or []):
            if vf_lowers.intersection(vf.get('netdevs') or []):
                continue  # this VF already reaches a VM through its macvtap (passthru)
            vf_field = '%s.vfs[%d]' % (field, index)
            vf_name = '%s-vf%s' % (pf_name, vf.get('vf', index))
            mac = _mac(vf.get('mac'), vf_field + '.mac', vf_name)
            element = _hostdev(vf.get('pci_address'), mac, vf_field + '.pci_address', vf_name)
            interfaces.append({'name': vf_name, 'kind': 'vf', 'type': 'hostdev', 'pf': pf_name, 'vf': vf.get('vf'),
                               'pci_address': vf['pci_address'], 'xml': _xml(element)})
        if pf.get('numvfs'):
            networks.append(_vf_network(pf_name, prefix, vf_mode))
    return interfaces, networks


def libvirt_interfaces(data, macvtap='direct', vf_network='hostdev', network_prefix='hostnet-', model='virtio'):
    """``data`` is a host profile (host_profile_spec, or the role's variables holding it) or the ``vif`` result
    of hostnet.vif.vif_info. Returns ``{'interfaces': [...], 'networks': [...]}``, each item with its ``xml``."""
    try:
        if macvtap not in MACVTAP_STYLES:
            raise invalid('macvtap', macvtap, "expected one of %s" % ', '.join(MACVTAP_STYLES))
        if vf_network not in VF_NETWORK_MODES:
            raise invalid('vf_network', vf_network, "expected one of %s" % ', '.join(VF_NETWORK_MODES))
        if not isinstance(network_prefix, str) or not re.fullmatch(r'[A-Za-z0-9_.-]{0,40}', network_prefix):
            raise invalid('network_prefix', network_prefix, "letters, digits, '_', '.' and '-', at most 40")
        if model is None or model == '':
            model = None
        elif not isinstance(model, str) or not _MODEL_RE.fullmatch(model):
            raise invalid('model', model, "a libvirt NIC model such as virtio or e1000e (letters, digits, '_', '-')")
        if not isinstance(data, dict):
            raise invalid('_input', type(data).__name__, "expected a host profile or the vif result of vif_info")
        if 'host_profile_spec' in data:
            data = data['host_profile_spec'] or {}
            if not isinstance(data, dict):
                raise invalid('host_profile_spec', type(data).__name__, "expected a dictionary")
        if 'links' in data:
            interfaces, networks = _from_facts(data, macvtap, model, network_prefix, vf_network)
        else:
            interfaces, networks = _from_profile(data, macvtap, model, network_prefix, vf_network)
    except VifError as exc:
        raise AnsibleFilterError('libvirt_interfaces: %s' % exc.msg) from None
    return {'interfaces': interfaces, 'networks': networks}


class FilterModule(object):
    def filters(self):
        return {'libvirt_interfaces': libvirt_interfaces}
