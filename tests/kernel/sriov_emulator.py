"""An EMULATION of an SR-IOV physical function, for machines without SR-IOV hardware (this one has
none, and its kernel has no netdevsim).

Two parts, both following the kernel's documented rules (drivers/pci/iov.c, rtnetlink's
IFLA_VFINFO_LIST), never this collection's code:

* ``PfFilesystem``: a FUSE file system mounted, inside a private mount and network namespace, over
  the sysfs directory of a stand-in network device (a veth), so that the module's unmodified
  reads and writes of /sys/class/net/<pf>/device/... reach it. sriov_numvfs: above totalvfs ->
  ERANGE, not a number -> EINVAL, a different non-zero count while VFs exist -> EBUSY, the same
  value -> no-op, no PF driver -> ENOENT; virtfnN links appear ``delay`` seconds after a write and
  drivers bind (with autoprobe on) ``bind_delay`` later; going to 0 destroys every VF.
* ``VfNetlink``: per-VF settings as a PF driver keeps them, answering the module's netlink
  requests in place of a driver (get with IFLA_VFINFO_LIST, set with IFLA_VF_*); settings reset
  when VFs are destroyed; a set for a VF that does not exist -> EINVAL; settings listed in
  ``refuse`` -> EOPNOTSUPP (igb, for example, refuses link_state).

``emulated_host(body, **options)`` runs ``body(host)`` in a child process that owns the private
namespaces; everything disappears with it. ``hold_instance`` keeps an emulated PF, counts and VF
netdevs only, in a named network namespace until ``stop_holder``: the sriov_passthru host of the
molecule scenario and of the lab. As a script: ``sriov_emulator.py hold NETNS HOLDER_FILE`` and
``sriov_emulator.py stop HOLDER_FILE...``.
"""

import errno
import json
import os
import signal
import stat
import sys
import time
import traceback

PCI_PF = '0000:03:00.0'


def vf_address(n):
    return '0000:03:10.%d' % n if n < 8 else '0000:03:%02x.%d' % (0x10 + n // 8, n % 8)


class PfFilesystem:
    """The directory of network device ``pf`` in sysfs, with its PCI device under pci/."""

    def __init__(self, pf, totalvfs=7, delay=0.0, bind_delay=0.0, autoprobe=True, driver='igb',
                 vf_driver='igbvf', vf_drivers=None):
        self.pf = pf
        self.totalvfs = totalvfs
        self.delay, self.bind_delay = delay, bind_delay
        self.autoprobe = autoprobe
        self.driver, self.vf_driver = driver, vf_driver
        self.vf_drivers = dict(vf_drivers or {})  # vf -> driver, e.g. a VF handed to vfio-pci
        self.numvfs = 0
        self.generation = 0   # +1 whenever VFs are destroyed
        self.changed_at = 0.0
        self.autoprobe_at_change = autoprobe

    # -- the tree -------------------------------------------------------------------------------
    def _visible_vfs(self):
        return self.numvfs if time.monotonic() >= self.changed_at + self.delay else 0

    def _driver_of(self, n):
        if n in self.vf_drivers:
            return self.vf_drivers[n]
        if self.autoprobe_at_change and time.monotonic() >= self.changed_at + self.delay + self.bind_delay:
            return self.vf_driver
        return None

    def _node(self, path):
        """('dir', entries) | ('file', text, writable) | ('link', target) | None"""
        parts = [p for p in path.split('/') if p]
        vfs = self._visible_vfs()
        if not parts:
            return ('dir', ['device', 'pci', 'drivers', 'ifindex'])
        if parts == ['device']:
            return ('link', 'pci/' + PCI_PF)
        if parts == ['ifindex']:
            return ('file', '1\n', False)
        if parts[0] == 'drivers':
            if len(parts) == 1:
                return ('dir', sorted({self.driver, self.vf_driver, 'vfio-pci'} - {None}))
            return ('dir', []) if len(parts) == 2 else None
        if parts[0] != 'pci':
            return None
        addresses = [PCI_PF] + [vf_address(n) for n in range(vfs)]
        if len(parts) == 1:
            return ('dir', addresses)
        if parts[1] not in addresses:
            return None
        rest = parts[2:]
        if parts[1] == PCI_PF:
            entries = {'sriov_totalvfs': ('file', '%d\n' % self.totalvfs, False),
                       'sriov_numvfs': ('file', '%d\n' % self.numvfs, True),
                       'sriov_drivers_autoprobe': ('file', '%d\n' % int(self.autoprobe), True),
                       'emulator_generation': ('file', '%d\n' % self.generation, False),
                       'class': ('file', '0x020000\n', False),  # an Ethernet controller, as igb's
                       'net': ('dir', [self.pf])}
            if self.driver:
                entries['driver'] = ('link', '../../drivers/' + self.driver)
            for n in range(vfs):
                entries['virtfn%d' % n] = ('link', '../' + vf_address(n))
        else:
            n = addresses.index(parts[1]) - 1
            driver = self._driver_of(n)
            entries = {'physfn': ('link', '../' + PCI_PF), 'class': ('file', '0x020000\n', False),
                       'net': ('dir', ['%sv%d' % (self.pf, n)] if driver == self.vf_driver else [])}
            if driver:
                entries['driver'] = ('link', '../../drivers/' + driver)
        if not rest:
            return ('dir', sorted(entries))
        node = entries.get(rest[0])
        if node is None:
            return None
        if len(rest) == 1:
            return node
        if node[0] == 'dir' and len(rest) == 2 and rest[1] in node[1]:
            return ('dir', [])
        return None

    # -- the kernel's rules for writes ------------------------------------------------------------
    def store(self, name, text):
        value = text.strip()
        if name == 'sriov_drivers_autoprobe':
            if value not in ('0', '1'):
                raise OSError(errno.EINVAL, 'invalid')
            self.autoprobe = value == '1'
            return
        if name != 'sriov_numvfs':
            raise OSError(errno.EACCES, 'read-only')
        try:
            count = int(value, 0)
        except ValueError:
            raise OSError(errno.EINVAL, 'not a number') from None
        if count < 0:
            raise OSError(errno.EINVAL, 'negative')
        if not self.driver:
            raise OSError(errno.ENOENT, 'no driver bound to the PF')
        if count == self.numvfs:
            return
        if count > self.totalvfs:
            raise OSError(errno.ERANGE, 'above totalvfs')
        if self.numvfs and count:
            raise OSError(errno.EBUSY, 'VFs exist')
        if self.numvfs:
            self.generation += 1
        self.numvfs = count
        self.changed_at = time.monotonic()
        self.autoprobe_at_change = self.autoprobe


def serve(pfs, mountpoint):
    """Run the FUSE file system (blocks). Needs mfusepy and libfuse3."""
    import mfusepy

    class Operations(mfusepy.Operations):
        def _get(self, path):
            node = pfs._node(path)
            if node is None:
                raise mfusepy.FuseOSError(errno.ENOENT)
            return node

        def getattr(self, path, fh=None):
            node = self._get(path)
            now = time.time()
            base = {'st_uid': 0, 'st_gid': 0, 'st_atime': now, 'st_mtime': now, 'st_ctime': now, 'st_nlink': 1}
            if node[0] == 'dir':
                return dict(base, st_mode=stat.S_IFDIR | 0o755, st_nlink=2, st_size=0)
            if node[0] == 'link':
                return dict(base, st_mode=stat.S_IFLNK | 0o777, st_size=len(node[1]))
            return dict(base, st_mode=stat.S_IFREG | (0o644 if node[2] else 0o444), st_size=4096)

        def readdir(self, path, fh):
            node = self._get(path)
            if node[0] != 'dir':
                raise mfusepy.FuseOSError(errno.ENOTDIR)
            return ['.', '..'] + list(node[1])

        def readlink(self, path):
            node = self._get(path)
            if node[0] != 'link':
                raise mfusepy.FuseOSError(errno.EINVAL)
            return node[1]

        def open(self, path, flags):
            self._get(path)
            return 0

        def read(self, path, size, offset, fh):
            node = self._get(path)
            if node[0] != 'file':
                raise mfusepy.FuseOSError(errno.EISDIR)
            return node[1].encode()[offset:offset + size]

        def truncate(self, path, length, fh=None):
            return 0

        def write(self, path, data, offset, fh):
            try:
                pfs.store(path.rsplit('/', 1)[-1], data.decode())
            except OSError as exc:
                raise mfusepy.FuseOSError(exc.errno) from None
            return len(data)

    mfusepy.FUSE(Operations(), mountpoint, foreground=True, nothreads=True, direct_io=True, attr_timeout=0,
                 entry_timeout=0, negative_timeout=0)


# -- per-VF netlink, answered in place of a PF driver -----------------------------------------------

DEFAULTS = {'mac': '00:00:00:00:00:00', 'vlan': 0, 'qos': 0, 'vlan_proto': '802.1Q', 'spoofchk': True,
            'trust': False, 'link_state': 'auto', 'min_tx_rate': 0, 'max_tx_rate': 0}


class VfNetlink:
    def __init__(self, pf, refuse=()):
        self.pf = pf
        self.refuse = set(refuse)
        self.settings = {}
        self.generation = None

    def _sysfs(self, name):
        with open('/sys/class/net/%s/device/%s' % (self.pf, name)) as handle:
            return int(handle.read())

    def _sync(self):
        generation, count = self._sysfs('emulator_generation'), self._sysfs('sriov_numvfs')
        if generation != self.generation:
            self.settings = {}
            self.generation = generation
        return count

    def get(self):
        count = self._sync()
        return [dict(DEFAULTS, vf=n, **self.settings.get(n, {})) for n in range(count)]

    def set(self, spec):
        """spec: what kernel.Kernel.set_vf hands pyroute2 (vf, mac, vlan list, spoofchk, trust,
        link_state, rate). Raises OSError(errno) like the kernel would answer."""
        count = self._sync()
        vf = spec['vf']
        if vf >= count:
            raise OSError(errno.EINVAL, 'no such VF')
        changes = {}
        if 'mac' in spec:
            changes['mac'] = spec['mac']
        if 'vlan' in spec:
            # IFLA_VF_VLAN (a dict: 802.1Q) or IFLA_VF_VLAN_LIST (a list of entries with a protocol)
            entry = spec['vlan'][0] if isinstance(spec['vlan'], list) else dict(spec['vlan'], proto=0x8100)
            if entry['vlan'] > 4095 or entry['qos'] > 7 or (entry['qos'] and not entry['vlan']):
                raise OSError(errno.EINVAL, 'bad vlan/qos')
            changes.update(vlan=entry['vlan'], qos=entry['qos'],
                           vlan_proto={0x8100: '802.1Q', 0x88a8: '802.1ad'}[entry['proto']])
        for field in ('spoofchk', 'trust'):
            if field in spec:
                changes[field] = bool(spec[field])
        if 'link_state' in spec:
            changes['link_state'] = {0: 'auto', 1: 'enable', 2: 'disable'}[spec['link_state']]
        if 'rate' in spec:
            changes.update(spec['rate'])
        if set(changes) & self.refuse:
            raise OSError(errno.EOPNOTSUPP, 'not implemented by this driver')
        self.settings.setdefault(vf, {}).update(changes)


def patch_kernel(kern, emulated):
    """Route the module's per-VF netlink for the emulated PF to ``emulated`` (a VfNetlink)."""
    original_call = kern.Kernel._call

    def call(self, what, operation, obj, *args, **kwargs):
        if kwargs.get('vf') is not None:
            try:
                emulated.set(dict(kwargs['vf']))
            except OSError as exc:
                raise kern.kernel_error(exc, what, obj=obj, operation=operation) from exc
            return None
        return original_call(self, what, operation, obj, *args, **kwargs)

    kern.Kernel._call = call
    kern.Kernel.vf_settings = lambda self, pf_index: emulated.get()


# -- a host with the emulated PF --------------------------------------------------------------------

class Host:
    def __init__(self, pf, fs_pid, netlink):
        self.pf = pf
        self.fs_pid = fs_pid
        self.netlink = netlink

    def sysfs(self, name):
        with open('/sys/class/net/%s/device/%s' % (self.pf, name)) as handle:
            return handle.read().strip()

    def write(self, name, value):
        fd = os.open('/sys/class/net/%s/device/%s' % (self.pf, name), os.O_WRONLY)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)


def _sh(*argv):
    import subprocess
    subprocess.run(argv, check=True, capture_output=True)


def emulated_host(body, pf='pfemu0', refuse=(), **options):
    """Run ``body(host)`` in a child with a private mount and network namespace where /sys shows
    the emulated PF ``pf`` (a veth stand-in with the FUSE tree over its sysfs directory). Returns
    body's result (JSON-able); an exception in the child is raised here with its traceback."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            payload = {'ok': _child(body, pf, refuse, options)}
        except BaseException:
            payload = {'error': traceback.format_exc()}
            code = 1
        os.write(write_fd, json.dumps(payload, default=str).encode())
        os._exit(code)
    os.close(write_fd)
    from ansible_collections.hostnet.vif.plugins.module_utils._kernel import child_payload
    payload = child_payload(read_fd, pid)
    if 'error' in payload:
        raise AssertionError('in the emulated host:\n' + payload['error'])
    return payload['ok']


def _child(body, pf, refuse, options):
    sys.path.insert(0, os.path.dirname(__file__))
    from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
    kern._unshare(kern.CLONE_NEWNET)
    _sh('ip', 'link', 'set', 'lo', 'up')
    fs_pid = _build_pf(kern, pf, options)
    try:
        netlink = VfNetlink(pf, refuse)
        patch_kernel(kern, netlink)
        return body(Host(pf, fs_pid, netlink))
    finally:
        os.kill(fs_pid, signal.SIGKILL)
        os.waitpid(fs_pid, 0)


def _build_pf(kern, pf, options):
    """In the calling process's network namespace, and a private mount namespace of its own made
    here: a sysfs of that network namespace on /sys, the PF stand-in and the VF netdev stand-ins
    (veths), and the FUSE tree over the PF's sysfs directory, served by a child (returns its pid)
    that dies with the caller."""
    kern._unshare(kern.CLONE_NEWNS)
    kern._mount(None, '/', None, kern.MS_REC | kern.MS_PRIVATE)
    kern._mount('sysfs', '/sys', 'sysfs', 0)  # this network namespace's devices
    _sh('ip', 'link', 'add', pf, 'type', 'veth', 'peer', 'name', pf + 'peer')
    for n in range(options.get('totalvfs', 7)):  # stand-ins for the VF netdevs igbvf would make
        _sh('ip', 'link', 'add', '%sv%d' % (pf, n), 'type', 'veth', 'peer', 'name', '%sp%d' % (pf, n))
        _sh('ip', 'link', 'set', '%sp%d' % (pf, n), 'up')  # the wire's end: a VF has carrier once it is up
    mountpoint = os.path.realpath('/sys/class/net/' + pf)
    fs = PfFilesystem(pf, **options)
    fs_pid = os.fork()
    if fs_pid == 0:
        try:
            kern._libc().prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
            serve(fs, mountpoint)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 10
    while not os.path.exists('/sys/class/net/%s/device/sriov_totalvfs' % pf):
        if time.monotonic() > deadline:
            os.kill(fs_pid, signal.SIGKILL)
            raise RuntimeError('the FUSE emulator did not come up')
        time.sleep(0.02)
    # The PCI-address view (/sys/bus/pci/devices/<address>) of the emulated PF.
    kern._mount('tmpfs', '/sys/bus/pci/devices', 'tmpfs', 0)
    os.symlink('/sys/class/net/%s/device' % pf, '/sys/bus/pci/devices/' + PCI_PF)
    return fs_pid


# -- a long-lived emulated host inside a named network namespace (molecule's sriov_passthru) --------

def hold_instance(netns, holder_file, pf='pfemu0', **options):
    """Start a background process that joins network namespace ``netns``, builds the emulated PF
    there in a mount namespace of its own and then holds it until it is killed (its FUSE server
    dies with it: the VF stand-ins go with the namespace). ``holder_file`` records it as JSON: pid,
    start (its start time, field 22 of /proc/PID/stat), mount_namespace (/proc/PID/ns/mnt) and
    mount_namespace_id (mnt:[INODE]), what the hostnet.vif.netns connection's mount_namespace,
    mount_namespace_holder_start and mount_namespace_id options need to enter it. Per-VF netlink
    settings are NOT emulated here (veths refuse them): this host emulates VF counts and VF netdevs
    only. Returns once the PF is ready; raises if it is not.
    A holder still running from an earlier start with the same file is stopped first."""
    stop_holder(holder_file)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        try:
            os.setsid()
            # Nothing of the caller's stdio stays open here or in the FUSE server: whoever ran the
            # caller (ansible's command module) waits for those pipes to close.
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            sys.path.insert(0, os.path.dirname(__file__))
            from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
            ns_fd = os.open(kern.netns_path(netns), os.O_RDONLY)
            kern._setns(ns_fd, kern.CLONE_NEWNET)
            os.close(ns_fd)
            _build_pf(kern, pf, options)
            _write_record(holder_file, _holder_record(os.getpid()))
            os.write(write_fd, json.dumps({'ok': os.getpid()}).encode() + b'\n')
        except BaseException:
            os.write(write_fd, json.dumps({'error': traceback.format_exc()}).encode() + b'\n')
            os._exit(1)
        os.close(write_fd)
        while True:
            signal.pause()
    os.close(write_fd)
    with os.fdopen(read_fd, 'rb') as answers:  # one line: the FUSE server keeps the pipe open
        answer = json.loads(answers.readline().decode() or '{"error": "the holder died"}')
    if 'error' in answer:
        raise RuntimeError('emulated SR-IOV host in %s: %s' % (netns, answer['error']))
    return answer['ok']


def _start_time(pid):
    """Field 22 of /proc/PID/stat (after the command name, which may contain spaces); None if gone."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            return int(handle.read().rsplit(b')', 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _holder_record(pid):
    return {'pid': pid, 'start': _start_time(pid), 'mount_namespace': '/proc/%d/ns/mnt' % pid,
            'mount_namespace_id': os.readlink('/proc/%d/ns/mnt' % pid)}


def _write_record(path, record):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, 'w') as handle:
        handle.write(json.dumps(record) + '\n')


def stop_holder(holder_file):
    """Stop the holder recorded in ``holder_file`` (if that process still is the one recorded: same
    pid and start time) and remove the file."""
    try:
        with open(holder_file) as handle:
            record = json.loads(handle.read())
        pid, start = record['pid'], record['start']
        if _start_time(pid) == start:
            os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if os.path.lexists(holder_file):
        os.unlink(holder_file)


if __name__ == '__main__':
    import argparse
    parser = argparse.ArgumentParser(description='An emulated SR-IOV host in a network namespace, for tests and labs.')
    commands = parser.add_subparsers(dest='command', required=True)
    hold = commands.add_parser('hold', help='start a holder in NETNS; HOLDER_FILE records it (JSON)')
    hold.add_argument('netns')
    hold.add_argument('holder_file')
    hold.add_argument('--pf', default='pfemu0')
    hold.add_argument('--totalvfs', type=int, default=7)
    stop = commands.add_parser('stop', help='stop the holders these files record (missing ones are fine)')
    stop.add_argument('holder_files', nargs='*')
    cli = parser.parse_args()
    if cli.command == 'hold':
        print(hold_instance(cli.netns, cli.holder_file, pf=cli.pf, totalvfs=cli.totalvfs))
    else:
        for path in cli.holder_files:
            stop_holder(path)
