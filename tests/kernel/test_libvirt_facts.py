"""hostnet.vif.libvirt_interfaces fed with what vif_info reads from a real kernel: macvtaps in every mode
libvirt knows, a tap on a bridge, a loose tap and a tun, made with iproute2 in a namespace. The XML must carry
the kernel's values (read with iproute2) and be valid for libvirt's schema (virt-xml-validate)."""

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import links, sh

from ansible_collections.hostnet.vif.plugins.filter.libvirt_interfaces import libvirt_interfaces
from ansible_collections.hostnet.vif.plugins.module_utils import _pipeline as pipeline

MODES = {'mt-vepa': 'vepa', 'mt-bridge': 'bridge', 'mt-private': 'private'}


@pytest.fixture
def vm_host(ns):
    sh('ip', '-n', ns, 'link', 'add', 'w0', 'type', 'veth', 'peer', 'name', 'w1')
    for name, mode in MODES.items():
        sh('ip', '-n', ns, 'link', 'add', 'link', 'v0', 'name', name, 'type', 'macvtap', 'mode', mode)
    sh('ip', '-n', ns, 'link', 'set', 'mt-bridge', 'address', '02:00:5e:00:53:07')
    sh('ip', '-n', ns, 'link', 'add', 'link', 'w0', 'name', 'mt-pt', 'type', 'macvtap', 'mode', 'passthru')
    sh('ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tp-br', 'mode', 'tap')
    sh('ip', '-n', ns, 'link', 'set', 'tp-br', 'master', 'br0')
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tp-loose', 'mode', 'tap')
    sh('ip', '-n', ns, 'tuntap', 'add', 'dev', 'tn-0', 'mode', 'tun')
    return ns


def validate_domain(tmp_path, interfaces):
    assert shutil.which('virt-xml-validate'), 'virt-xml-validate is missing: run scripts/setup (libvirt-clients)'
    root = ET.fromstring("<domain type='kvm'><name>hvt-guest</name><memory unit='MiB'>256</memory>"
                         "<os><type arch='x86_64'>hvm</type></os><devices/></domain>")
    for item in interfaces:
        root.find('devices').append(ET.fromstring(item['xml']))
    path = tmp_path / 'domain.xml'
    path.write_text(ET.tostring(root, encoding='unicode'))
    done = subprocess.run(['virt-xml-validate', str(path), 'domain'], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_vif_info_facts_become_valid_libvirt_nics_with_the_kernels_values(vm_host, tmp_path):
    facts = pipeline.run_info(dict(netns=vm_host))['vif']
    kernel = links(vm_host)
    result = libvirt_interfaces(facts)
    by_name = dict((item['name'], item) for item in result['interfaces'])
    assert sorted(by_name) == ['mt-bridge', 'mt-private', 'mt-pt', 'mt-vepa', 'tp-br', 'tp-loose']  # no tun
    for name, mode in dict(MODES, **{'mt-pt': 'passthrough'}).items():
        nic = ET.fromstring(by_name[name]['xml'])
        assert nic.get('type') == 'direct'
        assert nic.find('source').attrib == {'dev': kernel[name]['link'], 'mode': mode}
        assert nic.find('mac').get('address') == kernel[name]['address']
    assert ET.fromstring(by_name['mt-bridge']['xml']).find('mac').get('address') == '02:00:5e:00:53:07'
    for name in ('tp-br', 'tp-loose'):
        nic = ET.fromstring(by_name[name]['xml'])
        assert nic.get('type') == 'ethernet' and nic.find('target').attrib == {'dev': name, 'managed': 'no'}
    assert by_name['tp-br']['bridge'] == kernel['tp-br']['master'] == 'br0' and by_name['tp-loose']['bridge'] is None
    validate_domain(tmp_path, result['interfaces'])
    existing = libvirt_interfaces(facts, macvtap='ethernet')['interfaces']
    assert all(ET.fromstring(item['xml']).get('type') == 'ethernet' for item in existing)
    validate_domain(tmp_path, existing)
