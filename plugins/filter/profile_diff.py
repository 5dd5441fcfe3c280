# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""profile_diff: what a host (hostnet.vif.vif_info's vif) lacks compared with a host profile."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _by_name(records):
    return dict((r['name'], r) for r in records or [])


def profile_diff(vif, profile):
    """One readable line per difference; an empty list when the host is as the profile says."""
    if not isinstance(vif, dict) or not isinstance(profile, dict):
        raise AnsibleFilterError('profile_diff expects the vif result of hostnet.vif.vif_info and a profile dictionary')
    problems = []
    for kind in ('macvlan', 'macvtap'):
        have = _by_name(link for link in vif.get('links') or [] if link.get('kind') == kind)
        for link in profile.get(kind) or []:
            if link.get('state', 'present') == 'absent':
                if link['name'] in have:
                    problems.append('%s %s should be absent but exists' % (kind, link['name']))
                continue
            got = have.get(link['name'])
            if got is None:
                problems.append('%s %s is missing (wanted on %s, mode %s)' % (
                    kind, link['name'], link.get('lower'), link.get('mode', 'vepa')))
                continue
            wanted = (('lower', link.get('lower')), ('mode', link.get('mode', 'vepa')), ('mtu', link.get('mtu')),
                      ('mac', (link.get('mac') or '').lower() or None))
            for field, want in wanted:
                if want is not None and got.get(field) != want:
                    problems.append('%s %s: %s is %s, the profile says %s' % (
                        kind, link['name'], field, got.get(field), want))
    taps = _by_name(vif.get('taps'))
    for tap in profile.get('taps') or []:
        if tap.get('state', 'present') == 'absent':
            if tap['name'] in taps:
                problems.append('tap %s should be absent but exists' % tap['name'])
        elif tap['name'] not in taps:
            problems.append('tap %s is missing' % tap['name'])
        elif tap.get('bridge') and taps[tap['name']].get('bridge') != tap['bridge']:
            problems.append('tap %s: bridge is %s, the profile says %s' % (tap['name'], taps[tap['name']].get('bridge'),
                                                                           tap['bridge']))
    ports = _by_name(vif.get('bridge_ports'))
    for port in profile.get('hairpin') or []:
        got = ports.get(port['name'])
        if got is None:
            problems.append('bridge port %s is missing' % port['name'])
        elif bool(got.get('hairpin')) != bool(port.get('hairpin')):
            problems.append('bridge port %s: hairpin is %s, the profile says %s' % (
                port['name'], 'on' if got.get('hairpin') else 'off', 'on' if port.get('hairpin') else 'off'))
    return problems


class FilterModule(object):
    def filters(self):
        return {'profile_diff': profile_diff}
