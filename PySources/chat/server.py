#!/usr/bin/env python3
# chat server (document 002, the chapter's asyncio): whatever one client sends goes to
# every other client; one thread and an event loop serve them all. Lines marked "kit:"
# are the kit's; the rest is the chapter's.
import asyncio
import os  # kit
import sys  # kit

sys.stdout.reconfigure(line_buffering=True)  # kit: a pipe sees each line at once

HOST = "0.0.0.0"
PORT = 8080
PORT = int(os.environ.get("KIT_PORT", PORT))  # kit: KIT_PORT overrides the port

clients = set()  # the writer of every connected client


async def handle(reader, writer):
    # A coroutine per client: each await lets the loop serve the others meanwhile
    clients.add(writer)
    try:
        while True:
            data = await reader.read(4096)
            if not data:  # the client left
                break
            for other in list(clients):  # a copy: the set may change during an await
                if other is not writer:
                    other.write(data)
                    await other.drain()  # waits while that client's buffer is full
    finally:
        clients.discard(writer)
        writer.close()


async def main():
    server = await asyncio.start_server(handle, HOST, PORT)
    print(f"Chat server on port {PORT}")
    async with server:
        await server.serve_forever()


asyncio.run(main())
