# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Directories root works in (device nodes under /dev, persisted configuration files), reached
without following a symbolic link and refused when another user could change what is in them.

A path is walked from / one directory at a time (openat with O_NOFOLLOW); every directory on the
way must belong to root (or to the module's own user) and be writable by nobody else. A sticky
directory such as /tmp may be on the way (others cannot rename or remove what root made in it),
never at the end. What the walk returns is a directory descriptor: the caller works *in* it
(openat, mknodat, renameat, unlinkat), so nothing can be redirected after the check.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import os
import stat

from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _refuse(path, where, why, field):
    return VifError("%s: %s %s; refusing to work there (another user could redirect or replace what root writes)"
                    % (path, where, why), obj=path, field=field, value=path if field else None)


def _check(fd, path, where, last, field):
    st = os.fstat(fd)
    if st.st_uid not in (0, os.geteuid()):
        raise _refuse(path, where, "is owned by uid %d, not root" % st.st_uid, field)
    if st.st_mode & 0o022 and (last or not st.st_mode & stat.S_ISVTX):
        raise _refuse(path, where, "is writable by others than its owner (mode %04o)" % stat.S_IMODE(st.st_mode),
                      field)


def open_dir(path, create_mode=None, field=None):
    """A descriptor (O_RDONLY|O_DIRECTORY) of directory ``path``, or None when it is missing and
    ``create_mode`` is None; missing directories are otherwise made with exactly that mode, whatever
    the umask. A symbolic link anywhere on the path is refused (VifError naming ``field``)."""
    if not isinstance(path, str) or not path.startswith('/') or '\0' in path:
        raise VifError("%r is not an absolute path" % (path,), obj=path, field=field, value=path if field else None)
    parts = [part for part in path.split('/') if part not in ('', '.')]
    if '..' in parts:
        raise VifError("%s: '..' is not allowed in this path" % path, obj=path, field=field,
                       value=path if field else None)
    fd = os.open('/', DIR_FLAGS)
    where = '/'
    try:
        _check(fd, path, where, not parts, field)
        for position, part in enumerate(parts):
            where = os.path.join(where, part)
            made = False
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if create_mode is None:
                    os.close(fd)
                    return None
                try:
                    os.mkdir(part, create_mode, dir_fd=fd)
                    made = True
                except FileExistsError:
                    pass  # made meanwhile: opened and checked like any other
                child = _open_child(fd, part, path, where, field)
            except OSError as exc:
                if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                child = _open_child(fd, part, path, where, field)
            os.close(fd)
            fd = child
            if made:
                os.fchmod(fd, create_mode)  # mkdir's mode went through the umask
            _check(fd, path, where, position == len(parts) - 1, field)
        return fd
    except BaseException:
        os.close(fd)
        raise


def _open_child(parent_fd, part, path, where, field):
    try:
        return os.open(part, DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
    kind = os.stat(part, dir_fd=parent_fd, follow_symlinks=False).st_mode
    raise _refuse(path, where, "is a symbolic link" if stat.S_ISLNK(kind) else "is not a directory", field)


@contextlib.contextmanager
def directory(path, create_mode=None, field=None):
    """open_dir as a context: the descriptor (or None) is closed on leaving."""
    fd = open_dir(path, create_mode, field)
    try:
        yield fd
    finally:
        if fd is not None:
            os.close(fd)
