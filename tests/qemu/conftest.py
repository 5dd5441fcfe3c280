"""What the tests run in the QEMU guest share: commands, and namespaces made on demand (tests/qemu runs
only in the guest of scripts/qemu-sriov)."""

import subprocess
import uuid

import pytest


def sh(*cmd, check=True):
    return subprocess.run([str(c) for c in cmd], check=check, capture_output=True, text=True)


@pytest.fixture
def namespaces():
    """Make hvt- namespaces on demand; every one removed at teardown, also when the test fails."""
    made = []

    def make(tag=''):
        made.append('hvt-%s%s' % (tag, uuid.uuid4().hex[:6]))
        sh('ip', 'netns', 'add', made[-1])
        return made[-1]
    try:
        yield make
    finally:
        for name in made:
            sh('ip', 'netns', 'del', name, check=False)
