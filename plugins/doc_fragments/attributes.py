# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes every hostnet.vif module has. A module's own attributes entry keeps these descriptions
and adds its support level and details (Ansible merges each attribute's keys, the module's winning)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in check mode and return a prediction of the change without changing the target.
  diff_mode:
    description: Returns what changed (or, in check mode, what would change) when run with C(--diff).
  idempotent:
    description: When run twice in a row with the same arguments, the second run reports no change and changes nothing.
  platform:
    description: Linux; pyroute2 >= 0.7.2 for the Python that runs modules on the managed host.
    support: full
    platforms: posix
  action_group:
    description: Use C(group/hostnet.vif.vif) in C(module_defaults) to set defaults for this module; for example
      O(netns) and O(lock_timeout), which every module of the collection takes, can be set once for all of them.
    support: full
    membership:
      - hostnet.vif.vif
'''
