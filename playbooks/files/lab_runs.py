"""Runs of playbooks/lab.yml: each has its own id, so that labs running at the same time never remove
each other's namespaces, and the next run removes only what a dead run left.

A run RUN owns the network namespaces hvlab-RUN-* and the entries /run/hvlab-RUN-* (holder records of
emulated SR-IOV hosts, persisted profile files), and is recorded by its marker /run/hvlab-RUN.run:
the pid and start time of the ansible-playbook process that runs it. A run is dead when that process
is: gone, a zombie, or its pid now belongs to a process that started at another time.

    lab_runs.py begin WORKER_PID      record a new run owned by the parent of WORKER_PID (the
                                      ansible-playbook process that forked the worker running the
                                      lookup: pass the shell's $PPID); prints its id
    lab_runs.py clean EMULATOR        remove every dead run (prints JSON: the runs removed)
    lab_runs.py remove EMULATOR RUN   remove run RUN, marker last (the run's own teardown)

EMULATOR is tests/kernel/sriov_emulator.py: its ``stop`` stops recorded holders.
"""

import json
import os
import re
import secrets
import shutil
import stat
import subprocess
import sys

RUN_DIR = '/run'
DEV_DIR = '/dev/hostnet-vif'  # the modules' private device nodes, a directory per namespace
NETNS_DIR = '/run/netns'
PREFIX = 'hvlab-'
RUN_ID = re.compile(r'^[0-9a-f]{8}$')
MARKER = re.compile(r'^hvlab-([0-9a-f]{8})\.run$')
OWNED = re.compile(r'^hvlab-([0-9a-f]{8})-')


def start_time(pid):
    """Field 22 of /proc/PID/stat, None for a process that is gone or a zombie."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            fields = handle.read().rsplit(b')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == b'Z' else int(fields[19])


def _cmdline(pid):
    with open('/proc/%d/cmdline' % pid, 'rb') as handle:
        return handle.read()


def _parent(pid):
    with open('/proc/%d/stat' % pid, 'rb') as handle:
        return int(handle.read().rsplit(b')', 1)[1].split()[1])


def begin(worker):
    """A new run, owned by ansible-playbook: the worker's parent, which forked it (same command line)."""
    owner = _parent(worker)
    if _cmdline(owner) != _cmdline(worker):
        raise SystemExit('lab_runs.py: process %d is not the ansible-playbook process that forked worker %d'
                         % (owner, worker))
    record = json.dumps({'pid': owner, 'start': start_time(owner)}) + '\n'
    while True:
        run = secrets.token_hex(4)
        try:  # root-owned, never over an existing entry: a run id is never reused
            fd = os.open(os.path.join(RUN_DIR, PREFIX + run + '.run'),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, 'w') as handle:
            handle.write(record)
        return run


def alive(run):
    """Whether run ``run``'s owner still runs; a missing or unreadable marker means a dead run."""
    try:
        fd = os.open(os.path.join(RUN_DIR, PREFIX + run + '.run'), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    with os.fdopen(fd) as handle:
        if os.fstat(handle.fileno()).st_uid != 0:
            return False
        try:
            record = json.loads(handle.read())
            return start_time(int(record['pid'])) == int(record['start'])
        except (ValueError, KeyError, TypeError):
            return False


def _namespaces():
    try:
        return sorted(name for name in os.listdir(NETNS_DIR) if OWNED.match(name))
    except FileNotFoundError:
        return []


def _entries():
    return sorted(name for name in os.listdir(RUN_DIR) if OWNED.match(name) or MARKER.match(name))


def remove(emulator, run):
    """Everything of run ``run``: holders stopped, /run entries and namespaces removed, marker last."""
    mine = PREFIX + run + '-'
    entries = [name for name in _entries() if name.startswith(mine)]
    holders = [os.path.join(RUN_DIR, name) for name in entries if name.endswith('.sriov-holder.json')]
    if holders:
        subprocess.run([sys.executable, emulator, 'stop'] + holders, check=True)
    for name in entries:
        path = os.path.join(RUN_DIR, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)  # fd-based on Linux: follows no link inside
        elif os.path.lexists(path):
            os.unlink(path)
    for name in _namespaces():
        if name.startswith(mine):
            subprocess.run(['ip', 'netns', 'del', name], check=False, capture_output=True)
    for name in os.listdir(DEV_DIR) if os.path.isdir(DEV_DIR) else ():
        if name.startswith(mine):  # macvtap nodes made for a namespace whose /dev/tapN name was taken
            shutil.rmtree(os.path.join(DEV_DIR, name), ignore_errors=True)  # a symlink is refused, not followed
    marker = os.path.join(RUN_DIR, PREFIX + run + '.run')
    if os.path.lexists(marker) and stat.S_ISREG(os.lstat(marker).st_mode):
        os.unlink(marker)


def clean(emulator):
    """Remove every dead run. Namespaces are listed BEFORE the markers are read: a run starting meanwhile
    writes its marker before its first namespace, so none of its namespaces can be seen without it."""
    runs = set(OWNED.match(name).group(1) for name in _namespaces())
    runs.update((OWNED.match(name) or MARKER.match(name)).group(1) for name in _entries())
    dead = sorted(run for run in runs if not alive(run))
    for run in dead:
        remove(emulator, run)
    return dead


def main(argv):
    if argv[:1] == ['begin'] and len(argv) == 2:
        print(begin(int(argv[1])))
    elif argv[:1] == ['clean'] and len(argv) == 2:
        print(json.dumps(clean(argv[1])))
    elif argv[:1] == ['remove'] and len(argv) == 3 and RUN_ID.match(argv[2]):
        remove(argv[1], argv[2])
    else:
        raise SystemExit(__doc__)


if __name__ == '__main__':
    main(sys.argv[1:])
