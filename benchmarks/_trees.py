"""What the benchmarks that compare two trees of the collection share: a tree with a collections path
that holds only it, the tree of an older revision (--baseline), and a clean stop on signals.
Imported by fleet.py, task_cost.py and links_1000.py (their directory is first on sys.path)."""

import io
import os
import signal
import subprocess
import tarfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def sh(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


class Tree:
    """One tree of the collection and a collections path that holds only it (so neither the
    environment's ANSIBLE_COLLECTIONS_PATH nor ~/.ansible can substitute another copy)."""

    def __init__(self, label, root, workdir):
        self.label = label
        self.root = root
        self.collections = os.path.join(workdir, label)
        os.makedirs(os.path.join(self.collections, 'ansible_collections', 'hostnet'))
        os.symlink(root, os.path.join(self.collections, 'ansible_collections', 'hostnet', 'vif'))

    def env(self, **extra):
        """The environment of this tree's plays: none of the shell's ANSIBLE_* variables (a sourced
        scripts/env, or anything else, must not change what is measured), this tree's ansible.cfg."""
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
        env.update(ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_CONFIG=os.path.join(self.root, 'ansible.cfg'),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False', PYTHONDONTWRITEBYTECODE='1')
        env.update(extra)
        return env


def baseline_tree(rev, workdir):
    """The committed tree of ``rev``, unpacked from `git archive` (no work tree, no .venv)."""
    root = os.path.join(workdir, 'baseline-src')
    os.makedirs(root)
    archive = subprocess.run(['git', '-C', REPO, 'archive', '--format=tar', rev], check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(root, filter='data')
    return root


def stop_on_signals():
    """SIGTERM, and SIGINT even where the shell started us with it ignored (a background job), end the
    run through the finally clauses that remove the namespaces and the temporary directory."""
    def stop(signum, _frame):
        raise SystemExit('stopped by signal %d' % signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
