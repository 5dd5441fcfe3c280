"""Every documented example is valid YAML and uses only options that exist: the EXAMPLES of every
module, the yaml blocks of README.md and docs/*.md, and the yaml code blocks of the docsite guides
(docs/docsite/rst/*.rst)."""

import glob
import os
import re
import textwrap

import pytest
import yaml
from ansible_collections.hostnet.vif.tests.unit.plugins.modules.test_module_wiring import MODULES

from ansible_collections.hostnet.vif.plugins.module_utils import _relay as relay
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import macv, sriov, tap

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
# Options whose value is a list of per-object dictionaries, and the keys such an entry may have.
ENTRY_KEYS = {
    'links': set(tuple(f.name for f in macv.HANDLERS['macvtap'].fields())),
    'taps': set(tap.names(tap.TAP_FIELDS)),
    'ports': {'name', 'hairpin'},
    'lowers': set(relay.ENTRY_FIELDS),
    'pfs': set(sriov.names(sriov.PF_FIELDS)),
    'vfs': set(sriov.names(sriov.VF_FIELDS)),
}


def _tasks(node):
    """Every task in a play, a task list, or a block, recursively."""
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ('tasks', 'pre_tasks', 'post_tasks', 'handlers', 'block', 'rescue', 'always'):
            yield from _tasks(node.get(key) or [])


def check_tasks(text, where):
    """Returns how many hostnet.vif tasks were checked; asserts their options exist."""
    checked = 0
    for task in _tasks(yaml.safe_load(text)):
        for key, args in task.items():
            if not key.startswith('hostnet.vif.'):
                continue
            name = key.split('.')[2]
            assert name in MODULES, '%s: no module %s' % (where, key)
            spec = MODULES[name][1]
            for option, value in (args or {}).items():
                assert option in spec, '%s: %s has no option %r' % (where, key, option)
                if option in ENTRY_KEYS and isinstance(value, list):
                    for entry in value:
                        extra = set(entry) - ENTRY_KEYS[option] if isinstance(entry, dict) else set()
                        assert not extra, '%s: %s entries have no key %s' % (where, option, sorted(extra))
            checked += 1
    return checked


@pytest.mark.parametrize('name', sorted(MODULES))
def test_module_examples(name):
    module = MODULES[name][0]
    assert check_tasks(module.EXAMPLES, name + ' EXAMPLES') > 0


MARKDOWN = [os.path.join(REPO, 'README.md')] + sorted(glob.glob(os.path.join(REPO, 'docs', '*.md')))


@pytest.mark.parametrize('path', MARKDOWN, ids=[os.path.relpath(p, REPO) for p in MARKDOWN])
def test_markdown_yaml_blocks(path):
    with open(path) as handle:
        text = handle.read()
    for number, block in enumerate(re.findall(r'```ya?ml\n(.*?)```', text, re.S)):
        check_tasks(block, '%s block %d' % (os.path.relpath(path, REPO), number + 1))


GUIDES = sorted(glob.glob(os.path.join(REPO, 'docs', 'docsite', 'rst', '*.rst')))


def rst_yaml_blocks(text):
    """The bodies of `.. code:: yaml` / `.. code-block:: yaml` directives, dedented."""
    blocks = []
    for match in re.finditer(r'^\.\. code(?:-block)?:: ya?ml\n((?:[ \t]*\n|   .*\n)+)', text, re.M):
        blocks.append(textwrap.dedent(match.group(1)))
    return blocks


def test_the_guides_are_found():
    assert len(GUIDES) >= 7 and rst_yaml_blocks('.. code:: yaml\n\n   - a: 1\n\nafter\n') == ['\n- a: 1\n\n']


@pytest.mark.parametrize('path', GUIDES, ids=[os.path.relpath(p, REPO) for p in GUIDES])
def test_guide_yaml_blocks(path):
    with open(path) as handle:
        text = handle.read()
    for number, block in enumerate(rst_yaml_blocks(text)):
        check_tasks(block, '%s block %d' % (os.path.relpath(path, REPO), number + 1))


def test_a_wrong_option_is_caught():
    with pytest.raises(AssertionError):
        check_tasks('- hostnet.vif.macvlan: {name: a, lowr: eth1}', 'probe')
    with pytest.raises(AssertionError):
        check_tasks('- hostnet.vif.tap: {taps: [{name: a, colour: red}]}', 'probe')
