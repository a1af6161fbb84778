"""The floor for push latency: a bare WebSocket server on loopback that pushes on command.

Clients connect to /client/N; a control connection to /control sends "N" and the server
sends one frame to client N. No database, no session, no routing: what is left is the cost
of a WebSocket push between two processes on this machine.
"""
from __future__ import annotations

import asyncio
import sys

import websockets

clients: dict[str, websockets.ServerConnection] = {}


async def handle(connection: websockets.ServerConnection) -> None:
    path = connection.request.path
    if path.startswith("/client/"):
        clients[path.rsplit("/", 1)[1]] = connection
        await connection.wait_closed()
    elif path == "/control":
        async for message in connection:
            target = clients.get(str(message))
            if target is not None:
                await target.send(message)


async def main(port: int) -> None:
    async with websockets.serve(handle, "127.0.0.1", port, compression=None, max_queue=None):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
