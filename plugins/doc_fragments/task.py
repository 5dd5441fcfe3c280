# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options every module that changes the host takes (module_glue._TASK): where, and how long
    # to wait for another run.
    DOCUMENTATION = r'''
options:
  netns:
    description:
      - Name of an existing network namespace (as in C(ip netns list), a file under C(/run/netns)) to operate in;
        the module's own when omitted.
      - A missing namespace is an error; it is never created.
    type: str
  lock_timeout:
    description:
      - Seconds to wait for another hostnet.vif run on the same host (for example an overlapping AWX job)
        to finish. Runs on one host are serialised so neither sees or undoes the other's half-made changes.
    type: float
    default: 120
'''
