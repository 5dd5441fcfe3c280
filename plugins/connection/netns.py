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
    namespace for the command).
  - Files are copied in and out as on the local connection - the namespace shares the machine's file system.
  - Useful for labs, molecule scenarios and tests of network automation; this collection's lab and tests use it.
  - A namespace that does not exist makes the host unreachable with a message saying so; it is never created.
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
'''

import os
import shlex
import shutil

from ansible.errors import AnsibleConnectionFailure
from ansible.plugins.connection.local import Connection as LocalConnection

NETNS_DIR = '/run/netns'


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

    def _connect(self):
        self._namespace()
        ip = self.get_option('ip_command')
        if not shutil.which(ip):
            raise AnsibleConnectionFailure("hostnet.vif.netns: %r not found: install iproute2" % ip)
        return super(Connection, self)._connect()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        name = self._namespace()
        wrapped = '%s netns exec %s /bin/sh -c %s' % (shlex.quote(self.get_option('ip_command')), shlex.quote(name),
                                                      shlex.quote(cmd if isinstance(cmd, str) else cmd.decode()))
        return super(Connection, self).exec_command(wrapped, in_data=in_data, sudoable=sudoable)
