#!/usr/bin/env python3
# tcp-hello client (lecture document 000, its Python version): connect, send one
# message, print the answer. Lines marked "kit:" are the kit's; the rest is the
# lecture's.
import os  # kit
import socket
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = '127.0.0.1'
PORT = 8080
HOST = os.environ.get("KIT_HOST", HOST)  # kit: KIT_HOST overrides the host
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.connect((HOST, PORT))  # a refused connect raises: the traceback is the error
    s.sendall(b"Hello from client")  # no newline, as in the C
    data = s.recv(1024)
    print(f"Received: {data.decode()}")
