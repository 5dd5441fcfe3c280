"""The built collection tarball installs and works: catches files missing from the build
(build_ignore mistakes, a module_util left out) that tests of the checkout cannot see."""

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.path.dirname(sys.executable)


def _run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture
def netns():
    name = 'hvt-build-' + uuid.uuid4().hex[:6]
    _run(['ip', 'netns', 'add', name])
    try:
        _run(['ip', '-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'])
        yield name
    finally:
        subprocess.run(['ip', 'netns', 'del', name], check=False)


def test_built_tarball_installs_and_runs_a_module(tmp_path, netns):
    """ansible-galaxy collection build -> install into an empty path -> a play using only that
    installed copy creates a macvlan in a namespace, idempotently."""
    out = tmp_path / 'dist'
    _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', REPO, '--output-path', str(out)])
    tarballs = list(out.glob('hostnet-vif-*.tar.gz'))
    assert len(tarballs) == 1, tarballs
    installed = tmp_path / 'collections'
    # Only the fresh path may count: with the checkout on ANSIBLE_COLLECTIONS_PATH, ansible-galaxy
    # would call the collection installed already and skip it.
    galaxy_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed))
    _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--force', str(tarballs[0]),
          '-p', str(installed)], env=galaxy_env)
    root = installed / 'ansible_collections' / 'hostnet' / 'vif'
    for needed in ('plugins/modules/macvlan.py', 'plugins/modules/macvtap.py', 'plugins/modules/hairpin.py',
                   'plugins/modules/tap.py', 'plugins/modules/vif_info.py', 'plugins/modules/reflective_relay.py',
                   'plugins/modules/sriov.py',
                   'plugins/module_utils/_pipeline.py', 'plugins/module_utils/_probe.py', 'plugins/filter/topology.py',
                   'plugins/doc_fragments/links.py', 'meta/runtime.yml', 'meta/execution-environment.yml',
                   'requirements.txt', 'bindep.txt', 'playbooks/lab.yml', 'playbooks/tasks/lab_cell.yml',
                   'plugins/connection/netns.py', 'plugins/filter/profile_diff.py',
                   'roles/host_profile/tasks/main.yml', 'roles/host_profile/meta/argument_specs.yml',
                   'playbooks/site.yml', 'playbooks/profiles/vepa_edge.yml',
                   'README.md', 'CHANGELOG.rst'):
        assert (root / needed).is_file(), needed
    for unwanted in ('.venv', '.build', '.git', 'tests/output'):
        assert not (root / unwanted).exists(), unwanted

    play = tmp_path / 'play.yml'
    play.write_text(
        '- hosts: localhost\n'
        '  gather_facts: false\n'
        '  tasks:\n'
        '    - hostnet.vif.macvlan: {netns: %s, name: mvb0, lower: v0, mode: bridge}\n'
        '      register: r\n'
        '    - ansible.builtin.copy: {content: "{{ r | to_json }}", dest: "%s", mode: "0600"}\n'
        % (netns, tmp_path / 'result.json'))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_STDOUT_CALLBACK='default',
               ANSIBLE_NOCOLOR='1')
    env.pop('ANSIBLE_CONFIG', None)
    cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=%s' % sys.executable, str(play)]
    for expect_changed in (True, False):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads((tmp_path / 'result.json').read_text())
        assert result['changed'] is expect_changed
        assert result['links'][0]['mode'] == 'bridge'
    shown = _run(['ip', '-n', netns, '-j', '-d', 'link', 'show', 'mvb0'])
    assert json.loads(shown.stdout)[0]['linkinfo']['info_data']['mode'] == 'bridge'
    shutil.rmtree(str(out))

    # The whole lab from the installed copy alone (every module it uses must have been built in).
    lab = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                          '-e', 'ansible_python_interpreter=%s' % sys.executable, str(root / 'playbooks' / 'lab.yml')],
                         capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert lab.returncode == 0, lab.stdout[-3000:] + lab.stderr[-2000:]
    assert 'all 6 cells as expected' in lab.stdout


def test_execution_environment_context_and_introspection(tmp_path):
    """scripts/ee: ansible-builder create writes a build context holding the built collection; and
    ansible-builder's introspection of the installed collection finds pyroute2 and the system packages
    (meta/execution-environment.yml -> requirements.txt, bindep.txt)."""
    _run(['bash', os.path.join(REPO, 'scripts', 'ee')])
    context = os.path.join(REPO, '.build', 'ee', 'context')
    with open(os.path.join(context, 'Containerfile')) as handle:
        containerfile = handle.read()
    assert 'ansible-core==2.21.5' in containerfile and 'COPY _build/collections/ /build/collections/' in containerfile
    # Pinned, on a supported base: the same ansible-core and ansible-runner as the ansible-runner jobs of
    # tests/runner (scripts/runner), and the base image docs/awx.md justifies.
    with open(os.path.join(REPO, 'tests', 'runner', 'requirements.txt')) as handle:
        runner_pins = [line.strip() for line in handle if line.startswith(('ansible-core==', 'ansible-runner=='))]
    assert len(runner_pins) == 2 and all(pin in containerfile for pin in runner_pins), runner_pins
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream10"' in containerfile
    with open(os.path.join(REPO, 'docs', 'awx.md')) as handle:
        assert 'quay.io/centos/centos:stream10' in handle.read()
    assert os.path.isfile(os.path.join(context, '_build', 'collections', 'hostnet-vif.tar.gz'))
    installed = tmp_path / 'collections'
    _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--force',
          os.path.join(REPO, '.build', 'ee', 'hostnet-vif.tar.gz'), '-p', str(installed)],
         env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed)))
    found = _run([os.path.join(BIN, 'ansible-builder'), 'introspect', '--sanitize', str(installed)]).stdout
    assert 'pyroute2>=0.7.2' in found and 'iproute2 [platform:dpkg]' in found
