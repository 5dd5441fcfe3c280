# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place where pyroute2 versions differ for this collection: which version is installed, the
floor this collection supports, and how a netlink session is opened inside a named network namespace.

Supported: pyroute2 0.7.2 (Debian 12's python3-pyroute2) and later. Every request the engine sends is
encoded the same way from 0.7.2 to 0.9.x; only opening a session in another namespace differs
(``IPRoute(netns=, flags=)`` exists only in 0.9, 0.7/0.8 have a proxy process, ``NetNS``). A netlink
socket belongs to the network namespace of the thread that creates it, and every supported version
creates the socket in ``IPRoute.__init__``: so the session is opened with this thread inside the
namespace (setns), which then returns to its own. No proxy process, no namespace ever created.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError

PYROUTE2_FLOOR = (0, 7, 2)
CLONE_NEWNET = 0x40000000
_checked: list = []  # the installed version, once it passed the floor check


def pyroute2_version():
    """The installed pyroute2 version string. Read from the package metadata: Debian's 0.7.2 says
    "unknown" in pyroute2.__version__."""
    try:
        from importlib.metadata import version
        return version('pyroute2')
    except Exception:  # no metadata (a copied tree): what the module says about itself
        import pyroute2
        return str(getattr(pyroute2, '__version__', 'unknown'))


def version_tuple(text):
    """'0.7.12' -> (0, 7, 12); a version without numbers -> None."""
    match = re.match(r'^\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?', text or '')
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def check_pyroute2(installed=None):
    """Refuse a pyroute2 below the floor, naming both versions (before anything is changed)."""
    if _checked and installed is None:
        return
    text = pyroute2_version() if installed is None else installed
    found = version_tuple(text)
    if found is not None and found < PYROUTE2_FLOOR:
        raise VifError("pyroute2 %s is installed for this Python; hostnet.vif needs pyroute2 >= %s (Debian 12's "
                       "python3-pyroute2 or later, or 'pip install \"pyroute2>=%s\"')"
                       % (text, '.'.join(map(str, PYROUTE2_FLOOR)), '.'.join(map(str, PYROUTE2_FLOOR))),
                       field='pyroute2', value=text)
    if installed is None:
        _checked.append(text)


def open_in_netns(open_session, netns_file, setns):
    """``open_session()`` run with this thread inside the network namespace ``netns_file`` (a path
    under /run/netns), then back in its own. ``setns(fd, nstype)`` is the kernel layer's setns.

    A missing file raises FileNotFoundError: the namespace is never created. setns with
    CLONE_NEWNET refuses (EINVAL) a file that is not a network namespace. If this thread could not
    return to its own namespace, nothing else may run in the wrong one: that is an error too.
    """
    own = os.open('/proc/thread-self/ns/net', os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(netns_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            setns(target, CLONE_NEWNET)
        finally:
            os.close(target)
        try:
            return open_session()
        finally:
            try:
                setns(own, CLONE_NEWNET)
            except OSError as exc:
                raise VifError("could not return to the module's own network namespace after opening a netlink "
                               "session in %s: %s" % (netns_file, exc)) from exc
    finally:
        os.close(own)
