"""meta/runtime.yml's action group: one `module_defaults: {group/hostnet.vif.vif: ...}` sets netns and
lock_timeout for every module of the collection in a play. Proven with ansible-playbook against a namespace
this test makes: the links appear in it (read with `ip`), and each task ran with the group's values."""

import json
import os
import subprocess
import sys

from conftest import REPO, links, sh

BIN = os.path.dirname(sys.executable)

PLAY = '''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/hostnet.vif.vif:
      netns: {netns}
      lock_timeout: 30
  tasks:
    # First and read-only: without the group the facts would be the root namespace's, and the play stops here.
    - hostnet.vif.vif_info:
      register: before
    - ansible.builtin.assert:
        that: before.vif.netns == "{netns}"
    - hostnet.vif.macvlan: {{name: mdv-mv0, lower: v0, mode: bridge}}
      register: macvlan
    - hostnet.vif.macvtap: {{name: mdv-mt0, lower: v0, mode: private}}
      register: macvtap
    - hostnet.vif.tap: {{name: mdv-tap0, bridge: mdv-br0}}
      register: tap
    - hostnet.vif.hairpin: {{name: mdv-tap0, hairpin: true}}
      register: hairpin
    - hostnet.vif.reflective_relay: {{lower: v0, method: probe, timeout: 0.3}}
      register: relay
    - hostnet.vif.vif_info:
      register: after
    - ansible.builtin.copy:
        content: "{{{{ {{'macvlan': macvlan, 'macvtap': macvtap, 'tap': tap, 'hairpin': hairpin, 'relay': relay,
                       'after': after}} | to_json }}}}"
        dest: {out}
        mode: "0600"
'''


def test_action_group_module_defaults_set_netns_and_lock_timeout_for_every_module(ns, tmp_path):
    sh('ip', '-n', ns, 'link', 'add', 'mdv-br0', 'type', 'bridge')
    out = tmp_path / 'results.json'
    play = tmp_path / 'play.yml'
    play.write_text(PLAY.format(netns=ns, out=out))
    # ansible-core 2.21 adds a result's invocation (the arguments the module got) only when asked to
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_CONFIG=os.path.join(REPO, 'ansible.cfg'),
               ANSIBLE_INJECT_INVOCATION='1')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.path.join(REPO, '.venv', 'collections'))
    done = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
                           '-e', 'ansible_python_interpreter=%s' % sys.executable, str(play)],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    results = json.loads(out.read_text())

    # The kernel's view: everything was made in the namespace the group named.
    seen = links(ns)
    assert seen['mdv-mv0']['linkinfo']['info_kind'] == 'macvlan'
    assert seen['mdv-mv0']['linkinfo']['info_data']['mode'] == 'bridge'
    assert seen['mdv-mt0']['linkinfo']['info_kind'] == 'macvtap'
    assert seen['mdv-mt0']['linkinfo']['info_data']['mode'] == 'private'
    assert seen['mdv-tap0']['master'] == 'mdv-br0'
    assert seen['mdv-tap0']['linkinfo']['info_slave_data']['hairpin'] is True
    for name in ('mdv-mv0', 'mdv-mt0', 'mdv-tap0'):
        assert sh('ip', 'link', 'show', name, check=False).returncode != 0, name  # not in the root namespace

    # Every module got both values from the group (no task set them).
    for task in ('macvlan', 'macvtap', 'tap', 'hairpin', 'relay', 'after'):
        args = results[task]['invocation']['module_args']
        assert (args['netns'], args['lock_timeout']) == (ns, 30.0), task
    assert results['relay']['relays'][0]['netns'] == ns
    assert results['relay']['relays'][0]['reflective_relay'] is False  # v0's peer is a plain veth: no reflection
    assert results['after']['vif']['netns'] == ns
    assert {'mdv-mv0', 'mdv-mt0'} <= {link['name'] for link in results['after']['vif']['links']}
