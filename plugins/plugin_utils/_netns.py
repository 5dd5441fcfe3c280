# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The namespaces the hostnet.vif.netns connection enters: which values it accepts, and how it
checks that a file really is the namespace meant, on the open file (not a path looked at earlier).

Standard library only: besides being imported by the connection, this file is run as a script by
the controller's Python (``python -I _netns.py NETNS MOUNT_NS ID START /bin/sh -c COMMAND``) to
enter a mount namespace: it opens and checks both namespace files, joins them with setns() on
those same descriptors, and only then executes the command. A refusal exits with REFUSED_STATUS
and a message starting with MESSAGE_PREFIX on stderr.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import stat
import sys

NETNS_DIR = '/run/netns'
NS_GET_NSTYPE = 0xb703  # ioctl on a namespace file: its CLONE_NEW* type (linux/nsfs.h)
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
NAMESPACE_TYPES = {0x00000080: 'time', 0x00020000: 'mount', 0x02000000: 'cgroup', 0x04000000: 'UTS',
                   0x08000000: 'IPC', 0x10000000: 'user', 0x20000000: 'PID', 0x40000000: 'network'}
# Path separator, glob, negation, alternation, quote and backslash characters: a plain name has none
# of them (the same rule as the modules' names, plugins/module_utils/_model.py).
UNSAFE_NAME_CHARACTERS = frozenset('/*?[]!|\'"\\')
NAME_MAX = 255
DIGITS = frozenset('0123456789')
REFUSED_STATUS = 255  # as ssh's "could not connect"
MESSAGE_PREFIX = 'hostnet.vif.netns: '


class Refused(Exception):
    """A namespace the connection must not enter; the message names the value and why."""


def check_name(name):
    """A plain network namespace name (a file name in /run/netns that nothing can misread)."""
    if not isinstance(name, str) or not name:
        raise Refused("no network namespace name (set ansible_netns_name, or name the host after the namespace)")
    if len(name) > NAME_MAX:
        raise Refused("network namespace name %r has %d characters: at most %d" % (name, len(name), NAME_MAX))
    if name in ('.', '..'):
        raise Refused("network namespace name %r is not a plain name" % (name,))
    bad = sorted(set(c for c in name if not '!' <= c <= '~' or c in UNSAFE_NAME_CHARACTERS))
    if bad:
        raise Refused("network namespace name %r is not a plain name: it contains %s (names are printable ASCII "
                      "without whitespace, control, '/', glob (* ? [ ]), '!', '|', quote or backslash characters)"
                      % (name, ', '.join(repr(c) for c in bad)))
    return name


def _check_type(fd, wanted, what):
    try:
        kind = fcntl.ioctl(fd, NS_GET_NSTYPE)
    except OSError:
        raise Refused("%s is not a namespace file" % what) from None
    if kind != wanted:
        raise Refused("%s is a %s namespace, not a %s namespace" % (
            what, NAMESPACE_TYPES.get(kind, 'unknown (%#x)' % kind), NAMESPACE_TYPES[wanted]))


def _open_file(path, follow, what):
    """Open a namespace file without following a symbolic link (unless ``follow``), without blocking
    on a FIFO and without opening a device."""
    try:
        before = os.stat(path) if follow else os.lstat(path)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise Refused("%s: %s" % (what, exc.strerror)) from None
    if stat.S_ISLNK(before.st_mode):
        raise Refused("%s is a symbolic link: a namespace file is used only where it is" % what)
    if not stat.S_ISREG(before.st_mode):
        raise Refused("%s is not a namespace file (not even a regular file)" % what)
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused("%s is a symbolic link: a namespace file is used only where it is" % what) from None
        if exc.errno == errno.ENOENT:
            raise
        raise Refused("%s: %s" % (what, exc.strerror)) from None
    opened = os.fstat(fd)
    if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
        os.close(fd)
        raise Refused("%s changed while it was being opened" % what)
    return fd


def open_netns(name):
    """An open descriptor of network namespace ``name`` (/run/netns/NAME), checked to be one."""
    check_name(name)
    try:
        directory = os.lstat(NETNS_DIR)
    except FileNotFoundError:
        directory = None
    if directory is not None and (not stat.S_ISDIR(directory.st_mode) or directory.st_uid != 0
                                  or directory.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
        raise Refused("%s is not a directory that only root can change: its entries cannot be trusted" % NETNS_DIR)
    path = os.path.join(NETNS_DIR, name)
    what = "network namespace %r (%s)" % (name, path)
    try:
        fd = _open_file(path, False, what) if directory is not None else None
    except FileNotFoundError:
        fd = None
    if fd is None:
        raise Refused("network namespace %r does not exist (looked for %s); create it first (ip netns add %s): "
                      "this connection never creates one" % (name, path, name))
    try:
        _check_type(fd, CLONE_NEWNET, what)
    except Refused:
        os.close(fd)
        raise
    return fd


def parse_mount_namespace_id(value):
    """The inode number of ``mnt:[4026532301]`` (as readlink /proc/PID/ns/mnt shows it) or ``4026532301``."""
    text = '' if value is None else str(value).strip()
    number = text[len('mnt:['):-1] if text.startswith('mnt:[') and text.endswith(']') else text
    if not text:
        raise Refused("mount_namespace_id is required with mount_namespace: the namespace's inode number recorded "
                      "by whoever started its holder (readlink /proc/PID/ns/mnt prints mnt:[INODE])")
    if not number or not set(number) <= DIGITS:
        raise Refused("mount_namespace_id %r is not a mount namespace id: expected mnt:[INODE] or INODE" % (value,))
    return int(number)


def holder_pid(path):
    """PID of a /proc/PID/ns/mnt path: a namespace named through a process, whose pid is reused once it exits."""
    parts = path.split('/')
    if len(parts) == 5 and parts[:2] == ['', 'proc'] and parts[3:] == ['ns', 'mnt'] and parts[2] \
            and set(parts[2]) <= DIGITS and parts[2][0] != '0':
        return int(parts[2])
    return None


def process_start_time(pid):
    """When process ``pid`` started, in clock ticks after boot (field 22 of /proc/PID/stat); None if gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            fields = handle.read().rsplit(b')', 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] == b'Z':  # a zombie: it has released its namespaces already
        return None
    return int(fields[19])


def open_mount_namespace(path, expected_id, holder_start=None):
    """An open descriptor of the mount namespace ``path`` names, checked to be the one recorded:
    its inode is ``expected_id``; for a /proc/PID/ns/mnt path, process PID also still is the one that
    started at ``holder_start`` (a pid is reused once its process exits, and so are inode numbers
    once a namespace is gone)."""
    inode = parse_mount_namespace_id(expected_id)
    if not isinstance(path, str) or not path.startswith('/'):
        raise Refused("mount_namespace %r is not an absolute path" % (path,))
    pid = holder_pid(path)
    if pid and holder_start in (None, ''):
        raise Refused("mount_namespace %r names a process: mount_namespace_holder_start is required (the start time "
                      "the holder had when it was recorded, field 22 of /proc/PID/stat), since pids are reused"
                      % (path,))
    try:
        expected_start = None if holder_start in (None, '') else int(holder_start)
    except (TypeError, ValueError):
        raise Refused("mount_namespace_holder_start %r is not a number of clock ticks" % (holder_start,)) from None
    what = "mount_namespace %r" % (path,)
    try:
        # /proc/PID/ns/mnt is a link only the kernel resolves; any other path must be the file itself
        fd = _open_file(path, bool(pid), what)
    except FileNotFoundError:
        raise Refused("%s does not exist (is the process holding it still running?)" % what) from None
    try:
        _check_type(fd, CLONE_NEWNS, what)
        if pid and expected_start is not None:
            # Read after the open: if PID is the recorded holder now, it was at the open too.
            started = process_start_time(pid)
            if started != expected_start:
                raise Refused("%s: process %d %s, not the holder that started at %d (its pid was reused?)" % (
                    what, pid, 'is gone' if started is None else 'started at %d' % started,
                    expected_start))
        found = os.fstat(fd).st_ino
        if found != inode:
            raise Refused("%s is mount namespace mnt:[%d], not the recorded mnt:[%d] (mount_namespace_id)"
                          % (what, found, inode))
    except Refused:
        os.close(fd)
        raise
    return fd


def _setns(fd, nstype):
    if hasattr(os, 'setns'):  # Python 3.12+
        os.setns(fd, nstype)
        return
    import ctypes  # only where needed: it costs more than the rest of this script's start
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def main(argv):
    """NETNS MOUNT_NS MOUNT_NS_ID HOLDER_START PROGRAM [ARG...]: enter both, checked, and exec PROGRAM."""
    if len(argv) < 5:
        sys.stderr.write(MESSAGE_PREFIX + "usage: NETNS MOUNT_NS MOUNT_NS_ID HOLDER_START PROGRAM [ARG...]\n")
        return 2
    name, mount_ns, mount_ns_id, holder_start = argv[:4]
    try:
        net_fd = open_netns(name)
        mount_fd = open_mount_namespace(mount_ns, mount_ns_id, holder_start or None)
        # The network namespace first: after the mount namespace, /run/netns would be that namespace's.
        _setns(net_fd, CLONE_NEWNET)
        _setns(mount_fd, CLONE_NEWNS)
    except (Refused, OSError) as exc:
        sys.stderr.write(MESSAGE_PREFIX + str(exc) + '\n')
        return REFUSED_STATUS
    os.close(net_fd)
    os.close(mount_fd)
    try:
        os.execv(argv[4], argv[4:])
    except OSError as exc:  # the mount namespace has no such program: as a shell would answer
        sys.stderr.write('%s: %s\n' % (argv[4], exc.strerror))
    return 127


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
