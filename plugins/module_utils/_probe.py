# -*- coding: utf-8 -*-
# Copyright: hostnet.vif contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel side of the reflective-relay probe: two throwaway VEPA endpoints that exchange raw frames.

Each endpoint is a helper process in its own *anonymous* network namespace (unshare, no name
under /run/netns). The macvlan is created by the caller's netlink session directly inside that
namespace (IFLA_NET_NS_PID), so it never appears in the user's namespace. The kernel kills the
helpers when the module's process dies (PR_SET_PDEATHSIG), and a namespace dies with its last
process, taking its macvlan with it: an interrupted probe cannot leave anything behind. A later
run still sweeps helpers that outlived their run, in case the signal could not be delivered. It
finds them by a record, not by name (any process can call itself hvif-probe): one file per helper
in a directory only root can write (RECORD_DIR), holding the helper's pid and start time and its
run's pid and start time; a process is that helper only if its start time matches, so neither a
stranger nor a recycled pid is ever killed.

Frames: a locally administered source MAC, the IEEE 802 local experimental EtherType 0x88B5, a
per-run nonce of 128 bits from the operating system's random source in the payload; sent unicast
from one endpoint to the other's MAC. No IP anywhere. Only frames carrying this run's nonce count,
so stray frames and frames replayed from earlier runs do not. The verdict is not authenticated: the
frames cross the switch in clear, so a host on the same VLAN that sees them (unknown unicast is
flooded) can send them back during the run and fake a reflection.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import random
import secrets
import select
import signal
import socket
import struct
import time

from ansible_collections.hostnet.vif.plugins.module_utils import _runtime
from ansible_collections.hostnet.vif.plugins.module_utils import _kernel as kern
from ansible_collections.hostnet.vif.plugins.module_utils._apply import StopSignals

ETHERTYPE = 0x88B5  # IEEE Std 802 local experimental EtherType 1
HELPER_NAME = b'hvif-probe'  # process name (comm) of the helpers, for people reading ps
RECORD_DIR = _runtime.RUN_DIR + '/probe'  # root only: one record per living helper, for the sweep
PR_SET_NAME = 15
PR_SET_PDEATHSIG = 1


def random_mac():
    """Locally administered, unicast."""
    octets = [0x02] + [random.randint(0, 255) for _octet in range(5)]
    return ':'.join('%02x' % o for o in octets)


def _mac_bytes(mac):
    return bytes(int(part, 16) for part in mac.split(':'))


def _frame(src, dst, tag, seq):
    payload = ('%s %d' % (tag, seq)).encode().ljust(46, b'\0')
    return _mac_bytes(dst) + _mac_bytes(src) + struct.pack('!H', ETHERTYPE) + payload


def _tag_of(data):
    if len(data) < 14 or struct.unpack('!H', data[12:14])[0] != ETHERTYPE:
        return None, None
    words = data[14:].rstrip(b'\0').decode('ascii', 'replace').split()
    return (words[0], words[1]) if len(words) == 2 else (None, None)


def _record_dir():
    """RECORD_DIR as a descriptor, refused unless only this process's user can use it: nobody else
    can plant a record that makes the sweep kill."""
    if os.path.dirname(RECORD_DIR) == _runtime.RUN_DIR:
        os.close(_runtime.private_dir(_runtime.RUN_DIR))
    return _runtime.private_dir(RECORD_DIR)


def _record(helper_pid):
    """Write the helper's record: its pid and start time, and its run's (this process's)."""
    run = os.getpid()
    line = '%d %d %d %d\n' % (helper_pid, _runtime.start_time(helper_pid) or 0, run, _runtime.start_time(run) or 0)
    directory = _record_dir()
    try:
        fd = os.open(str(helper_pid), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600, dir_fd=directory)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    finally:
        os.close(directory)


def _forget(helper_pid):
    directory = _record_dir()
    try:
        os.unlink(str(helper_pid), dir_fd=directory)
    except FileNotFoundError:
        pass
    finally:
        os.close(directory)


def _kill_if(pid, start):
    """SIGKILL the process only if it is still the one that started at ``start``: through a pidfd,
    checked after opening it, so the pid cannot be recycled between the check and the signal."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError as exc:  # a kernel before 5.3: no pidfd; check as close to the signal as possible
        if exc.errno != errno.ENOSYS:
            raise
        if _runtime.start_time(pid) == start:
            os.kill(pid, signal.SIGKILL)
        return
    try:
        if _runtime.start_time(pid) == start:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except ProcessLookupError:
        pass
    finally:
        os.close(pidfd)


def _sweep():
    """Kill the recorded helpers whose run has ended (PR_SET_PDEATHSIG normally did it already) and
    drop the records of helpers that are gone. Helpers of a run still alive are left to it."""
    directory = _record_dir()
    try:
        for name in os.listdir(directory):
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory)
                try:
                    helper, helper_start, run, run_start = (int(word) for word in os.read(fd, 200).split())
                finally:
                    os.close(fd)
            except (OSError, ValueError):
                continue  # not a record of ours: leave it
            if _runtime.start_time(helper) == helper_start:
                if _runtime.start_time(run) == run_start:
                    continue
                _kill_if(helper, helper_start)
            try:
                os.unlink(name, dir_fd=directory)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
    finally:
        os.close(directory)


class Endpoint:
    """A helper process in a fresh network namespace, driven by one JSON line per command."""

    def __init__(self):
        self.pid = None
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # child: never returns
            code = 0
            try:
                os.close(self._to_child)
                os.close(self._from_child)
                libc = kern._libc()
                libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                if os.getppid() != parent:  # the parent died before the line above
                    os._exit(1)
                libc.prctl(PR_SET_NAME, HELPER_NAME, 0, 0, 0)
                kern._unshare(kern.CLONE_NEWNET)
                _serve(to_child_r, from_child_w)
            except BaseException:  # the parent sees the pipe close
                code = 1
            os._exit(code)
        os.close(to_child_r)
        os.close(from_child_w)
        self.pid = pid
        self._buffer = b''
        try:
            _record(pid)
            self.call({'op': 'ping'}, timeout=5)
        except BaseException:
            self.close()
            raise

    def call(self, request, timeout):
        os.write(self._to_child, (json.dumps(request) + '\n').encode())
        deadline = time.monotonic() + timeout
        while b'\n' not in self._buffer:
            stop = StopSignals.pending()
            if stop:  # recorded by the run's lock holder: give up the probe, its helpers go with it
                raise RuntimeError("interrupted by %s" % stop)
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("probe helper did not answer %r within %.1f s" % (request['op'], timeout))
            if not select.select([self._from_child], [], [], min(left, 0.1))[0]:
                continue
            chunk = os.read(self._from_child, 65536)
            if not chunk:
                raise RuntimeError("probe helper exited during %r" % request['op'])
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b'\n', 1)
        answer = json.loads(line.decode())
        if 'error' in answer:
            raise RuntimeError("probe helper failed during %r: %s" % (request['op'], answer['error']))
        return answer

    def close(self):
        """End the helper; its namespace and the macvlan in it go with it."""
        if self.pid is None:
            return
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        os.waitpid(self.pid, 0)
        _forget(self.pid)
        self.pid = None


def _serve(rfd, wfd):
    """The helper's loop: ping, listen (open a packet socket), collect, send."""
    stream = os.fdopen(rfd, 'r')
    sock = None
    for line in stream:
        request = json.loads(line)
        try:
            op = request['op']
            answer: dict
            if op == 'ping':
                answer = {'ok': True}
            elif op == 'listen':
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
                sock.bind((request['ifname'], ETHERTYPE))
                answer = {'ok': True}
            elif op == 'collect':
                answer = {'received': _collect(sock, request)}
            elif op == 'send':
                answer = {'sent': _send(request)}
            elif op == 'delete':
                _delete_links()
                answer = {'ok': True}
            else:
                answer = {'error': 'unknown op %r' % op}
        except Exception as exc:
            answer = {'error': str(exc)}
        os.write(wfd, (json.dumps(answer) + '\n').encode())


def _collect(sock, request):
    """Frames for our MAC from the peer's MAC with this run's tag, until all came or time ran out."""
    own, peer, tag, want = request['own'].lower(), request['peer'].lower(), request['tag'], request['count']
    seen: set = set()
    deadline = time.monotonic() + request['timeout']
    while len(seen) < want:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            break
        data = sock.recv(2048)
        if _mac_bytes(own) != data[0:6] or _mac_bytes(peer) != data[6:12]:
            continue
        got_tag, seq = _tag_of(data)
        if got_tag == tag:
            seen.add(seq)
    return len(seen)


def _send(request):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
    try:
        sock.bind((request['ifname'], ETHERTYPE))
        for seq in range(request['count']):
            sock.send(_frame(request['own'], request['peer'], request['tag'], seq))
            time.sleep(request['interval'])
    finally:
        sock.close()
    return request['count']


def _delete_links():
    """Remove the probe link from inside the helper's namespace, so it is gone when the run returns
    (a dying namespace is cleaned up asynchronously)."""
    with kern.Kernel() as kernel:
        for link in kernel.dump_links().values():
            if link['kind'] == 'macvlan':
                kernel.delete('ip link del %s' % link['name'], link['name'], link['index'])


def reflect(kernel, lower, lower_index, count=5, timeout=1.0, interval=0.02):
    """Two VEPA endpoints on the lower device (by index, in ``kernel``'s namespace), frames from B
    to A. Returns the evidence: frames sent and received, the MACs and EtherType used."""
    _sweep()
    tag = secrets.token_hex(16)  # the run's nonce: unpredictable, never shared with another run
    macs = [random_mac(), random_mac()]
    ends = []
    try:
        for _mac in macs:
            ends.append(Endpoint())
        for end, mac in zip(ends, macs):
            kernel.add_probe_link(end.pid, 'hvprobe0', lower, lower_index, mac)
        receiver, sender = ends
        receiver.call({'op': 'listen', 'ifname': 'hvprobe0'}, timeout=5)
        sent = sender.call({'op': 'send', 'ifname': 'hvprobe0', 'own': macs[1], 'peer': macs[0], 'tag': tag,
                            'count': count, 'interval': interval}, timeout=5 + count * interval)['sent']
        received = receiver.call({'op': 'collect', 'own': macs[0], 'peer': macs[1], 'tag': tag, 'count': count,
                                  'timeout': timeout}, timeout=5 + timeout)['received']
        for end in ends:
            end.call({'op': 'delete'}, timeout=10)
        return {'frames_sent': sent, 'frames_received': received, 'ethertype': '0x%04x' % ETHERTYPE,
                'sender_mac': macs[1], 'receiver_mac': macs[0]}
    finally:
        for end in ends:
            end.close()
