# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hostnet.vif.topology: vif_info facts -> a Mermaid flowchart (documentation in topology.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError


def _node(kind, name):
    """A Mermaid node id: letters, digits and underscores only, unique per kind."""
    return '%s_%s' % (kind, re.sub(r'[^A-Za-z0-9_]', '_', str(name)))


def _label(text):
    return '"%s"' % str(text).replace('"', "'")


def topology(vif, direction='LR'):
    """Lower devices -> their macvlan/macvtap links (with modes), bridges -> ports (hairpin),
    SR-IOV PFs -> VFs. ``vif`` is the ``vif`` result of hostnet.vif.vif_info, or a list of them
    (one per namespace)."""
    if direction not in ('LR', 'TB', 'RL', 'BT'):
        raise AnsibleFilterError("topology: direction must be LR, TB, RL or BT, not %r" % (direction,))
    views = vif if isinstance(vif, list) else [vif]
    lines = ['flowchart %s' % direction]
    for index, view in enumerate(views):
        if not isinstance(view, dict) or 'links' not in view:
            raise AnsibleFilterError("topology: expected the 'vif' result of hostnet.vif.vif_info, got %s"
                                     % type(view).__name__)
        space = view.get('netns') or 'host'
        prefix = 'n%d' % index
        lines.append('  subgraph %s [%s]' % (prefix, _label('netns ' + space if view.get('netns') else space)))
        for lower in sorted(view.get('lowers') or {}):
            lines.append('    %s[%s]' % (_node(prefix + '_dev', lower), _label(lower)))
        for link in view.get('links') or []:
            node = _node(prefix + '_dev', link['name'])
            text = '%s<br/>%s %s' % (link['name'], link['kind'], link['mode'])
            if link.get('device') and link['device'].get('path'):
                text += '<br/>%s' % link['device']['path']
            lines.append('    %s([%s])' % (node, _label(text)))
            if link.get('lower'):
                lines.append('    %s -->|%s| %s' % (_node(prefix + '_dev', link['lower']), link['mode'], node))
        for port in view.get('bridge_ports') or []:
            bridge = _node(prefix + '_dev', port['bridge'])
            lines.append('    %s{{%s}}' % (bridge, _label('bridge ' + str(port['bridge']))))
            lines.append('    %s[%s]' % (_node(prefix + '_dev', port['name']), _label(port['name'])))
            state = 'hairpin on' if port['hairpin'] else 'hairpin off'
            lines.append('    %s ---|%s| %s' % (bridge, state, _node(prefix + '_dev', port['name'])))
        for tap in view.get('taps') or []:
            text = _label('%s %s' % (tap['type'], tap['name']))
            lines.append('    %s[/%s/]' % (_node(prefix + '_dev', tap['name']), text))
        for pf in view.get('sriov') or []:
            pf_node = _node(prefix + '_dev', pf['name'])
            lines.append('    %s[%s]' % (pf_node, _label('%s PF %s<br/>%s/%s VFs' % (
                pf['name'], pf.get('pci_address'), pf.get('numvfs'), pf.get('totalvfs')))))
            for vf in pf.get('vfs') or []:
                vf_node = _node(prefix + '_vf', '%s_%s' % (pf['name'], vf['vf']))
                text = 'VF %s %s' % (vf['vf'], ' '.join(vf.get('netdevs') or []))
                lines.append('    %s[%s]' % (vf_node, _label(text.strip())))
                lines.append('    %s --> %s' % (pf_node, vf_node))
        lines.append('  end')
    return '\n'.join(lines) + '\n'


class FilterModule(object):

    def filters(self):
        return {'topology': topology}
