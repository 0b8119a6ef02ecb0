#!/usr/bin/env python3
# tcp-echo server (document 002, the chapter's Python): one client at a time, every
# byte it sends goes back until it closes, then the next client. Lines marked "kit:"
# are the kit's; the rest is the chapter's.
import os  # kit
import socket
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = "0.0.0.0"
PORT = 8080
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((HOST, PORT))
    srv.listen(5)
    print(f"Listening on port {PORT}")
    while True:
        conn, addr = srv.accept()
        print(f"Connected: {addr}")
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:  # b"": the client closed its side
                    break
                conn.sendall(data)  # the whole chunk, however many send calls it takes
