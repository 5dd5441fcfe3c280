"""Bad values never produce a traceback (issue 15): every option of every module, and every suboption of
its list entries, is fed wrong types, control characters, non-ASCII digits and surrounding whitespace.

Each module runs in-process (patch_module_args, as test_module_wiring does). The kernel is replaced by a
stub that raises ReachedKernel when a netlink session would open, and the host lock by a no-op. Each
hostile value must end in fail_json whose msg names the option; the only other outcome allowed is that
AnsibleModule itself converted it to a clean value before the module saw it (' 5' for an int option
becomes 5, 2.5 for a str option becomes the plain name '2.5'): then reaching the kernel step is fine,
since what arrives is no longer the hostile value. Any other exception, or a hostile value arriving as
given, fails the test. Values that are valid for an option (True for a boolean, 2.5 seconds for a
timeout, ['x'] for a list of names) are not generated for it."""

import contextlib
import json
import math

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hostnet.vif.plugins.module_utils import (
    _kernel as kernel,
    _model as model,
    _module_glue as module_glue,
    _pipeline as pipeline,
    _relay as relay,
)
from ansible_collections.hostnet.vif.plugins.module_utils._kinds import ipvl, macv, sriov as sriov_kind, tap as tap_kind
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError
from ansible_collections.hostnet.vif.plugins.modules import (
    hairpin, ipvlan, ipvtap, macvlan, macvtap, reflective_relay, sriov, tap, vif_info)

HOSTILE = [
    {'a': 1}, ['x'], 2.5, True,                               # wrong types
    'a\x00b', 'eth1\x00', '\x1b[31m', 'x\ny', '\t',            # control characters
    '\u0661\u0660\u0660\u0660', '\u00b2', '\u0663',            # non-ASCII digits
    ' 1500', '1500\n', ' eth1', 'up ', '\n',                   # surrounding whitespace
]
BOOLEAN = {'nopromisc', 'purge', 'multi_queue', 'vnet_hdr', 'packet_info', 'hairpin', 'drivers_autoprobe',
           'allow_reset', 'spoofchk', 'trust', 'probe_in_check_mode'}
SECONDS = {'lock_timeout', 'wait_timeout', 'timeout'}


class ReachedKernel(Exception):
    pass


class StubKernel:
    def __init__(self, *args, **kwargs):
        raise ReachedKernel()


# module: (a valid baseline, {list option: valid baseline entry})
MODULES = {
    'macvlan': (macvlan, {'name': 'mv0', 'lower': 'eth1'},
                {'links': {'name': 'mv0', 'lower': 'eth1'}}),
    'macvtap': (macvtap, {'name': 'mt0', 'lower': 'eth1'},
                {'links': {'name': 'mt0', 'lower': 'eth1'}}),
    'ipvlan': (ipvlan, {'name': 'iv0', 'lower': 'eth1'}, {'links': {'name': 'iv0', 'lower': 'eth1'}}),
    'ipvtap': (ipvtap, {'name': 'it0', 'lower': 'eth1'}, {'links': {'name': 'it0', 'lower': 'eth1'}}),
    'tap': (tap, {'name': 'vt0'}, {'taps': {'name': 'vt0'}}),
    'hairpin': (hairpin, {'name': 'swp1'}, {'ports': {'name': 'swp1'}}),
    'sriov': (sriov, {'pf': 'eth5'}, {'pfs': {'pf': 'eth5'}, 'vfs': {'vf': 0, 'vlan': 5}}),
    'reflective_relay': (reflective_relay, {'lower': 'eth1'}, {'lowers': {'name': 'eth1'}}),
    'vif_info': (vif_info, {}, {}),
}
# Entry fields per list option (what the entries accept, from the model).
ENTRY_FIELDS = {
    ('macvlan', 'links'): tuple(f.name for f in macv.MACVLAN.fields()),
    ('macvtap', 'links'): tuple(f.name for f in macv.HANDLERS['macvtap'].fields()),
    ('ipvlan', 'links'): tuple(f.name for f in ipvl.HANDLERS['ipvlan'].fields()),
    ('ipvtap', 'links'): tuple(f.name for f in ipvl.HANDLERS['ipvtap'].fields()),
    ('tap', 'taps'): tap_kind.names(tap_kind.TAP_FIELDS),
    ('hairpin', 'ports'): ('name', 'hairpin'),
    ('sriov', 'pfs'): sriov_kind.names(sriov_kind.PF_FIELDS),
    ('sriov', 'vfs'): sriov_kind.names(sriov_kind.VF_FIELDS),
    ('reflective_relay', 'lowers'): relay.ENTRY_FIELDS,
}
# What a field needs beside it to be looked at at all (a source list only matters in mode source).
NEEDS = {'source_macs': {'mode': 'source'}, 'nopromisc': {'mode': 'passthru'}}


def _cases():
    for name, (module, _base, entries) in sorted(MODULES.items()):
        spec = module_spec(module)
        paths = [(option,) for option in sorted(spec)]
        paths += [(option, 0) for option in sorted(spec) if spec[option].get('type') == 'list']
        paths += [(option, 0, field) for option in sorted(entries) for field in ENTRY_FIELDS[(name, option)]]
        for path in paths:
            where = path[0] + ('[0]' if len(path) > 1 else '') + ('.' + path[2] if len(path) > 2 else '')
            for value in HOSTILE:
                if not _valid_as_is(path, value):
                    yield pytest.param(name, path, value, id='%s-%s-%r' % (name, where, value))


def module_spec(module):
    captured = {}

    class Capture(Exception):
        pass

    def fake(argument_spec, **kwargs):
        captured.update(argument_spec)
        raise Capture()
    original = module.VifModule
    module.VifModule = fake
    try:
        module.main()
    except Capture:
        pass
    finally:
        module.VifModule = original
    return captured


NAME_LISTS = {'lowers', 'reflective_relay'}  # lists whose entries may be bare interface names


def _valid_as_is(path, value):
    leaf = path[-1] if isinstance(path[-1], str) else path[0]
    return ((value is True and leaf in BOOLEAN) or (value == 2.5 and leaf in SECONDS)
            or (value == ['x'] and path == (leaf,) and leaf in NAME_LISTS))


def _clean(arrived):
    """What AnsibleModule's conversions may hand on: typed scalars, or text that is a plain name
    (str() of a number or boolean for a str option, such as '2.5' or 'True')."""
    if isinstance(arrived, list):
        return all(_clean(item) for item in arrived)
    if isinstance(arrived, str):
        try:
            return model.check_name(arrived, 'x', max_bytes=255) == arrived
        except VifError:
            return False
    return isinstance(arrived, (bool, int, float)) and not math.isnan(arrived)


def _arguments(name, path, value):
    """The module's valid baseline with ``value`` put at ``path``: (option,), (option, 0) for a list
    element, or (option, 0, field) for a field of a list entry. Syslog logging of the arguments is off
    (_ansible_no_log, what no_log: true or no_target_syslog give): with it on, AnsibleModule itself
    refuses a NUL before the module runs; with it off, the NUL reaches the module's own validation."""
    _module, base, entries = MODULES[name]
    args = dict(base, _ansible_no_log=True)
    option = path[0]
    if option in entries and option != 'vfs':
        for key in base:  # a list of objects replaces the single object
            args.pop(key)
    if len(path) == 1:
        args.update(NEEDS.get(option, {}))
        args[option] = value
    elif len(path) == 2:
        args.update(NEEDS.get(option, {}))
        args[option] = [value]
    else:
        entry = dict(entries[option])
        entry.update(NEEDS.get(path[2], {}))
        entry[path[2]] = value
        args[option] = [entry]
    return args


@pytest.mark.parametrize('name, path, value', list(_cases()))
def test_a_hostile_value_fails_naming_its_option_and_never_reaches_the_kernel_as_given(
        name, path, value, monkeypatch, capsys):
    module, _base, _entries = MODULES[name]
    seen = {}
    runner = module_glue.run_pipeline

    def recording(handler, params, *args, **kwargs):
        seen['params'] = params
        return runner(handler, params, *args, **kwargs)
    monkeypatch.setattr(module_glue, 'run_pipeline', recording)
    monkeypatch.setattr(kernel, 'Kernel', StubKernel)
    monkeypatch.setattr(pipeline, 'HostLock', lambda timeout: contextlib.nullcontext())
    args = _arguments(name, path, value)
    out = None
    with patch_module_args(args):
        try:
            module.main()
        except SystemExit:
            out = json.loads(capsys.readouterr().out)
        except ReachedKernel:
            out = None
    if out is None:
        arrived = seen['params']
        for step in path:
            arrived = arrived[step]
        assert (arrived != value or type(arrived) is not type(value)) and _clean(arrived), (
            'hostile %r reached the kernel step as %r' % (value, arrived))
        return
    leaf = path[-1] if isinstance(path[-1], str) else path[0]
    assert out.get('failed') is True, out
    assert leaf in out['msg'], out['msg']
    assert 'Traceback' not in out['msg'] and 'unexpected' not in out['msg'].lower() and 'exception' not in out, out
