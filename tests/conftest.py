"""Shared by every test suite: put the collection on sys.path as ansible_collections.hostnet.vif
(ANSIBLE_COLLECTIONS_PATH when it holds it, else the tree scripts/setup makes under .venv)."""

import os
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def _collections_path():
    for path in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
        if path and os.path.isdir(os.path.join(path, 'ansible_collections', 'hostnet', 'vif')):
            return path
    return os.path.join(REPO, '.venv', 'collections')


sys.path.insert(0, _collections_path())
