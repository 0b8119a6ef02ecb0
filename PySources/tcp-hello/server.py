#!/usr/bin/env python3
# tcp-hello server (lecture document 000, its Python version): accept one client, read
# one message, answer it, exit. Lines marked "kit:" are the kit's; the rest is the
# lecture's.
import os  # kit
import socket
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = ''  # every local interface, as INADDR_ANY in the C
PORT = 8080
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

# The with blocks close the sockets however the block ends: no close() to forget
with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, PORT))  # a tuple, not a struct: Python converts the byte order
    s.listen(5)
    print(f"Server listening on port {PORT}")
    conn, addr = s.accept()  # a new socket, and the client's (ip, port)
    with conn:
        print(f"Connected by {addr}")
        # One recv, as in the C: whatever has arrived, up to 1024 bytes
        data = conn.recv(1024)
        if data:
            print(f"Received: {data.decode()}")
            conn.sendall(b"Hello from server")  # sendall loops until every byte is sent
