#!/usr/bin/env python3
# tcp-echo client (document 002, the chapter's Python): send one line, print the echo
# as Python prints bytes. Lines marked "kit:" are the kit's; the rest is the chapter's.
import os  # kit
import socket
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = "127.0.0.1"
PORT = 8080
HOST = os.environ.get("KIT_HOST", HOST)  # kit: KIT_HOST overrides the host
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect((HOST, PORT))
    s.sendall(b"hello, server\n")
    # One recv: the echo may come back in pieces, and this prints the first
    data = s.recv(4096)
    print(f"Server replied: {data!r}")
