#!/usr/bin/env python3
# udp-hello server (lecture document 000, its Python version): answer every datagram
# that arrives, forever. Lines marked "kit:" are the kit's; the rest is the lecture's.
import os  # kit
import socket
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = ''
PORT = 8080
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    s.bind((HOST, PORT))  # no listen, no accept: bind is all a UDP server needs
    print(f"UDP server listening on port {PORT}")
    while True:
        # One datagram, up to 1024 bytes, and the (ip, port) it came from
        data, addr = s.recvfrom(1024)
        print(f"Received from {addr}: {data.decode()}")
        s.sendto(b"Message received", addr)
