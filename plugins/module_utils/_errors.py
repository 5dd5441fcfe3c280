# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors of hostnet.vif: one exception type, and errno translated into sentences.

The kernel's netlink answers for macvlan/macvtap carry no extended-ack text, only an errno,
so every message a user sees is written here, with the object and field that caused it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno as _errno


class VifError(Exception):
    """A failure the user can act on.

    ``field`` and ``value`` name what was wrong (None when not about one field);
    ``obj`` names the link, port or device concerned.
    """

    def __init__(self, msg, obj=None, field=None, value=None, errno=None, details=None):
        super(VifError, self).__init__(msg)
        self.msg = msg
        self.obj = obj
        self.field = field
        self.value = value
        self.errno = errno
        self.details = details or {}  # extra result keys (e.g. what was observed before failing)

    def to_result(self):
        result = dict(self.details)
        result['msg'] = self.msg
        for key in ('obj', 'field', 'value', 'errno'):
            if getattr(self, key) is not None:
                result[key] = getattr(self, key)
        return result


def invalid(field, value, why, obj=None):
    """Bad input: names the field and the value, says why."""
    where = "%s: " % obj if obj else ""
    return VifError("%s%s=%r is invalid: %s" % (where, field, value, why), obj=obj, field=field, value=value)


# What an errno means when the kernel answers a link operation.  Keys are (operation, errno);
# operation None is the fallback for any operation.
_SENTENCES = {
    (None, _errno.EEXIST): "a link with that name already exists",
    (None, _errno.ENODEV): "the device does not exist (it may have been removed meanwhile)",
    (None, _errno.ENOENT): "no such object",
    (None, _errno.EPERM): "operation not permitted: run as root (become: true)",
    (None, _errno.EACCES): "permission denied: run as root (become: true)",
    (None, _errno.EBUSY): "the device is busy (enslaved elsewhere, or held by another link)",
    (None, _errno.EOPNOTSUPP): "the kernel or driver does not support this operation",
    (None, _errno.ERANGE): "a value is out of the range the kernel accepts (a name longer than 15 bytes?)",
    (None, _errno.EADDRNOTAVAIL): "the MAC address is not a valid unicast address",
    (None, _errno.EINVAL): "the kernel rejected the request as invalid",
    ('add', _errno.EINVAL): ("the kernel refused the link: typical causes are a second passthru link on the "
                             "same lower device, any link beside a passthru one, a passthru link beside "
                             "existing ones, a lower device that cannot carry macvlan (such as lo), or an "
                             "MTU above the lower device's"),
    ('set', _errno.EINVAL): ("the kernel refused the change: the mode cannot change to or from passthru in "
                             "place, and the MTU cannot exceed the lower device's"),
    ('ipvl-add', _errno.EOPNOTSUPP): ("the kernel has no ipvlan/ipvtap driver (kind ipvlan or ipvtap unknown to it): "
                                      "load it (modprobe ipvlan; modprobe ipvtap) or use a kernel built with "
                                      "CONFIG_IPVLAN/CONFIG_IPVTAP"),
    ('ipvl-add', _errno.EBUSY): ("the lower device cannot take an ipvlan port: it carries macvlan/macvtap links, "
                                 "is a port of a bridge or bond, or another driver holds its receive path"),
    ('ipvl-add', _errno.EINVAL): ("the kernel refused the link: typical causes are an MTU above the lower device's, "
                                  "or a lower device that cannot carry ipvlan"),
    ('ipvl-set', _errno.EINVAL): "the kernel refused the change: the MTU cannot exceed the lower device's",
    ('hairpin', _errno.EOPNOTSUPP): "the device is not a port of a Linux bridge",
    ('numvfs', _errno.ERANGE): "the count is above what the device supports (sriov_totalvfs)",
    ('numvfs', _errno.EBUSY): ("VFs exist: a different non-zero count must go through 0, which destroys them all "
                               "(allow_reset)"),
    ('numvfs', _errno.EINVAL): "the kernel rejected the count as invalid",
    ('numvfs', _errno.ENOENT): "no driver is bound to the PF, so it cannot create VFs; bind its driver first",
    ('numvfs', _errno.ENOSPC): ("the platform ran out of resources for that many VFs (MSI-X vectors or PCI bus "
                                "numbers): a platform/firmware limit (BIOS SR-IOV and ARI settings), not a setting "
                                "of this host"),
    ('numvfs', _errno.ENOMEM): ("the platform ran out of resources for that many VFs (MSI-X vectors or PCI bus "
                                "numbers, or memory): a platform/firmware limit, not a setting of this host"),
    ('numvfs', _errno.EIO): "the PF's driver failed to enable SR-IOV (see the kernel log)",
    ('vf', _errno.EOPNOTSUPP): "the PF's driver does not implement this per-VF setting",
    ('vf', _errno.EINVAL): ("the PF's driver refused the value (for example a rate on a PF that is down or above "
                            "its link speed, or a VLAN/QoS combination it does not take)"),
    ('vf', _errno.EPROTONOSUPPORT): "the PF's driver does not support this vlan_proto (802.1ad)",
    ('tap-add', _errno.EINVAL): ("the kernel refused to attach to the existing device: it is of the other type "
                                 "(tun/tap) or its multi_queue flag differs"),
    ('tap-add', _errno.EBUSY): ("the device is in use: a process (such as QEMU) holds it open, and a single-queue "
                                "device takes only one; stop that process or change the device while it is idle"),
    ('tap-add', _errno.ENOENT): "/dev/net/tun is missing: load the tun kernel module (modprobe tun)",
    ('tap-set', _errno.EINVAL): ("the kernel refused the change: a tun device (IP packets) cannot join a bridge or "
                                 "take a MAC address, and an MTU must be within 68..65535"),
}


def sentence(err, operation=None):
    """The sentence for an errno (an int or an exception carrying .code/.errno)."""
    code = errno_of(err)
    text = _SENTENCES.get((operation, code)) or _SENTENCES.get((None, code))
    # errorcode names 95 ENOTSUP; the kernel and iproute2 call it EOPNOTSUPP.
    name = ('EOPNOTSUPP' if code == _errno.EOPNOTSUPP else _errno.errorcode.get(code, str(code))) if code is not None \
        else None
    if text is None:
        text = "the kernel answered %s" % (name or err)
    elif name:
        text = "%s (%s)" % (text, name)
    return text


def errno_of(err):
    if isinstance(err, int):
        return err
    code = getattr(err, 'code', None)
    if isinstance(code, int):
        return code
    code = getattr(err, 'errno', None)
    if isinstance(code, int):
        return code
    return None


def kernel_error(err, what, obj=None, field=None, value=None, operation=None):
    """Wrap a kernel failure: ``what`` is the ip-style action that failed."""
    return VifError("%s failed: %s" % (what, sentence(err, operation)), obj=obj, field=field, value=value,
                    errno=errno_of(err))
