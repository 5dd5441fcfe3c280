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
    namespace for the command). With O(mount_namespace) set, commands enter that mount namespace as well and see its
    mounts as they are.
  - Files are copied in and out as on the local connection - the namespace shares the machine's file system.
  - Useful for labs, molecule scenarios and tests of network automation; this collection's lab and tests use it.
  - The namespace is named by a plain name only (printable ASCII, 1 to 255 characters, no whitespace, control, C(/),
    glob, C(!), C(|), quote or backslash characters, not C(.) or C(..)), and C(/run/netns/NAME) must be a network
    namespace itself (not a symbolic link, a plain file or another kind of namespace); otherwise, or when it does not
    exist, the host is unreachable with a message naming the value. A namespace is never created.
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
      - A mount namespace to enter together with the network namespace, given as C(/proc/PID/ns/mnt) of a process that
        holds it, or a file it was pinned to (C(unshare --mount=FILE)); a symbolic link is refused.
      - For hosts that are processes with mounts of their own (a container, or an emulator serving a file system
        over part of C(/sys)). Commands then see that namespace's mounts as they are, its C(/sys) included, instead of
        the fresh sysfs C(ip netns exec) mounts; that C(/sys) should be one mounted inside the network namespace, or
        C(/sys/class/net) shows another namespace's devices.
      - B(This gives root to whoever owns that mount namespace's files.) Commands run as root with that namespace's
        binaries (its C(/bin/sh), its Python interpreter, its libraries), so whoever can write them can run anything
        as root on this machine. Name only namespaces whose file systems are as trusted as the controller's own.
      - The namespace must be the one recorded when its holder was started, see O(mount_namespace_id) and
        O(mount_namespace_holder_start); a holder that is gone, a pid now used by another process, or a file that is
        not that mount namespace make the host unreachable. The controller's Python opens and checks the namespace
        files and joins them with C(setns) on those same open files before anything of the namespace runs.
      - Files are still copied through the controller's file system, so the mount namespace must see the same C(/tmp)
        and home directory (true for one unshared from the controller's).
    type: str
    vars:
      - name: ansible_netns_mount_namespace
  mount_namespace_id:
    description:
      - Required with O(mount_namespace). The namespace's identity, recorded by whoever started or pinned it - its
        inode number, as C(mnt:[4026532301]) (what C(readlink /proc/PID/ns/mnt) prints) or C(4026532301) (C(stat -L
        -c %i)). The file O(mount_namespace) names must be that namespace.
    type: str
    vars:
      - name: ansible_netns_mount_namespace_id
  mount_namespace_holder_start:
    description:
      - Required when O(mount_namespace) is a C(/proc/PID/ns/mnt) path. When process PID started, as recorded when it
        was started - field 22 of C(/proc/PID/stat) (C(starttime), clock ticks after boot; count the fields after
        the command name in parentheses, which may contain spaces). Process PID must still be that process - pids
        are reused once a process exits, and inode numbers once a namespace is gone, so the inode alone does not
        prove it.
    type: int
    vars:
      - name: ansible_netns_mount_namespace_holder_start
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
#     # a process holding its own mounts inside namespace lab-host-c; whoever started it recorded
#     # {"pid": ..., "start": ..., "mount_namespace_id": "mnt:[...]"} in /run/lab-host-c.holder.json
#     lab-host-c:
#       holder: "{{ lookup('file', '/run/lab-host-c.holder.json') | from_json }}"
#       ansible_netns_mount_namespace: "/proc/{{ holder.pid }}/ns/mnt"
#       ansible_netns_mount_namespace_id: "{{ holder.mount_namespace_id }}"
#       ansible_netns_mount_namespace_holder_start: "{{ holder.start }}"
'''

import os
import shlex
import shutil
import sys

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection
from ansible_collections.hostnet.vif.plugins.plugin_utils import _netns as namespaces


class Connection(LocalConnection):
    """The local connection, with every command entering the network namespace first."""

    transport = 'hostnet.vif.netns'
    has_pipelining = True

    def _refused(self, why):
        return AnsibleConnectionFailure("hostnet.vif.netns: host %s: %s" % (self._play_context.remote_addr, why))

    def _entering(self):
        """The command prefix that enters the namespace(s), once both are checked to be the ones meant."""
        name = self.get_option('netns') or self._play_context.remote_addr
        mount_ns = self.get_option('mount_namespace')
        mount_ns_id = self.get_option('mount_namespace_id')
        holder_start = self.get_option('mount_namespace_holder_start')
        try:
            os.close(namespaces.open_netns(name))
            if mount_ns:
                os.close(namespaces.open_mount_namespace(mount_ns, mount_ns_id, holder_start))
        except namespaces.Refused as exc:
            raise self._refused(exc) from None
        if not mount_ns:
            return [self.get_option('ip_command'), 'netns', 'exec', name]
        # The same checks again, on the descriptors it then joins: nothing of the mount namespace runs
        # unless it is the recorded one at that moment (-I -S: standard library only, no environment, no site).
        return [sys.executable, '-I', '-S', namespaces.__file__, name, mount_ns, str(mount_ns_id),
                '' if holder_start is None else str(holder_start)]

    def _connect(self):
        program = self._entering()[0]
        if not shutil.which(program):
            raise AnsibleConnectionFailure("hostnet.vif.netns: %r not found: install iproute2" % (program,))
        return super(Connection, self)._connect()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        command = cmd if isinstance(cmd, str) else cmd.decode()
        wrapped = ' '.join(shlex.quote(arg) for arg in self._entering() + ['/bin/sh', '-c', command])
        status, stdout, stderr = super(Connection, self).exec_command(wrapped, in_data=in_data, sudoable=sudoable)
        if status == namespaces.REFUSED_STATUS and stderr.startswith(namespaces.MESSAGE_PREFIX.encode()):
            # the namespace changed since the last check: the command never ran
            raise self._refused(stderr.decode(errors='replace')[len(namespaces.MESSAGE_PREFIX):].strip())
        return status, stdout, stderr
