"""Helpers of bench-idle-memory: a keep-alive origin, and the idle clients that measure RSS."""
import asyncio
import sys
import time


async def origin(port):
    async def serve(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if not head:
                    break
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def clients(port, count, pid):
    # Warm up (first requests allocate pools and caches), then settle.
    for _ in range(200):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        await reader.readuntil(b"ok")
        writer.close()
    await asyncio.sleep(1)
    before = rss_kib(pid)
    open_connections = []

    async def one():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
        await reader.readuntil(b"ok")
        open_connections.append(writer)

    for start in range(0, count, 500):
        await asyncio.gather(*(one() for _ in range(min(500, count - start))))
    await asyncio.sleep(2)
    after = rss_kib(pid)
    per_connection = (after - before) * 1024 / count
    print("| idle keep-alive connections | RSS before | RSS after | per connection |")
    print("|---|---|---|---|")
    print(f"| {count} | {before / 1024:.1f} MiB | {after / 1024:.1f} MiB | {per_connection / 1024:.2f} KiB |")
    for writer in open_connections:
        writer.close()


if __name__ == "__main__":
    if sys.argv[1] == "origin":
        asyncio.run(origin(int(sys.argv[2])))
    else:
        asyncio.run(clients(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])))
