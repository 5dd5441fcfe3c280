# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where runs keep their state on the host, and how a process is told apart from a later one
with the same pid.

Everything lives under RUN_DIR, a directory only root can use: in a world-writable place (such as
/run/lock or /tmp) any local user could plant a symlink for root to follow, pre-create a file, or
hold a lock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.hostnet.vif.plugins.module_utils import _nofollow as nofollow
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

RUN_DIR = '/run/hostnet-vif'


def start_time(pid):
    """A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or None when
    no such process exists: with the pid it names one process for good (pids are recycled)."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return int(handle.read().rsplit(')', 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def private_dir(path):
    """A directory only this process's user can use, made 0700 when missing (whatever the umask),
    reached without following a symlink (nofollow.open_dir); returned as a file descriptor to work
    relative to. One owned by another user, or open to others in any way, is refused."""
    fd = nofollow.open_dir(path, 0o700)
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        os.close(fd)
        raise VifError("%s: must belong to uid %d and be closed to others (it is uid %d, mode %04o); refusing to "
                       "work there, remove it and run again"
                       % (path, os.geteuid(), st.st_uid, stat.S_IMODE(st.st_mode)))
    return fd
