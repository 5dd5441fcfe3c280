# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel access: the only place that talks netlink (through pyroute2), sysfs and /dev.

Everything above this layer works on plain dicts ("link states") produced by ``parse_link``;
one ``dump_links`` call is the single read of current state, and the same reader serves the
read-back after a change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import fcntl
import json
import os
import stat
import struct

from ansible_collections.hostnet.vif.plugins.module_utils import _linkparse
from ansible_collections.hostnet.vif.plugins.module_utils import _nofollow as nofollow
from ansible_collections.hostnet.vif.plugins.module_utils._compat import check_pyroute2, open_in_netns
from ansible_collections.hostnet.vif.plugins.module_utils._errors import VifError, invalid, kernel_error
from ansible_collections.hostnet.vif.plugins.module_utils._model import PCI_ADDRESS_RE, check_name, check_netns_name

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl import RTM_NEWLINK
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

    class _Encoded(ifinfmsg):
        """An RTM_NEWLINK whose body (ifinfomsg and attributes) was packed by ``newlink_bytes``:
        pyroute2's generic encoder costs ~0.2 ms a message, most of a 1,000-link batch. pyroute2
        still numbers, sends and acknowledges it: its batch sets the header, then calls encode()."""

        def encode(self):
            header = self['header']
            self.data = bytearray(_NLMSGHDR.pack(_NLMSGHDR.size + len(self.body), header['type'], header['flags'],
                                                 header['sequence_number'], header['pid']) + self.body)
            return self.data
    HAS_PYROUTE2 = True
    PYROUTE2_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module with missing_required_lib
    IPRoute = None
    NetlinkError = OSError
    HAS_PYROUTE2 = False
    PYROUTE2_IMPORT_ERROR = exc

NETNS_DIR = '/run/netns'
ARPHRD_ETHER = 1
# Link states are read in _linkparse (lean parsers, or parse_link on pyroute2's full decode); the
# kernel layer's names for them and their constants stay here.
IFF_UP = _linkparse.IFF_UP
MACV_KINDS = _linkparse.MACV_KINDS
IPVL_KINDS = _linkparse.IPVL_KINDS
CHARDEV_KINDS = _linkparse.CHARDEV_KINDS
VF_LINK_STATES = _linkparse.VF_LINK_STATES
VLAN_PROTOS = _linkparse.VLAN_PROTOS
parse_link = _linkparse.parse_link
parse_vf_info = _linkparse.parse_vf_info
DEV_DIR = '/dev'
# Node made for a macvtap whose /dev/tapN name is taken by another namespace's device.
PRIVATE_DEV_DIR = '/dev/hostnet-vif'
# root's; others may pass through it (to open a node owner/group/device_mode gave them), not list or change it
PRIVATE_DIR_MODE = 0o711
PRIVATE_NODE_MODE = 0o600  # as the kernel makes /dev/tapN
TAP_DRIVERS = ('macvtap', 'ipvtap')  # their character devices' names in /proc/devices
NODE_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 0x40000


NS_GET_NSTYPE = 0xb703  # ioctl on a namespace file: its CLONE_NEW* type


def netns_path(netns):
    """/run/netns/<name>: only for a name check_netns_name accepted (a '/' or '..' would leave the directory)."""
    return os.path.join(NETNS_DIR, check_netns_name(netns))


def check_netns(netns):
    """A named namespace must be a plain name (pyroute2 opens a value with '/' relative to the working
    directory while sysfs helpers use /run/netns/<value>) and /run/netns/<name> must be a network
    namespace that exists: pyroute2 would silently create a missing one."""
    if not netns:
        return
    path = netns_path(netns)
    try:
        # O_NOFOLLOW: not a symlink someone planted; O_NONBLOCK: a FIFO does not hang the open
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            why = ("does not exist (looked for %s); create it first, this module never creates namespaces" % path)
        elif exc.errno == errno.ELOOP:
            why = "%s is a symbolic link, not a namespace mounted by ip netns" % path
        else:
            why = "%s cannot be opened: %s" % (path, exc.strerror)
        raise VifError("network namespace %r %s" % (netns, why), field='netns', value=netns) from None
    try:
        try:
            nstype = fcntl.ioctl(fd, NS_GET_NSTYPE)
        except OSError:
            nstype = None  # ENOTTY: not a namespace file at all
    finally:
        os.close(fd)
    if nstype != CLONE_NEWNET:
        raise VifError("network namespace %r: %s is not a network namespace (%s); use a name that `ip netns list` "
                       "shows" % (netns, path, 'a namespace of another type' if nstype else
                                  'a plain file, perhaps left over from a namespace that was removed'),
                       field='netns', value=netns)


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _setns(fd, nstype):
    if hasattr(os, 'setns'):
        os.setns(fd, nstype)
        return
    if _libc().setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _unshare(flags):
    if hasattr(os, 'unshare'):
        os.unshare(flags)
        return
    if _libc().unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _mount(source, target, fstype, flags):
    libc = _libc()
    libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p)
    res = libc.mount(source.encode() if source else None, target.encode(), fstype.encode() if fstype else None,
                     flags, None)
    if res != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _read_macvtap_sysfs(sysfs, names):
    found = {}
    for name, driver in ((n, d) for n in names for d in TAP_DRIVERS):
        base = os.path.join(sysfs, 'class', 'net', name, driver)  # .../ipvtap/tapN for an ipvtap
        try:
            entries = os.listdir(base)
        except OSError:
            continue
        for entry in entries:
            try:
                with open(os.path.join(base, entry, 'dev')) as handle:
                    major, minor = handle.read().strip().split(':')
                found[name] = {'sysfs_name': entry, 'major': int(major), 'minor': int(minor)}
            except (OSError, ValueError):
                continue
    return found


def child_payload(read_fd, pid):
    """What a forked child wrote as JSON on its pipe before exiting (reaped here); a child that
    died without writing gives {'error': ...}."""
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return json.loads(b''.join(chunks).decode() or '{"error": "the child process died"}')


def run_in_netns(netns, func, *args, private_sysfs=False):
    """Run ``func(*args)`` inside a named network namespace and return its JSON-able result.

    A child process joins the namespace (the module's own process never changes namespace, so
    its netlink session and everything else stay where they are) and reports back through a
    pipe. With ``private_sysfs`` the child also mounts a sysfs of that namespace, in a private
    mount namespace, and passes its path as the first argument (what `ip netns exec` does).
    A failure comes back as OSError with the child's errno, or VifError.
    """
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 0
        try:
            os.close(read_fd)
            ns_fd = os.open(netns_path(netns), os.O_RDONLY)
            _setns(ns_fd, CLONE_NEWNET)
            os.close(ns_fd)
            if private_sysfs:
                _unshare(CLONE_NEWNS)
                _mount(None, '/', None, MS_REC | MS_PRIVATE)
                target = '/run' if os.path.isdir('/run') else '/tmp'
                _mount('sysfs', target, 'sysfs', 0)
                args = (target,) + args
            payload = {'ok': func(*args)}
        except OSError as exc:
            payload = {'error': exc.strerror or str(exc), 'errno': exc.errno}
            code = 1
        except Exception as exc:  # reported by the parent
            payload = {'error': str(exc)}
            code = 1
        try:
            os.write(write_fd, json.dumps(payload).encode())
        finally:
            os._exit(code)
    os.close(write_fd)
    payload = child_payload(read_fd, pid)
    if payload.get('errno'):
        raise OSError(payload['errno'], payload['error'])
    if 'error' in payload:
        raise VifError("in network namespace %r: %s" % (netns, payload['error']), field='netns', value=netns)
    return payload.get('ok')


def read_sysfs(netns, reader, *args):
    """in_sysfs for readers: a failure is an error about the namespace, in words."""
    try:
        return in_sysfs(netns, reader, *args)
    except OSError as exc:
        raise VifError("reading sysfs in namespace %r failed: %s" % (netns, exc), field='netns',
                       value=netns) from exc


# -- tun/tap: made by ioctl on /dev/net/tun, not netlink ----------------------------------------

TUNSETIFF = 0x400454ca
TUNSETPERSIST = 0x400454cb
TUNSETOWNER = 0x400454cc
TUNSETGROUP = 0x400454ce
TUNSETIFINDEX = 0x400454da
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_MULTI_QUEUE = 0x0100
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000


def tuntap_flags(mode, packet_info=False, vnet_hdr=False, multi_queue=False):
    flags = IFF_TAP if mode == 'tap' else IFF_TUN
    if not packet_info:
        flags |= IFF_NO_PI
    if vnet_hdr:
        flags |= IFF_VNET_HDR
    if multi_queue:
        flags |= IFF_MULTI_QUEUE
    return flags


def tuntap_persist(name, flags, uid=None, gid=None, index=None):
    """TUNSETIFF on /dev/net/tun creates the device (or attaches to an existing one with the same
    flags: EINVAL otherwise); owner and group are set on it, then it is made persistent so it
    outlives this file descriptor. ``index`` asks for that ifindex (TUNSETIFINDEX, before TUNSETIFF)."""
    import fcntl
    import struct
    fd = os.open('/dev/net/tun', os.O_RDWR)
    try:
        if index:
            fcntl.ioctl(fd, TUNSETIFINDEX, struct.pack('I', index))
        fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH22x', name.encode(), flags))
        if uid is not None:
            fcntl.ioctl(fd, TUNSETOWNER, uid)
        if gid is not None:
            fcntl.ioctl(fd, TUNSETGROUP, gid)
        fcntl.ioctl(fd, TUNSETPERSIST, 1)
    finally:
        os.close(fd)
    return True


def macvtap_chardevs(netns, names):
    """major:minor of each macvtap's (or ipvtap's) character device, read from sysfs of the link's namespace
    (ifindex, and so /dev/tapN, is per namespace; the device number is not)."""
    names = list(names)
    if not names:
        return {}
    return read_sysfs(netns, _read_macvtap_sysfs, names)


def _read_file(path, default=None):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return default


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _read_pf(device, name):
    """The SR-IOV side of one PCI device directory: counts, autoprobe, and per VF its PCI address,
    bound driver and netdev names. totalvfs is None when the device is not SR-IOV capable."""
    autoprobe = _read_file(os.path.join(device, 'sriov_drivers_autoprobe'))
    pf = {
        'name': name,
        'pci_address': os.path.basename(os.path.realpath(device)),
        'totalvfs': _int_or_none(_read_file(os.path.join(device, 'sriov_totalvfs'))),
        'numvfs': _int_or_none(_read_file(os.path.join(device, 'sriov_numvfs'))),
        'drivers_autoprobe': None if autoprobe is None else autoprobe == '1',
        'vfs': [],
    }
    try:
        entries = os.listdir(device)
    except OSError:
        entries = []
    vf_links = sorted((e for e in entries if e.startswith('virtfn')), key=lambda e: _int_or_none(e[6:]) or 0)
    for entry in vf_links:
        vf_dir = os.path.join(device, entry)
        driver = os.path.join(vf_dir, 'driver')
        netdevs = os.path.join(vf_dir, 'net')
        pf['vfs'].append({
            'vf': _int_or_none(entry[len('virtfn'):]),
            'pci_address': os.path.basename(os.path.realpath(vf_dir)),
            'driver': os.path.basename(os.path.realpath(driver)) if os.path.exists(driver) else None,
            'netdevs': sorted(os.listdir(netdevs)) if os.path.isdir(netdevs) else [],
        })
    return pf


def read_sriov_sysfs(sysfs):
    """Every SR-IOV physical function visible under <sysfs>/class/net (an empty list where there is none)."""
    pfs: list = []
    net = os.path.join(sysfs, 'class', 'net')
    try:
        names = sorted(os.listdir(net))
    except OSError:
        return pfs
    for name in names:
        device = os.path.join(net, name, 'device')
        if _read_file(os.path.join(device, 'sriov_totalvfs')) is None:
            continue
        pfs.append(_read_pf(device, name))
    return pfs


def pf_device_dir(sysfs, pf):
    """A PF's PCI device directory, by PCI address (bus/pci/devices) or netdev name (class/net/<pf>/device)."""
    if PCI_ADDRESS_RE.fullmatch(pf):
        return os.path.join(sysfs, 'bus', 'pci', 'devices', pf)
    return os.path.join(sysfs, 'class', 'net', check_name(pf, 'pf'), 'device')


PCI_CLASS_NETWORK = 0x02  # base class of the 24-bit PCI class code in sysfs `class` (0x020000: Ethernet)


def read_sriov_pf(sysfs, pf):
    """One PF as the sriov module sees it: the _read_pf record plus found, is_vf (it has a physfn
    link: it is itself a VF), driver (bound to the PF; None: none) and netdev (its interface name).
    A device that is not a network controller with a net/ directory is not found: its VFs (an NVMe's,
    a GPU's) are not this module's to count or destroy."""
    by_address = bool(PCI_ADDRESS_RE.fullmatch(pf))
    device = pf_device_dir(sysfs, pf)
    if not os.path.isdir(device):
        if by_address:
            why = 'no such PCI device'
        elif os.path.exists(os.path.join(sysfs, 'class', 'net', pf)):
            why = 'not a PCI device (a virtual interface has no device in sysfs)'
        else:
            why = 'no such network device in this namespace'
        return {'found': False, 'why': why}
    pci_class = _read_file(os.path.join(device, 'class'))
    net = os.path.join(device, 'net')
    if (_hex_or_none(pci_class) or 0) >> 16 != PCI_CLASS_NETWORK:
        return {'found': False, 'why': 'is not a network device (its PCI class is %s, a network controller is '
                                       '0x02xxxx); refusing to touch its VFs' % (pci_class or 'unreadable')}
    if not os.path.isdir(net) and not os.path.exists(os.path.join(device, 'physfn')):  # a VF: refused as one
        return {'found': False, 'why': 'is a network controller without a network interface in this namespace '
                                       '(no net/ directory: no driver bound, or its interface is elsewhere)'}
    names = sorted(os.listdir(net)) if os.path.isdir(net) else []
    record = _read_pf(device, pf if not by_address else (names[0] if names else None))
    driver = os.path.join(device, 'driver')
    record.update(found=True, is_vf=os.path.exists(os.path.join(device, 'physfn')),
                  driver=os.path.basename(os.path.realpath(driver)) if os.path.exists(driver) else None)
    return record


def _hex_or_none(text):
    try:
        return int(text, 16)
    except (TypeError, ValueError):
        return None


def write_sriov(sysfs, pf, attribute, value):
    """One write to a PF's sysfs attribute; the kernel's errno comes back as OSError."""
    fd = os.open(os.path.join(pf_device_dir(sysfs, pf), attribute), os.O_WRONLY)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)
    return True


def wait_sriov(sysfs, pf, count, need_drivers, timeout):
    """Poll (10 ms doubling to 250 ms) until the PF shows exactly virtfn0..count-1 and, when VF
    drivers probe automatically, each VF has its driver bound (its netdev, if the driver makes
    one, exists by then). Returns the last reading with 'ready'."""
    import time
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        record = read_sriov_pf(sysfs, pf)
        vfs = record.get('vfs') or []
        ready = [v['vf'] for v in vfs] == list(range(count)) and (
            not need_drivers or all(v['driver'] for v in vfs))
        if ready or time.monotonic() >= deadline:
            record['ready'] = ready
            return record
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def in_sysfs(netns, func, *args):
    """``func(sysfs_root, *args)`` against the sysfs of a network namespace (sysfs shows the net
    devices of the namespace that mounted it; None: the module's own /sys, read directly). Kernel
    errors come back as OSError with the errno."""
    if not netns:
        return func('/sys', *args)
    return run_in_netns(netns, func, *args, private_sysfs=True)


def tap_majors():
    """Character-device majors of the kernel's macvtap and ipvtap drivers (/proc/devices)."""
    majors, section = set(), None
    with open('/proc/devices') as handle:
        for line in handle:
            words = line.split()
            if line.rstrip().endswith(':'):
                section = line.strip()
            elif section == 'Character devices:' and len(words) == 2 and words[1] in TAP_DRIVERS:
                majors.add(int(words[0]))
    return majors


def _check_tap_device(obj, major, minor):
    try:
        majors = tap_majors()
    except OSError as exc:
        raise kernel_error(exc, "reading /proc/devices", obj=obj) from exc
    if major not in majors:
        raise VifError("%s: the character device %d:%d is not a macvtap/ipvtap device (their majors here: %s); "
                       "refusing to make or change a device node for it"
                       % (obj, major, minor, ', '.join(str(m) for m in sorted(majors)) or 'none'), obj=obj)
    return os.makedev(major, minor)


def _path_part(value, field):
    """A name that becomes one component of a path under /dev (never a way out of the directory)."""
    if not isinstance(value, str) or value in ('', '.', '..') or '/' in value or '\0' in value:
        raise invalid(field, value, "must be a plain name to be part of a device path under %s" % PRIVATE_DEV_DIR)
    return value


def _private_node_path(netns, name):
    return os.path.join(PRIVATE_DEV_DIR, _namespace_dir(netns), _path_part(name, 'name'))


def _namespace_dir(netns):
    """The private-node directory of a namespace: its name. For the module's own namespace (no
    ``netns``): ``_root`` in the machine's initial one; else (a host reached through the netns
    connection, whose modules see their namespace as their own) the name /run/netns gives it, else
    ``ns-<inode>``: two namespaces never share a directory, so never a node name."""
    if netns:
        return _path_part(netns, 'netns')
    own = os.stat('/proc/self/ns/net')
    try:
        init = os.stat('/proc/1/ns/net')
    except OSError:  # another PID namespace's /proc, or no permission: not the initial one to us
        init = None
    if init is not None and (init.st_dev, init.st_ino) == (own.st_dev, own.st_ino):
        return '_root'
    try:
        names = sorted(os.listdir(NETNS_DIR))
    except OSError:
        names = []
    for name in names:
        try:
            st = os.stat(os.path.join(NETNS_DIR, name), follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino) and name not in ('', '.', '..', '_root'):
            return _path_part(name, 'netns')
    return 'ns-%d' % own.st_ino


def _open_node(dir_fd, name, rdev):
    """An O_PATH descriptor of ``name`` in ``dir_fd`` when it is the character device ``rdev``, else
    None. O_PATH|O_NOFOLLOW: a symbolic link is opened as itself (so never matches), and the driver's
    open() is not called (a macvtap's would attach a queue that takes a share of the VM's frames)."""
    try:
        fd = os.open(name, NODE_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    st = os.fstat(fd)
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == rdev:
        return fd
    os.close(fd)
    return None


def _open_chardev(path, major, minor):
    """O_PATH descriptor of the macvtap node at ``path`` (checked: that character device, reached
    without following a symbolic link); VifError otherwise."""
    rdev = _check_tap_device(path, major, minor)
    with nofollow.directory(os.path.dirname(path)) as dir_fd:
        fd = None if dir_fd is None else _open_node(dir_fd, os.path.basename(path), rdev)
    if fd is None:
        raise VifError("%s is not (or no longer) the character device %d:%d" % (path, major, minor), obj=path)
    return fd


def chardev_node(netns, name, index, major, minor, create=True):
    """The /dev node of a macvtap: /dev/tap<ifindex> when that node is this device (compared by
    major:minor); otherwise (the name is taken by a link of another namespace) a private node
    /dev/hostnet-vif/<netns>/<name>, made on demand (never with create=False: check mode, facts)."""
    want = _check_tap_device(name, major, minor)
    path = _private_node_path(netns, name)
    try:
        with nofollow.directory(DEV_DIR) as dev_fd:
            fd = _open_node(dev_fd, 'tap%d' % int(index), want)
        if fd is not None:
            os.close(fd)
            return os.path.join(DEV_DIR, 'tap%d' % int(index))
        with nofollow.directory(os.path.dirname(path), PRIVATE_DIR_MODE if create else None) as dir_fd:
            fd = None if dir_fd is None else _open_node(dir_fd, name, want)
            if fd is not None:
                os.close(fd)
                return path
            if not create:
                return None
            try:
                os.unlink(name, dir_fd=dir_fd)  # whatever holds our name (a stale node, a link itself)
            except FileNotFoundError:
                pass
            os.mknod(name, stat.S_IFCHR | PRIVATE_NODE_MODE, want, dir_fd=dir_fd)
            fd = _open_node(dir_fd, name, want)
        if fd is None:
            raise VifError("%s vanished right after it was made" % path, obj=name)
        try:
            os.chmod(_fd_path(fd), PRIVATE_NODE_MODE)  # mknod's mode went through the umask
        finally:
            os.close(fd)
    except OSError as exc:
        raise kernel_error(exc, "mknod %s c %d %d" % (path, major, minor), obj=name) from exc
    return path


def remove_private_node(netns, name):
    path = _private_node_path(netns, name)
    try:
        with nofollow.directory(os.path.dirname(path)) as dir_fd:
            if dir_fd is not None:
                os.unlink(name, dir_fd=dir_fd)  # unlinkat: a symbolic link is removed, never followed
    except (OSError, VifError):
        pass


def _fd_path(fd):
    """The inode behind an O_PATH descriptor, for chmod/chown (fchmod/fchown refuse O_PATH)."""
    return '/proc/self/fd/%d' % fd


def node_owner(path, major, minor):
    fd = _open_chardev(path, major, minor)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return {'owner': st.st_uid, 'group': st.st_gid, 'device_mode': '%04o' % stat.S_IMODE(st.st_mode)}


def set_node_owner(path, major, minor, uid=None, gid=None, mode=None):
    """Owner, group and mode of a macvtap node, applied to the checked node itself. No moment gives
    more than the old and the new settings both do: the bits are first narrowed to those both modes
    share, then the owner/group change, then the new mode is set."""
    fd = _open_chardev(path, major, minor)
    try:
        st = os.fstat(fd)
        have = stat.S_IMODE(st.st_mode)
        want = have if mode is None else int(mode, 8)
        if (uid is not None and uid != st.st_uid) or (gid is not None and gid != st.st_gid):
            if have & ~want:
                os.chmod(_fd_path(fd), have & want)
                have &= want
            os.chown(_fd_path(fd), -1 if uid is None else uid, -1 if gid is None else gid)
        if want != have:
            os.chmod(_fd_path(fd), want)
    except OSError as exc:
        raise kernel_error(exc, "chown/chmod %s" % path, obj=path) from exc
    finally:
        os.close(fd)


# -- RTM_NEWLINK packed by hand for batches (byte for byte what pyroute2 encodes: unit-tested) --------

_NLMSGHDR = struct.Struct('IHHII')
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_LINKINFO, IFLA_GROUP = 1, 3, 4, 5, 18, 27
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_MACVLAN_MODE, IFLA_MACVLAN_FLAGS = 1, 2  # the same numbers for macvtap
MACVLAN_MODES = {'private': 1, 'vepa': 2, 'bridge': 4, 'passthru': 8, 'source': 16}
MACVLAN_FLAG_NOPROMISC = 1
IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS = _linkparse.IFLA_IPVLAN_MODE, _linkparse.IFLA_IPVLAN_FLAGS
IPVLAN_MODES = dict((name, value) for value, name in _linkparse.IPVLAN_MODES.items())
IPVLAN_FLAGS = dict((name, value) for value, name in _linkparse.IPVLAN_FLAGS.items())


def _nla(kind, payload):
    size = 4 + len(payload)
    return struct.pack('HH', size, kind) + payload + b'\0' * (-size % 4)


def newlink_bytes(index, attrs, up=False):
    """The body of an RTM_NEWLINK: ifinfomsg (family 0, ifindex, IFF_UP in flags and change when
    ``up``) and the attributes, each (type, payload bytes)."""
    flags = IFF_UP if up else 0
    return struct.pack('BBHiII', 0, 0, 0, index, flags, flags) + b''.join(_nla(kind, value) for kind, value in attrs)


def macv_newlink_body(link):
    """The RTM_NEWLINK body that creates a macvlan/macvtap: name, lower, kind, mode, flags, and
    optionally MAC, MTU and IFF_UP (``link`` as add_macv_many takes it)."""
    data = _nla(IFLA_MACVLAN_MODE, struct.pack('I', MACVLAN_MODES[link['mode']]))
    if link.get('nopromisc'):
        data += _nla(IFLA_MACVLAN_FLAGS, struct.pack('H', MACVLAN_FLAG_NOPROMISC))
    attrs = [(IFLA_IFNAME, link['name'].encode('ascii') + b'\0'), (IFLA_LINK, struct.pack('I', link['lower_index'])),
             (IFLA_LINKINFO, _nla(IFLA_INFO_KIND, link['kind'].encode('ascii') + b'\0') + _nla(IFLA_INFO_DATA, data))]
    if link.get('mac'):
        attrs.append((IFLA_ADDRESS, bytes(int(octet, 16) for octet in link['mac'].split(':'))))
    if link.get('mtu'):
        attrs.append((IFLA_MTU, struct.pack('I', link['mtu'])))
    return newlink_bytes(0, attrs, up=link.get('admin_state') == 'up')


def ipvl_linkinfo(kind, mode=None, flag=None):
    """IFLA_LINKINFO of an ipvlan/ipvtap: kind, and IFLA_IPVLAN_MODE / IFLA_IPVLAN_FLAGS (u16 each) where given.
    Encoded here, not by pyroute2: 0.7.2 to 0.9.7 know no IFLA_IPVLAN_FLAGS and no ipvtap kind, and drop
    what they do not know without a word."""
    data = b''
    if mode is not None:
        data += _nla(IFLA_IPVLAN_MODE, struct.pack('H', IPVLAN_MODES[mode]))
    if flag is not None:
        data += _nla(IFLA_IPVLAN_FLAGS, struct.pack('H', IPVLAN_FLAGS[flag]))
    return _nla(IFLA_INFO_KIND, kind.encode('ascii') + b'\0') + (_nla(IFLA_INFO_DATA, data) if data else b'')


def ipvl_newlink_body(link, index=0):
    """The RTM_NEWLINK body that creates an ipvlan/ipvtap: name, lower, kind, mode, flag, and optionally
    MTU and IFF_UP (no MAC: an ipvlan has its lower device's). ``index``: the ifindex asked for (undo)."""
    attrs = [(IFLA_IFNAME, link['name'].encode('ascii') + b'\0'), (IFLA_LINK, struct.pack('I', link['lower_index'])),
             (IFLA_LINKINFO, ipvl_linkinfo(link['kind'], link['mode'], link.get('flag') or 'bridge'))]
    if link.get('mtu'):
        attrs.append((IFLA_MTU, struct.pack('I', link['mtu'])))
    return newlink_bytes(index or 0, attrs, up=link.get('admin_state') == 'up')


def newlink_body(link):
    """The create request of a link of a batch, by its kind."""
    return ipvl_newlink_body(link) if link['kind'] in IPVL_KINDS else macv_newlink_body(link)


class Kernel:
    """A netlink session in one network namespace (None: the module's own)."""

    def __init__(self, netns=None):
        check_netns(netns)
        check_pyroute2()
        self.netns = netns
        try:
            # Opened from inside the namespace: the same on every pyroute2 (see _compat).
            self.ipr = open_in_netns(IPRoute, netns_path(netns), _setns) if netns else IPRoute()
        except (OSError, NetlinkError) as exc:
            if errno.ENOENT == getattr(exc, 'errno', None):
                raise VifError("network namespace %r does not exist" % netns, field='netns', value=netns) from exc
            raise kernel_error(exc, "opening a netlink session in namespace %r" % netns, field='netns',
                               value=netns) from exc

    def close(self):
        self.ipr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- reading ---------------------------------------------------------------------------
    def dump_links(self):
        """All links of the namespace, by name (one netlink dump)."""
        links = {}
        for link in _linkparse.read_links(self.ipr):
            links[link['name']] = link
        by_index = dict((lk['index'], lk) for lk in links.values())
        for link in links.values():
            lower = by_index.get(link['lower_index']) if link.get('lower_netnsid') is None else None
            link['lower'] = lower['name'] if lower and link['lower_index'] != link['index'] else None
            master = by_index.get(link['master_index'])
            link['master'] = master['name'] if master else None
        return links

    def vf_settings(self, pf_index):
        """Per-VF settings of one SR-IOV physical function (one extended get)."""
        return _linkparse.read_vf_info(self.ipr, pf_index)

    # -- writing ---------------------------------------------------------------------------
    def _call(self, what, operation, obj, *args, **kwargs):
        try:
            return self.ipr.link(*args, **kwargs)
        except NetlinkError as exc:
            raise kernel_error(exc, what, obj=obj, operation=operation) from exc
        except Exception as exc:  # pyroute2 encodes in Python: struct errors, bad values
            raise VifError("%s failed: pyroute2 could not encode the request (%s)" % (what, exc), obj=obj) from exc

    def add_macv(self, what, kind, name, lower_index, mode, mac=None, mtu=None, nopromisc=False,
                 source_macs=None, admin_state=None, index=None):
        kwargs = {'ifname': name, 'kind': kind, 'link': lower_index, kind + '_mode': mode}
        if index:
            kwargs['index'] = index  # the kernel takes a free ifindex asked for (undo restores it)
        if admin_state == 'up':
            kwargs['state'] = 'up'  # IFF_UP in the RTM_NEWLINK itself: no second request
        if nopromisc:
            kwargs[kind + '_flags'] = 1
        # A passthru link inherits its lower device's MAC at creation whatever the request says;
        # a chosen MAC is set afterwards (which changes the lower device's MAC too).
        if mac and mode != 'passthru':
            kwargs['address'] = mac
        if mtu:
            kwargs['mtu'] = mtu
        self._call(what, 'add', name, 'add', **kwargs)
        if not (mac and mode == 'passthru') and not source_macs:
            return
        index = self.index_of(name)
        try:
            if mac and mode == 'passthru':
                self._call(what, 'set', name, 'set', index=index, address=mac)
            if source_macs:
                self.set_source_macs(what, kind, name, index, source_macs)
        except VifError:
            self.delete('undo: ip link del %s' % name, name, index)  # never a half-made link
            raise

    # Batches: one send for many requests, acknowledged in order (pyroute2's nlm_request_batch).
    # ~3x faster than one request at a time for a thousand links; used where every request of the
    # batch can be built up front (the indexes it refers to are known).
    def _batch(self, what, operation, messages):
        try:
            self.ipr.nlm_request_batch(messages)
        except NetlinkError as exc:
            raise kernel_error(exc, what, operation=operation) from exc

    @staticmethod
    def _encoded_newlink(flags, body):
        msg = _Encoded()
        msg.body = body
        msg['header']['type'] = RTM_NEWLINK
        msg['header']['flags'] = NLM_F_REQUEST | NLM_F_ACK | flags
        return msg

    def add_macv_many(self, what, links):
        """Create many macvlan/macvtap/ipvlan/ipvtap links (no source list, no passthru MAC) in one batch.
        Each link dict: name, kind, lower_index, mode, mac, mtu, nopromisc, flag, admin_state."""
        operation = 'ipvl-add' if any(link['kind'] in IPVL_KINDS for link in links) else 'add'
        self._batch(what, operation, [self._encoded_newlink(NLM_F_CREATE | NLM_F_EXCL, newlink_body(link))
                                      for link in links])

    def add_ipvl(self, what, link, lower_index, index=None):
        """Create one ipvlan/ipvtap (``link``: name, kind, mode, flag, mtu, admin_state); ``index``: the
        ifindex asked for (undo restores it)."""
        body = ipvl_newlink_body(dict(link, lower_index=lower_index), index)
        try:
            self._batch(what, 'ipvl-add', [self._encoded_newlink(NLM_F_CREATE | NLM_F_EXCL, body)])
        except VifError as exc:
            exc.obj = link['name']
            raise

    def set_ipvl(self, what, kind, index, mode=None, flag=None):
        """Change an ipvlan/ipvtap's mode and/or flag in place (RTM_NEWLINK without NLM_F_CREATE: the
        kernel's changelink). Both belong to the lower device's ipvlan port: every ipvlan/ipvtap on that
        lower device takes them."""
        body = newlink_bytes(index, [(IFLA_LINKINFO, ipvl_linkinfo(kind, mode, flag))])
        self._batch(what, 'ipvl-set', [self._encoded_newlink(0, body)])

    def set_group_many(self, what, indexes, group):
        marks = [newlink_bytes(index, [(IFLA_GROUP, struct.pack('I', group))]) for index in indexes]
        self._batch(what, 'set', [self._encoded_newlink(0, body) for body in marks])

    def find_index(self, name):
        """The link's ifindex, or None when there is no such link."""
        found = self.ipr.link_lookup(ifname=name)
        return found[0] if found else None

    def index_of(self, name):
        index = self.find_index(name)
        if index is None:
            raise VifError("link %s vanished while being configured" % name, obj=name)
        return index

    def set_macv(self, what, kind, name, index, mode=None, mac=None, mtu=None, admin_state=None):
        kwargs = {}
        if mode is not None:
            kwargs.update({'kind': kind, kind + '_mode': mode})
        if mac is not None:
            kwargs['address'] = mac
        if mtu is not None:
            kwargs['mtu'] = mtu
        if admin_state is not None:
            kwargs['state'] = admin_state
        if kwargs:
            self._call(what, 'set', name, 'set', index=index, **kwargs)

    def set_source_macs(self, what, kind, name, index, macs):
        if macs:
            data = {'attrs': [('IFLA_MACVLAN_MACADDR', mac) for mac in macs]}
            self._call(what, 'set', name, 'set', index=index, kind=kind,
                       **{kind + '_macaddr_mode': 'set', kind + '_macaddr_data': data})
        else:
            self._call(what, 'set', name, 'set', index=index, kind=kind, **{kind + '_macaddr_mode': 'flush'})

    def set_group(self, what, name, index, group):
        self._call(what, 'set', name, 'set', index=index, group=group)

    def delete_group(self, what, group):
        """Delete every link of a link group in one kernel transaction (one RCU grace period
        instead of one per link: ~0.15 s for 1,000 links instead of ~16 s)."""
        self._call(what, 'del', None, 'del', index=0, group=group)

    def delete(self, what, name, index):
        self._call(what, 'del', name, 'del', index=index)

    # -- SR-IOV sysfs (in this session's namespace: sysfs shows its devices) ---------------------
    def read_sriov_pf(self, pf):
        return in_sysfs(self.netns, read_sriov_pf, pf)

    def write_sriov(self, what, pf, attribute, value):
        try:
            in_sysfs(self.netns, write_sriov, pf, attribute, value)
        except OSError as exc:
            raise kernel_error(exc, what, obj=pf, operation='numvfs' if attribute == 'sriov_numvfs' else None) from exc

    def wait_sriov(self, pf, count, need_drivers, timeout):
        return in_sysfs(self.netns, wait_sriov, pf, count, need_drivers, timeout)

    def addressed_indexes(self):
        """Indexes of links that carry at least one address (one address dump)."""
        return set(msg['index'] for msg in self.ipr.get_addr())

    def set_vf(self, what, pf, pf_index, vf, values):
        """Per-VF settings on the PF (IFLA_VFINFO_LIST): mac, vlan+qos+vlan_proto, spoofchk, trust,
        link_state, min/max_tx_rate. ``values`` holds only what changes; vlan and rates go as a
        whole (the kernel takes them as one attribute each)."""
        spec: dict = {'vf': vf}
        if values.get('mac') is not None:
            spec['mac'] = values['mac']
        if 'vlan' in values:
            vlan = {'vlan': values['vlan'] or 0, 'qos': values.get('qos') or 0}
            if (values.get('vlan_proto') or '802.1Q') == '802.1Q':
                spec['vlan'] = vlan  # IFLA_VF_VLAN: what every driver takes (the list form made igb say EINVAL)
            else:
                spec['vlan'] = [dict(vlan, proto={v: k for k, v in VLAN_PROTOS.items()}[values['vlan_proto']])]
        for field in ('spoofchk', 'trust'):
            if values.get(field) is not None:
                spec[field] = 1 if values[field] else 0
        if values.get('link_state') is not None:
            spec['link_state'] = {v: k for k, v in VF_LINK_STATES.items()}[values['link_state']]
        if 'min_tx_rate' in values or 'max_tx_rate' in values:
            spec['rate'] = {'min_tx_rate': values.get('min_tx_rate') or 0,
                            'max_tx_rate': values.get('max_tx_rate') or 0}
        self._call(what, 'vf', pf, 'set', index=pf_index, vf=spec)

    def add_probe_link(self, pid, name, lower, lower_index, mac):
        """A VEPA macvlan on a lower device of this namespace, created up, directly inside the
        network namespace of process ``pid`` (it never exists in this one)."""
        self._call('ip link add link %s name %s address %s type macvlan mode vepa (probe endpoint, in the private '
                   'namespace of process %d)' % (lower, name, mac, pid), 'add', name, 'add', ifname=name,
                   kind='macvlan', link=lower_index, macvlan_mode='vepa', address=mac, net_ns_pid=pid, state='up')

    def set_hairpin(self, what, name, index, on):
        self._call(what, 'hairpin', name, 'set', index=index, kind='bridge_slave', mode=1 if on else 0)

    def add_tap(self, what, name, mode, uid=None, gid=None, flags=None, index=None):
        """Create a persistent tun/tap in this session's namespace; on an existing device with the
        same flags this sets its owner and group. Flags are always spelled out: unlike `ip tuntap`,
        a bare TUNSETIFF (and pyroute2's helper) turns the packet-information header on."""
        flags = flags or {}
        bits = tuntap_flags(mode, bool(flags.get('packet_info')), bool(flags.get('vnet_hdr')),
                            bool(flags.get('multi_queue')))
        try:
            if self.netns:
                run_in_netns(self.netns, tuntap_persist, name, bits, uid, gid, index)
            else:
                tuntap_persist(name, bits, uid, gid, index)
        except OSError as exc:
            raise kernel_error(exc, what, obj=name, operation='tap-add') from exc

    def set_tap(self, what, name, index, **attrs):
        """mtu, address, state, master (0 releases) of a tun/tap device."""
        if attrs:
            self._call(what, 'tap-set', name, 'set', index=index, **attrs)
