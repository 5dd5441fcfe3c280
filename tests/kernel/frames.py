"""Raw Ethernet frames for the tests, run inside a namespace (`ip netns exec NS python frames.py`).

send IFACE SRC DST TAG [COUNT]   send frames of a local experimental EtherType (0x88b5)
recv IFACE SECONDS TAG           print the source MAC of every frame carrying TAG, one per line
tapwrite DEV SRC DST TAG         write frames into a macvtap character device (virtio-net header)
tapread DEV SECONDS TAG          read frames from a macvtap character device
No IP, nothing routed: the frames stay on the veth / macvlan they are sent on.
"""

import os
import select
import socket
import struct
import sys
import time

ETHERTYPE = 0x88B5
VNET_HDR = b'\0' * 10


def _mac(text):
    return bytes(int(x, 16) for x in text.split(':'))


def _frame(src, dst, tag):
    return _mac(dst) + _mac(src) + struct.pack('!H', ETHERTYPE) + tag.encode().ljust(46, b'\0')


def _has(data, tag):
    return len(data) >= 14 and struct.unpack('!H', data[12:14])[0] == ETHERTYPE and tag.encode() in data


def _src(data):
    return ':'.join('%02x' % b for b in data[6:12])


def main(argv):
    cmd = argv[0]
    if cmd == 'send':
        iface, src, dst, tag = argv[1:5]
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((iface, 0))
        for _copy in range(int(argv[5]) if len(argv) > 5 else 3):
            sock.send(_frame(src, dst, tag))
            time.sleep(0.01)
    elif cmd == 'recv':
        iface, seconds, tag = argv[1], float(argv[2]), argv[3]
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
        sock.bind((iface, 0))
        print('READY', flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
                data = sock.recv(4096)
                if _has(data, tag):
                    print(_src(data), flush=True)
    elif cmd == 'tapwrite':
        dev, src, dst, tag = argv[1:5]
        fd = os.open(dev, os.O_RDWR)
        for _copy in range(3):
            os.write(fd, VNET_HDR + _frame(src, dst, tag))
            time.sleep(0.01)
        os.close(fd)
    elif cmd == 'tapread':
        dev, seconds, tag = argv[1], float(argv[2]), argv[3]
        fd = os.open(dev, os.O_RDWR | os.O_NONBLOCK)
        print('READY', flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                data = os.read(fd, 4096)[len(VNET_HDR):]
                if _has(data, tag):
                    print(_src(data), flush=True)
        os.close(fd)


if __name__ == '__main__':
    main(sys.argv[1:])
