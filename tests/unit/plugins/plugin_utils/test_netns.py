"""The netns connection's pure checks: which names and mount namespace ids it accepts."""

import pytest

from ansible_collections.hostnet.vif.plugins.plugin_utils import _netns as namespaces


@pytest.mark.parametrize('name', ['hvlab-0a1b2c3d-switch', 'a', 'ns_1.2+x', 'x' * 255, 'a~b', 'a:b', 'a@b'])
def test_plain_names_are_accepted(name):
    assert namespaces.check_name(name) == name


@pytest.mark.parametrize('name, why', [
    ('', 'no network namespace name'), (None, 'no network namespace name'), ('.', 'not a plain name'),
    ('..', 'not a plain name'), ('a/b', "'/'"), ('a b', "' '"), ('a\tb', "'\\t'"), ('a\x00b', "'\\x00'"),
    ('a*', "'*'"), ('a?', "'?'"), ('[a]', "'['"), ('!a', "'!'"), ('a"', '\'"\''), ("a'", '"\'"'), ('a\\b', "'\\\\'"),
    ('\u00e9', "'\u00e9'"), ('a\x7f', "'\\x7f'"), ('x' * 256, 'at most 255')])
def test_other_names_are_refused_with_the_value_and_the_reason(name, why):
    with pytest.raises(namespaces.Refused) as refused:
        namespaces.check_name(name)
    assert why in str(refused.value)
    if name:
        assert repr(name)[:40] in str(refused.value)


@pytest.mark.parametrize('value, inode', [('mnt:[4026532301]', 4026532301), ('4026532301', 4026532301),
                                          (4026532301, 4026532301), (' mnt:[7] ', 7)])
def test_mount_namespace_ids(value, inode):
    assert namespaces.parse_mount_namespace_id(value) == inode


@pytest.mark.parametrize('value, why', [(None, 'is required'), ('', 'is required'), ('net:[4026532301]', 'expected'),
                                        ('mnt:4026532301', 'expected'), ('-1', 'expected')])
def test_bad_mount_namespace_ids(value, why):
    with pytest.raises(namespaces.Refused) as refused:
        namespaces.parse_mount_namespace_id(value)
    assert why in str(refused.value)


def test_a_relative_or_unrecorded_proc_path_is_refused_before_opening_anything():
    with pytest.raises(namespaces.Refused, match='not an absolute path'):
        namespaces.open_mount_namespace('proc/1/ns/mnt', 'mnt:[1]', 1)
    with pytest.raises(namespaces.Refused, match='mount_namespace_holder_start is required'):
        namespaces.open_mount_namespace('/proc/1/ns/mnt', 'mnt:[1]')
    with pytest.raises(namespaces.Refused, match="holder_start 'soon' is not a number"):
        namespaces.open_mount_namespace('/proc/1/ns/mnt', 'mnt:[1]', 'soon')
