#!/usr/bin/env python3
# udp-echo server (document 002, the chapter's Python): every datagram goes back to
# its sender as it came. Lines marked "kit:" are the kit's; the rest is the chapter's.
import os  # kit
import socket
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = "0.0.0.0"
PORT = 8080
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.bind((HOST, PORT))
    while True:
        # A datagram longer than 4096 bytes is cut: the rest of it is lost
        data, addr = s.recvfrom(4096)
        print(f"Received {data!r} from {addr}")
        s.sendto(data, addr)
