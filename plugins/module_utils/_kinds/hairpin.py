# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hairpin flag of bridge ports (existing links; the module never creates or deletes one)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.hostnet.vif.plugins.module_utils._apply import SetHairpin
from ansible_collections.hostnet.vif.plugins.module_utils._errors import invalid
from ansible_collections.hostnet.vif.plugins.module_utils._model import (
    check_ifname, reject_duplicates, task_entries)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds._fields import (
    IN_PLACE, Field, module_options, names, normalise)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds.base import Handler, Links, Plan, differences


# A bridge port (top level, and the keys of a ports: entry, which may also be just the name).
PORT_FIELDS = (
    Field('name', check=check_ifname, per_entry=True, required=True),
    Field('hairpin', type='bool', default=True, change=IN_PLACE),
)
VERIFIED = names(PORT_FIELDS, verify=True)


class HairpinHandler(Handler):
    def argument_spec(self):
        return module_options(PORT_FIELDS, 'ports')

    def build(self, params):
        return build_hairpin_specs(params)

    def read(self, kernel, netns, task, after=False):
        return Links(kernel.dump_links())

    def check(self, task, state):
        check_hairpin_against(task, state.links)

    def plan(self, task, state):
        return plan_hairpin(task, state.links)

    def describe(self, obj):
        return 'bridge port %s (bridge %s): hairpin %s' % (obj['name'], obj.get('master'),
                                                           'on' if obj['hairpin'] else 'off')

    def report_planned(self, netns, task, state, plan, check_mode):
        return self.report(netns, task, plan, state)

    def problems(self, task, plan, after):
        found = []
        for spec in task:
            found.extend(differences(spec['name'], spec, after.links.get(spec['name']) or {}, VERIFIED))
        return found

    def report(self, netns, task, plan, after):
        view = dict((n, plan.after.get(n) or after.links.get(n)) for n in (s['name'] for s in task))
        return {'ports': [{'name': n, 'bridge': view[n].get('master'), 'hairpin': view[n].get('hairpin'),
                           'netns': netns} for n in sorted(view)]}


HAIRPIN = HairpinHandler()


def build_hairpin_specs(params):
    specs = []
    for position, entry in task_entries(params, 'ports', 'name', 'bridge port', names(PORT_FIELDS),
                                        bare_names=True):
        name = check_ifname(entry['name'], 'name' if position is None else 'ports[%s].name' % position)
        specs.append(dict(normalise(PORT_FIELDS, entry, name, skip=('name',)), name=name))
    return reject_duplicates(specs, 'name')


def check_hairpin_against(specs, current):
    for spec in specs:
        port = current.get(spec['name'])
        if port is None:
            raise invalid('name', spec['name'], "no such device in this network namespace", spec['name'])
        if port.get('hairpin') is None:
            master = port.get('master')
            raise invalid('name', spec['name'], "is not a port of a Linux bridge%s" %
                          (" (its master %s is not a bridge)" % master if master else " (it has no master)"),
                          spec['name'])


def plan_hairpin(specs, current):
    plan = Plan()
    for spec in specs:
        port = current[spec['name']]
        if port['hairpin'] != spec['hairpin']:
            plan.actions.append(SetHairpin(port, spec['hairpin']))
            plan.touch(spec['name'], port, dict(port, hairpin=spec['hairpin']))
    return plan
