#!/usr/bin/env python3
# udp-hello client (lecture document 000, its Python version): send one datagram,
# print the answer. Lines marked "kit:" are the kit's; the rest is the lecture's.
import os  # kit
import socket
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = '127.0.0.1'
PORT = 8080
HOST = os.environ.get("KIT_HOST", HOST)  # kit: KIT_HOST overrides the host
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.sendto(b"Hello from UDP client", (HOST, PORT))
    # No timeout: a lost datagram or a missing server leaves it waiting here forever
    data, addr = s.recvfrom(1024)
    print(f"Received: {data.decode()}")
