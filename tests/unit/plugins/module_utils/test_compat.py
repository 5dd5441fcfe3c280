"""The pyroute2 floor: versions read and compared, a version below it refused in words."""

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _compat
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


@pytest.mark.parametrize('text, expected', [
    ('0.7.2', (0, 7, 2)), ('0.9.7', (0, 9, 7)), ('0.7.12', (0, 7, 12)), ('1.0', (1, 0, 0)),
    ('0.9.8rc1', (0, 9, 8)), ('unknown', None), ('', None), (None, None)])
def test_version_tuple(text, expected):
    assert _compat.version_tuple(text) == expected


@pytest.mark.parametrize('installed', ['0.6.13', '0.7.1', '0.5.19', '0.3.22'])
def test_below_the_floor_is_refused_naming_both_versions(installed):
    with pytest.raises(VifError) as err:
        _compat.check_pyroute2(installed)
    assert 'pyroute2 %s is installed' % installed in err.value.msg
    assert 'needs pyroute2 >= 0.7.2' in err.value.msg
    assert err.value.to_result()['field'] == 'pyroute2' and err.value.to_result()['value'] == installed


@pytest.mark.parametrize('installed', ['0.7.2', '0.7.12', '0.8.1', '0.9.7', '1.0.0'])
def test_the_floor_and_later_pass(installed):
    _compat.check_pyroute2(installed)


def test_the_installed_version_comes_from_the_package_metadata():
    """Debian's python3-pyroute2 0.7.2 says "unknown" in pyroute2.__version__; the metadata knows."""
    from importlib.metadata import version
    assert _compat.pyroute2_version() == version('pyroute2')
    assert _compat.version_tuple(_compat.pyroute2_version()) >= _compat.PYROUTE2_FLOOR
