"""The journal: all or nothing, whatever stops the apply; errno in words."""

import errno
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _apply as apply, _errors as errors
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


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


def _signal(signum):
    return lambda: os.kill(os.getpid(), signum)


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_lets_the_step_in_flight_finish_then_undoes_everything(signum):
    # The signal is recorded, never raised into the step (pyroute2's event loop would lose the
    # reply it was reading): the step completes, is journaled, and is undone with the others.
    log = []
    with pytest.raises(VifError) as err:
        apply.apply_plan(None, [Step('a', log), Step('b', log, fail=_signal(signum)), Step('c', log)])
    assert log == ['do a', 'do b', 'undo b', 'undo a']
    name = signal.Signals(signum).name
    assert err.value.msg == ('interrupted by %s while applying; everything this task had changed was undone '
                             '(2 actions)' % name)
    assert apply.StopSignals.active is None


def test_a_stop_signal_before_the_first_step_changes_nothing():
    log = []
    with apply.StopSignals():
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(VifError) as err:
            apply.apply_plan(None, [Step('a', log)])
    assert log == [] and err.value.msg == 'interrupted by SIGTERM before anything was changed'


def test_a_stop_signal_during_the_undo_does_not_stop_the_undo():
    log = []

    class Slow(Step):
        def undo(self, ctx):
            os.kill(os.getpid(), signal.SIGINT)
            super().undo(ctx)
    with pytest.raises(VifError) as err:
        apply.apply_plan(None, [Step('a', log), Slow('b', log), Step('c', log, fail=_raise)])
    assert log == ['do a', 'do b', 'undo b', 'undo a'] and 'undone (2 actions)' in err.value.msg


def test_handlers_are_restored_after_the_run():
    before = [signal.getsignal(s) for s in apply.StopSignals.SIGNALS]
    apply.apply_plan(None, [])
    assert [signal.getsignal(s) for s in apply.StopSignals.SIGNALS] == before
    assert apply.StopSignals.active is None


class GaveUp(Exception):
    pass


def test_a_step_that_never_ends_after_a_stop_signal_is_given_up_after_the_grace(monkeypatch):
    # The module wrapper's on_deadline prints the failure and ends the process (the lock goes
    # with it); here it raises so the test can see it was called, and when.
    called = []

    def give_up(msg):
        called.append(msg)
        raise GaveUp(msg)
    monkeypatch.setattr(apply, 'STOP_GRACE', 0.2)
    monkeypatch.setattr(apply.StopSignals, 'on_deadline', staticmethod(give_up))

    def hang():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    started = time.monotonic()
    with pytest.raises(VifError):
        apply.apply_plan(None, [Step('a', [], fail=hang)])
    assert time.monotonic() - started < 2
    assert len(called) == 1
    assert 'interrupted by SIGTERM' in called[0] and 'did not finish within 0.2 s' in called[0]
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_the_module_gives_up_with_a_failure_result_and_exits():
    where = next(p for p in sys.path if os.path.isdir(os.path.join(p, 'ansible_collections', 'hostnet', 'vif')))
    code = ('import sys; sys.path.insert(0, %r); from ansible_collections.hostnet.vif.plugins.module_utils '
            'import _module_glue as module_glue; module_glue._give_up("stuck")' % where)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and json.loads(proc.stdout) == {'failed': True, 'msg': 'stuck'}


def test_consecutive_created_links_are_undone_as_one_bulk_delete():
    adds = [apply.AddLink({'name': 'l%d' % i, 'lower': 'v0', 'kind': 'macvlan', 'mode': 'source'}) for i in range(3)]
    other = Step('x', [])
    merged = apply._merge_adds([adds[0], adds[1], other, adds[2]])
    assert [type(a).__name__ for a in merged] == ['AddLinks', 'Step', 'AddLink']
    assert merged[0].adds == adds[:2]


def test_an_unexpected_exception_is_undone_and_named():
    log = []
    with pytest.raises(VifError) as err:
        apply.apply_plan(None, [Step('a', log), Step('b', log, fail=lambda: {}['x'])])
    assert log == ['do a', 'undo a'] and 'KeyError' in err.value.msg


def test_the_host_lock_times_out_with_a_message_naming_the_holder(tmp_path):
    path = str(tmp_path / 'l')
    with apply.HostLock(timeout=1, path=path):
        with pytest.raises(VifError) as err:
            with apply.HostLock(timeout=0.1, path=path):
                pass
    assert err.value.field == 'lock_timeout'
    assert err.value.msg.startswith('process %d (' % os.getpid()) and 'has held the host lock' in err.value.msg


def test_a_stop_signal_while_waiting_for_the_lock_ends_the_wait(tmp_path):
    path = str(tmp_path / 'l')
    with apply.HostLock(timeout=1, path=path):
        signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGHUP))
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(VifError) as err:
            with apply.HostLock(timeout=30, path=path):
                pass
    assert err.value.msg == 'interrupted by SIGHUP while waiting for the host lock; nothing was changed'


@pytest.mark.parametrize('code, op, words', [
    (errno.EEXIST, None, 'already exists'), (errno.EINVAL, 'add', 'second passthru'),
    (errno.ERANGE, None, '15 bytes'), (errno.ENODEV, None, 'does not exist'), (errno.ENOTTY, None, 'ENOTTY')])
def test_errno_in_words(code, op, words):
    err = errors.kernel_error(OSError(code, os.strerror(code)), 'ip link add x', obj='x', operation=op)
    assert words in err.msg and err.msg.startswith('ip link add x failed: ') and err.errno == code
