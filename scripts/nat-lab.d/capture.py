#!/usr/bin/env python3
"""capture.py INTERFACE -w FILE: what tcpdump -w does, for nat-lab in a user namespace.

tcpdump, started as root, always gives up root for another user (Debian's build: the
user tcpdump, or -Z's), and a user namespace made without privileges may not change
groups: there tcpdump refuses to start. This captures every frame in and out of
INTERFACE (a packet socket) into a classic pcap file until SIGTERM or SIGINT, saying
"listening on INTERFACE" on stderr once it is, as tcpdump does.
"""

import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SNAPLEN = 262144


def main():
    if len(sys.argv) != 4 or sys.argv[2] != "-w":
        sys.exit("usage: capture.py INTERFACE -w FILE")
    interface, path = sys.argv[1], sys.argv[3]
    capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    capture.bind((interface, 0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    with open(path, "wb", buffering=0) as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))  # Ethernet
        print(f"listening on {interface}", file=sys.stderr, flush=True)
        while True:
            frame = capture.recv(SNAPLEN)
            now = time.time()
            seconds = int(now)
            header = struct.pack("<IIII", seconds, int((now - seconds) * 1e6), len(frame), len(frame))
            out.write(header + frame)  # one write a packet: whole records only


if __name__ == "__main__":
    main()
