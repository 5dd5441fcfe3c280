# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: netns
short_description: Run tasks inside a network namespace of the machine running Ansible
version_added: 0.1.0
description:
  - Makes an inventory host out of a named network namespace (C(ip netns add NAME)) on the controller's own machine.
    Every command and module of a task, fact gathering included, runs through C(ip netns exec NAME), so it sees the
    namespace's links, addresses and routes, and its own C(/sys/class/net) (C(ip netns exec) mounts a sysfs of the
    namespace for the command). With O(mount_namespace) set, commands enter that mount namespace as well (with
    C(nsenter)) and see its mounts as they are.
  - Files are copied in and out as on the local connection - the namespace shares the machine's file system.
  - Useful for labs, molecule scenarios and tests of network automation; this collection's lab and tests use it.
  - A namespace that does not exist makes the host unreachable with a message saying so; it is never created.
    The same holds for a O(mount_namespace) file that does not exist or is not a mount namespace.
author:
  - hostnet.vif contributors (@hostnet)
extends_documentation_fragment:
  - connection_pipelining
options:
  netns:
    description: The network namespace; when unset, the host's address (C(ansible_host), else its inventory name).
    type: str
    vars:
      - name: ansible_netns_name
  ip_command:
    description: The C(ip) program (iproute2) that enters the namespace.
    type: str
    default: ip
    vars:
      - name: ansible_netns_ip_command
  mount_namespace:
    description:
      - A mount namespace to enter together with the network namespace, given as a namespace file, for example
        C(/proc/PID/ns/mnt) of a process that holds it, or a file it was pinned to (C(unshare --mount=FILE)).
      - For hosts that are processes with mounts of their own (a container, or an emulator serving a file system
        over part of C(/sys)). Commands then see that namespace's mounts as they are, its C(/sys) included, instead of
        the fresh sysfs C(ip netns exec) mounts; that C(/sys) should be one mounted inside the network namespace, or
        C(/sys/class/net) shows another namespace's devices.
      - Commands are run with C(nsenter) (util-linux). Files are still copied through the controller's file system, so
        the mount namespace must see the same C(/tmp) and home directory (true for one unshared from the controller's).
    type: str
    vars:
      - name: ansible_netns_mount_namespace
notes:
  - Needs root on the controller (entering a network namespace takes CAP_SYS_ADMIN).
  - The remote user is ignored, as with the local connection.
'''

EXAMPLES = r'''
# inventory.yml: two namespaces as hosts
# all:
#   vars:
#     ansible_connection: hostnet.vif.netns
#     ansible_python_interpreter: /usr/bin/python3
#   hosts:
#     lab-host-a: {}
#     lab-host-b: {ansible_netns_name: hvlab-host-b}
#     # a process (here: pid in a file) holding its own mounts inside namespace lab-host-c
#     lab-host-c:
#       ansible_netns_mount_namespace: "/proc/{{ lookup('file', '/run/lab-host-c.pid') }}/ns/mnt"
'''

import fcntl
import os
import shlex
import shutil

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection

NETNS_DIR = '/run/netns'
NS_GET_NSTYPE = 0xb703  # ioctl on a namespace file: its CLONE_NEW* type (linux/nsfs.h)
CLONE_NEWNS = 0x00020000


class Connection(LocalConnection):
    """The local connection, with every command entering the network namespace first."""

    transport = 'hostnet.vif.netns'
    has_pipelining = True

    def _namespace(self):
        name = self.get_option('netns') or self._play_context.remote_addr
        if not name or '/' in name:
            raise AnsibleConnectionFailure("hostnet.vif.netns: %r is not a network namespace name" % (name,))
        if not os.path.exists(os.path.join(NETNS_DIR, name)):
            raise AnsibleConnectionFailure(
                "hostnet.vif.netns: network namespace %r does not exist (looked for %s); create it first "
                "(ip netns add %s): this connection never creates one" % (name, os.path.join(NETNS_DIR, name), name))
        return name

    def _mount_namespace(self):
        path = self.get_option('mount_namespace')
        if not path:
            return None
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise AnsibleConnectionFailure("hostnet.vif.netns: mount_namespace %r: %s (is the process holding it "
                                           "still running?)" % (path, exc.strerror)) from None
        try:
            kind = fcntl.ioctl(fd, NS_GET_NSTYPE)
        except OSError:
            kind = None  # not a namespace file at all
        finally:
            os.close(fd)
        if kind != CLONE_NEWNS:
            raise AnsibleConnectionFailure("hostnet.vif.netns: mount_namespace %r is not a mount namespace" % (path,))
        return path

    def _entering(self):
        """The command prefix that enters the namespace(s)."""
        name = self._namespace()
        mount_ns = self._mount_namespace()
        if mount_ns is None:
            return [self.get_option('ip_command'), 'netns', 'exec', name]
        return ['nsenter', '--net=' + os.path.join(NETNS_DIR, name), '--mount=' + mount_ns]

    def _connect(self):
        program = self._entering()[0]
        if not shutil.which(program):
            raise AnsibleConnectionFailure("hostnet.vif.netns: %r not found: install %s" % (
                program, 'util-linux' if program == 'nsenter' else 'iproute2'))
        return super(Connection, self)._connect()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        command = cmd if isinstance(cmd, str) else cmd.decode()
        wrapped = ' '.join(shlex.quote(arg) for arg in self._entering() + ['/bin/sh', '-c', command])
        return super(Connection, self).exec_command(wrapped, in_data=in_data, sudoable=sudoable)
