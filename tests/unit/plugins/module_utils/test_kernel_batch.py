"""A batch's error sentence comes from the operation the caller names, not from words in its description."""

import errno

import pytest

from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError


class _Refusing:
    """Stands in for the netlink socket only: the kernel's EINVAL answer to a whole batch."""

    def nlm_request_batch(self, messages):
        raise kern.NetlinkError(errno.EINVAL)


def _kernel():
    kernel = kern.Kernel.__new__(kern.Kernel)
    kernel.ipr = _Refusing()
    return kernel


def test_marking_links_of_a_deletion_explains_a_change_even_when_a_name_contains_add():
    with pytest.raises(VifError) as caught:
        _kernel().set_group_many('ip link del ladder0 shadda1', [7, 8], 0x10000000)
    assert 'the kernel refused the change' in caught.value.msg
    assert 'refused the link' not in caught.value.msg


def test_a_batch_of_creations_explains_a_refused_link():
    link = {'name': 'a', 'kind': 'macvlan', 'lower_index': 2, 'mode': 'vepa'}
    with pytest.raises(VifError) as caught:
        _kernel().add_macv_many('ip link add link eth1 name a type macvlan mode vepa', [link])
    assert 'the kernel refused the link' in caught.value.msg
