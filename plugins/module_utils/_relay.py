# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reflective-relay expectation: what the switch port behind a lower device does with a frame
that must go back out of the port it came in on (what VEPA mode relies on).

Two ways to know: the active probe (probe.py: two throwaway VEPA endpoints, real frames) and,
where lldpad runs, the EVB TLV the switch advertises (lldptool). This module holds the
expectation logic: the specs, the checks that keep the probe from disturbing anything, the
verdict and the sentences a user reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shutil
import subprocess
import time

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils import _probe as probe
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid
from ansible_collections.hostnet.vif.plugins.module_utils import _model as model
from ansible_collections.hostnet.vif.plugins.module_utils._model import check_ifname, to_bool

EXPECTS = ('required', 'forbidden', 'any')
METHODS = ('probe', 'lldp', 'auto')
ENTRY_FIELDS = ('name', 'expect', 'method')


def build_relay_specs(params):
    """Task arguments -> one spec per lower device: name, expect, method."""
    specs = []
    for position, entry in model.task_entries(params, 'lowers', 'lower', 'lower device', ENTRY_FIELDS, bare_names=True):
        if position is None:
            name = check_ifname(params['lower'], 'lower')
        else:
            name = check_ifname(entry['name'], 'lowers[%d].name' % position)
        expect = entry['expect'] or 'any'
        if expect not in EXPECTS:
            raise invalid('expect', expect, "expected one of %s" % ', '.join(EXPECTS), name)
        method = entry['method'] or 'auto'
        if method not in METHODS:
            raise invalid('method', method, "expected one of %s" % ', '.join(METHODS), name)
        specs.append({'name': name, 'expect': expect, 'method': method})
    model.reject_duplicates(specs, 'name', field='lower')
    frames = params.get('frames', 5)
    if isinstance(frames, bool) or not isinstance(frames, int) or not 1 <= frames <= 100:
        raise invalid('frames', frames, "expected a whole number from 1 to 100")
    model.check_seconds(params.get('timeout', 1.0), 'timeout', 0.1, 30)
    return specs


def probe_obstacle(name, links):
    """Why the probe must not run on this lower device: raises for the refusals, returns a reason
    (report, do not fail) when the device is itself a macvlan/macvtap, else None."""
    lower = links.get(name)
    if lower is None:
        raise invalid('lower', name, "no such device in this network namespace")
    if lower['kind'] in kern.MACV_KINDS:
        return ("%s is itself a %s: its frames reach the switch through its own lower device %s, so probe that "
                "device instead" % (name, lower['kind'], lower.get('lower') or '(in another namespace)'))
    passthru = sorted(link['name'] for link in links.values() if link.get('lower') == name and
                      link['kind'] in kern.MACV_KINDS and link.get('mode') == 'passthru')
    if passthru:
        holder = links[passthru[0]]
        raise VifError("%s: refusing to probe: it carries the passthru %s %s, which must be alone on its lower "
                       "device; a probe endpoint beside it is impossible (the kernel refuses) and would disturb "
                       "it. Probe before creating the passthru link." % (name, holder['kind'], holder['name']),
                       obj=name, field='lower', value=name)
    if lower['admin_state'] != 'up':
        raise VifError("%s: refusing to probe: the device is down; bring it up first (the probe never changes "
                       "the lower device)" % name, obj=name, field='lower', value=name)
    if not lower.get('carrier'):
        raise VifError("%s: refusing to probe: the device has no carrier (cable, switch port or peer down), so no "
                       "frame can reach the switch" % name, obj=name, field='lower', value=name)
    return None


# -- lldp ------------------------------------------------------------------------------------------

def _lldptool(tool, ifname):
    """Run in the lower device's namespace: lldpad's control socket is per network namespace."""
    def run(*args):
        try:
            # Runs in a child that joined another network namespace, where no AnsibleModule (and so no
            # run_command) exists; lldptool is the only interface lldpad has.
            done = subprocess.run([tool] + list(args), capture_output=True, text=True, timeout=10,  # pylint: disable=ansible-bad-function
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return 1, str(exc)
        return done.returncode, (done.stdout + done.stderr).strip()
    code, text = run('-p')
    if code != 0:
        return {'lldpad': 'not running', 'detail': text}
    # EVB is exchanged with the nearest customer bridge (01:80:c2:00:00:00), lldpad's agent 'ncb'; the
    # default agent (nearest bridge) never carries it and answers with nothing.
    code, text = run('-t', '-n', '-g', 'ncb', '-i', ifname, '-V', 'evb')
    return {'lldpad': 'running', 'tlv': text if code == 0 else '', 'detail': '' if code == 0 else text}


def parse_evb(text):
    """lldptool's view of the neighbour's EVB TLV (IEEE 802.1Qbg-2012, lldpad's evb22 module):
    a line 'bridge:<flags>(0x..)' and 'station:<flags>(0x..)' with flags among bgid, rrcap, rrctr
    and sgid, rrreq, rrstat. Returns the flag sets, or None without that TLV."""
    if 'EVB Configuration TLV' not in (text or ''):
        return None
    flags: dict = {'bridge': [], 'station': []}
    for line in text.splitlines():
        line = line.strip()
        for role in flags:
            if line.startswith(role + ':'):
                names = line[len(role) + 1:].split('(')[0]
                flags[role] = sorted(f for f in names.split(',') if f)
    return flags


def lldp_verdict(netns, ifname):
    """(reflective_relay true/false/None, evidence) from lldpad, or None when lldpad is unusable."""
    tool = shutil.which('lldptool')
    if not tool:
        return None, {'lldpad': 'absent', 'detail': 'lldptool is not installed'}
    info = kern.run_in_netns(netns, _lldptool, tool, ifname) if netns else _lldptool(tool, ifname)
    if info['lldpad'] != 'running':
        return None, info
    flags = parse_evb(info['tlv'])
    if flags is None:
        info['detail'] = info['detail'] or 'the switch advertises no EVB TLV on %s' % ifname
        return None, info
    info.update(flags)
    # RRCTR in the bridge status of the TLV the switch sends: reflective relay is on for this port
    # (measured with two lldpads: RRCAP alone means capable but off; the station flags in the
    # switch's TLV only echo the host's request).
    return 'rrctr' in flags['bridge'], info


# -- the run -------------------------------------------------------------------------------------

MEANING = {
    ('required', False): ("VEPA endpoints on {lower} cannot reach each other: the switch port does not reflect "
                          "frames back ({evidence}); enable reflective relay / hairpin on the switch port, or use "
                          "bridge mode for endpoints that must talk to each other"),
    ('forbidden', True): ("the switch port behind {lower} reflects frames back ({evidence}): endpoints on it can "
                          "reach each other through the switch (VEPA endpoints fully; private ones by unicast, which "
                          "private mode does not stop); turn reflective relay / hairpin off on that port"),
}


def _evidence_words(result):
    evidence = result.get('evidence') or {}
    if 'frames_sent' in evidence:
        return '%d of %d probe frames came back' % (evidence['frames_received'], evidence['frames_sent'])
    return 'the switch says so over LLDP'


def observe(kernel, netns, spec, links, frames=5, timeout=1.0, probe_allowed=True):
    """One lower device: the verdict, how it was reached, the evidence and the time it took."""
    started = time.monotonic()
    result = {'lower': spec['name'], 'netns': netns, 'expect': spec['expect'], 'method': None,
              'reflective_relay': None, 'evidence': {}, 'reason': None}
    # In check mode without the probe, nothing is refused: the device may be brought up by an
    # earlier task of the same run (that check mode did not carry out).
    obstacle = probe_obstacle(spec['name'], links) if spec['method'] != 'lldp' and probe_allowed else None
    if spec['method'] in ('lldp', 'auto'):
        verdict, info = lldp_verdict(netns, spec['name'])
        result['lldp'] = info
        if verdict is not None:
            result.update(method='lldp', reflective_relay=verdict, evidence=info)
        elif spec['method'] == 'lldp':
            raise VifError("%s: method lldp, but %s" % (spec['name'], info.get('detail') or info['lldpad']),
                           obj=spec['name'], field='method', value='lldp')
    if result['method'] is None:
        if obstacle:
            result['reason'] = obstacle
        elif not probe_allowed:
            result['reason'] = ("check mode: the probe creates temporary links, so it runs in check mode only with "
                                "probe_in_check_mode: true")
        else:
            try:
                evidence = probe.reflect(kernel, spec['name'], links[spec['name']]['index'], count=frames,
                                         timeout=timeout)
            except (RuntimeError, OSError) as exc:
                raise VifError("%s: the probe failed: %s (its temporary links and namespaces are removed)" % (
                    spec['name'], exc), obj=spec['name'], field='lower', value=spec['name']) from exc
            result.update(method='probe', reflective_relay=evidence['frames_received'] > 0, evidence=evidence)
    result['duration'] = round(time.monotonic() - started, 3)
    return result


def contradiction(result):
    key = (result['expect'], result['reflective_relay'])
    if key not in MEANING:
        return None
    return MEANING[key].format(lower=result['lower'], evidence=_evidence_words(result))


def run_relays(kernel, netns, params, check_mode):
    specs = build_relay_specs(params)
    links = kernel.dump_links()
    allowed = not check_mode or to_bool(params.get('probe_in_check_mode') or False, 'probe_in_check_mode')
    for spec in specs:  # every refusal before the first probe
        if spec['method'] != 'lldp' and allowed:
            probe_obstacle(spec['name'], links)
    results = [observe(kernel, netns, spec, links, params.get('frames', 5), float(params.get('timeout', 1.0)),
                       allowed) for spec in specs]
    problems = [text for text in (contradiction(r) for r in results) if text]
    if problems:
        raise VifError('; '.join(problems), details={'relays': results})
    return results
