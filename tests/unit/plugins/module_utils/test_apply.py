"""The journal: all or nothing, whatever stops the apply; errno in words."""

import errno
import os
import signal

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import apply, errors
from ansible_collections.hostnet.vif.plugins.module_utils.errors import VifError


class Step:
    def __init__(self, name, log, fail=None, undo_fails=False):
        self.obj, self.log, self.fail, self.undo_fails = name, log, fail, undo_fails

    def describe(self):
        return 'step %s' % self.obj

    def do(self, ctx):
        if self.fail:
            self.fail()
        self.log.append('do ' + self.obj)

    def undo(self, ctx):
        if self.undo_fails:
            raise VifError('cannot undo ' + self.obj)
        self.log.append('undo ' + self.obj)


def _raise():
    raise VifError('refused')


def test_a_failure_undoes_the_done_actions_newest_first():
    log = []
    with pytest.raises(VifError) as err:
        apply.apply_plan(None, [Step('a', log), Step('b', log), Step('c', log, fail=_raise)])
    assert log == ['do a', 'do b', 'undo b', 'undo a']
    assert 'refused' in err.value.msg and 'undone (2 actions)' in err.value.msg


def test_an_undo_that_fails_is_reported_not_hidden():
    log = []
    with pytest.raises(VifError) as err:
        apply.apply_plan(None, [Step('a', log, undo_fails=True), Step('b', log), Step('c', log, fail=_raise)])
    assert log == ['do a', 'do b', 'undo b']
    assert 'half-changed' in err.value.msg and 'cannot undo a' in err.value.msg


def test_sigterm_while_applying_undoes():
    log = []
    with pytest.raises(VifError) as err:
        apply.apply_plan(None, [Step('a', log), Step('b', log, fail=lambda: os.kill(os.getpid(), signal.SIGTERM))])
    assert log == ['do a', 'undo a'] and 'interrupted' in err.value.msg


def test_an_unexpected_exception_is_undone_and_named():
    log = []
    with pytest.raises(VifError) as err:
        apply.apply_plan(None, [Step('a', log), Step('b', log, fail=lambda: {}['x'])])
    assert log == ['do a', 'undo a'] and 'KeyError' in err.value.msg


def test_the_host_lock_times_out_with_a_message(tmp_path):
    path = str(tmp_path / 'l')
    with apply.HostLock(timeout=1, path=path):
        with pytest.raises(VifError) as err:
            with apply.HostLock(timeout=0.1, path=path):
                pass
    assert err.value.field == 'lock_timeout'


@pytest.mark.parametrize('code, op, words', [
    (errno.EEXIST, None, 'already exists'), (errno.EINVAL, 'add', 'second passthru'),
    (errno.ERANGE, None, '15 bytes'), (errno.ENODEV, None, 'does not exist'), (errno.ENOTTY, None, 'ENOTTY')])
def test_errno_in_words(code, op, words):
    err = errors.kernel_error(OSError(code, os.strerror(code)), 'ip link add x', obj='x', operation=op)
    assert words in err.msg and err.msg.startswith('ip link add x failed: ') and err.errno == code
