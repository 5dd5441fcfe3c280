"""Each module carries and imports only its own kind's handler (issue 11, point 6).

The controller builds a module's AnsiballZ payload from the import statements it finds in the module
and, recursively, in the module_utils it imports (at every depth, inside functions too); the target
then compiles every imported file of the payload from source on each run (zipimport caches no
bytecode). Another kind's handler in the import graph costs both, on every task, for nothing.

Two views: the import-statement closure over our module_utils, read the way the controller's scan
reads it (ast, every Import and ImportFrom node), and what importing the module really loads, in a
fresh interpreter."""

import ast
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.hostnet.vif.plugins.modules import macvlan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(macvlan.__file__))))
PACKAGE = 'ansible_collections.hostnet.vif.plugins.module_utils'
KIND_OF_MODULE = {'macvlan': 'macv', 'macvtap': 'macv', 'tap': 'tap', 'sriov': 'sriov', 'hairpin': 'hairpin',
                  'reflective_relay': 'relay', 'vif_info': 'info', 'ipvlan': 'ipvl', 'ipvtap': 'ipvl'}
KINDS = sorted(set(KIND_OF_MODULE.values()))


def _source(name):
    rel = name.split('.')[3:]  # plugins/...
    path = os.path.join(ROOT, *rel) + '.py'
    if not os.path.exists(path):
        path = os.path.join(ROOT, *rel, '__init__.py')
    return path if os.path.exists(path) else None


def _imports(path):
    """Every module of ours an import statement of this file names, whatever its depth."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(node.module + '.' + alias.name for alias in node.names)  # submodules imported by name
    return set(n for n in names if n.startswith(PACKAGE) and _source(n))


def payload_closure(module):
    todo = [os.path.join(ROOT, 'plugins', 'modules', module + '.py')]
    seen = set()
    while todo:
        for name in _imports(todo.pop()):
            if name not in seen:
                seen.add(name)
                todo.append(_source(name))
    return seen


def _handlers(names):
    """The kind handler modules among module names (_kinds/_x.py files are shared helpers, not kinds)."""
    return sorted(set(n.rsplit('.', 1)[1] for n in names if n.startswith(PACKAGE + '._kinds.')
                      and not n.rsplit('.', 1)[1].startswith('_')))


@pytest.mark.parametrize('module', sorted(KIND_OF_MODULE))
def test_payload_holds_only_its_own_kind(module):
    kinds = _handlers(payload_closure(module))
    assert kinds == sorted(set(['base', KIND_OF_MODULE[module]])), kinds


@pytest.mark.parametrize('module', ['macvlan', 'tap', 'vif_info'])
def test_importing_a_module_loads_only_its_own_kind(module):
    code = ('import json, sys\n'
            'import ansible_collections.hostnet.vif.plugins.modules.%s\n'
            'print(json.dumps(sorted(m for m in sys.modules if m.startswith(%r))))' % (module, PACKAGE))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, check=True)
    loaded = json.loads(done.stdout)
    kinds = _handlers(loaded)
    assert kinds == sorted(set(['base', KIND_OF_MODULE[module]])), kinds
    if module in ('macvlan', 'tap'):  # the frame probe belongs to relay and info
        assert PACKAGE + '._probe' not in loaded
