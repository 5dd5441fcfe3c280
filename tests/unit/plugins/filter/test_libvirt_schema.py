"""Every document hostnet.vif.libvirt_interfaces writes is valid for libvirt itself: checked with
virt-xml-validate (Debian's libvirt-clients, with xmllint from libxml2-utils and the RNG schemas of libvirt0;
scripts/setup installs them). A VM NIC validates only inside a domain, so the NICs are wrapped in a minimal one."""

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.hostnet.vif.plugins.filter.libvirt_interfaces import libvirt_interfaces
from ansible_collections.hostnet.vif.tests.unit.plugins.filter.libvirt_cases import FACTS, PROFILES, profile

VALIDATOR = shutil.which('virt-xml-validate')


def validate(tmp_path, text, schema):
    """virt-xml-validate's exit code and output for one document (0: valid; 3: invalid for the schema)."""
    assert VALIDATOR and shutil.which('xmllint'), \
        'virt-xml-validate and xmllint are missing: run scripts/setup (libvirt-clients, libxml2-utils)'
    path = tmp_path / ('%s-%d.xml' % (schema, len(os.listdir(str(tmp_path)))))
    path.write_text(text)
    done = subprocess.run([VALIDATOR, str(path), schema], capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def domain(interfaces):
    """The smallest domain libvirt's schema accepts, holding the NICs."""
    root = ET.Element('domain', {'type': 'kvm'})
    ET.SubElement(root, 'name').text = 'hvt-guest'
    ET.SubElement(root, 'memory', {'unit': 'MiB'}).text = '256'
    os_element = ET.SubElement(root, 'os')
    ET.SubElement(os_element, 'type', {'arch': 'x86_64'}).text = 'hvm'
    devices = ET.SubElement(root, 'devices')
    for xml in interfaces:
        devices.append(ET.fromstring(xml))
    return ET.tostring(root, encoding='unicode')


def assert_valid(tmp_path, result):
    nics = [item['xml'] for item in result['interfaces']] + [n['interface_xml'] for n in result['networks']]
    if nics:
        code, output = validate(tmp_path, domain(nics), 'domain')
        assert code == 0, output
    for network in result['networks']:
        code, output = validate(tmp_path, network['xml'], 'network')
        assert code == 0, output


def test_the_validator_refuses_what_libvirt_refuses(tmp_path):
    """The check can fail: a macvtap mode libvirt does not know, a name with a space, a forward mode."""
    good = libvirt_interfaces({'macvtap': [{'name': 'vm0', 'lower': 'eth1', 'mode': 'passthru'}]})['interfaces'][0]
    assert validate(tmp_path, domain([good['xml']]), 'domain')[0] == 0
    for bad in (good['xml'].replace('passthrough', 'passthru'), good['xml'].replace('eth1', 'eth 1')):
        assert validate(tmp_path, domain([bad]), 'domain')[0] == 3
    network = libvirt_interfaces({'sriov': [{'pf': 'eth2', 'num_vfs': 2}]})['networks'][0]['xml']
    assert validate(tmp_path, network, 'network')[0] == 0
    assert validate(tmp_path, network.replace('hostdev', 'hostdevs'), 'network')[0] == 3


@pytest.mark.parametrize('name', PROFILES)
@pytest.mark.parametrize('options', [{}, {'macvtap': 'ethernet', 'vf_network': 'passthrough', 'model': ''}])
def test_every_ready_profile_gives_valid_documents(tmp_path, name, options):
    assert_valid(tmp_path, libvirt_interfaces(profile(name), **options))


@pytest.mark.parametrize('options', [{}, {'macvtap': 'ethernet', 'vf_network': 'passthrough', 'model': 'e1000e'}])
def test_facts_give_valid_documents(tmp_path, options):
    result = libvirt_interfaces(FACTS, **options)
    assert {i['type'] for i in result['interfaces']} >= {'ethernet', 'hostdev'}
    assert_valid(tmp_path, result)


def test_profile_with_taps_and_ipvtap_gives_valid_documents(tmp_path):
    spec = {'macvtap': [{'name': 'vm0', 'lower': 'eth1', 'mode': 'vepa', 'mac': '02:00:00:00:00:01'},
                        {'name': 'vm1', 'lower': 'eth1', 'mode': 'private'}],
            'ipvtap': [{'name': 'ipvt0', 'lower': 'eth3'}],
            'taps': [{'name': 'vnet0', 'bridge': 'br0'}, {'name': 'vnet1'}],
            'sriov': [{'pf': 'eth2', 'num_vfs': 4}]}
    assert_valid(tmp_path, libvirt_interfaces(spec))
