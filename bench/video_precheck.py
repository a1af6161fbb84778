"""Pre-check accuracy and duration through a shaped link (run as root: it makes network
namespaces).

Two network namespaces joined by a veth pair, each end shaped with tc's tbf (and netem's
delay where the kernel has netem: --delay-ms), hold the server's pre-check peer (media/precheck.py) and
a client doing what the browser does (media/precheck_client.py). For each rate the measured
download and upload are set against the shaped rate; an unshaped run shows the ceiling of
aiortc's data channels, above which the portal reports "at least".

    sudo .venv/bin/python bench/video_precheck.py [--runs 3]

All traffic stays inside the two namespaces this script makes (198.18.0.0/30, the range
RFC 2544 sets aside for benchmarks); it removes them when it ends.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER_NS, CLIENT_NS = "vb_precheck_srv", "vb_precheck_cli"
SERVER_IP, CLIENT_IP = "198.18.0.1", "198.18.0.2"
PORT = 9050
RATES_MBIT = [None, 20, 5, 2]  # None: unshaped


def sh(*args: str, check: bool = True) -> None:
    subprocess.run(args, check=check, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_namespaces() -> None:
    remove_namespaces()
    sh("ip", "netns", "add", SERVER_NS)
    sh("ip", "netns", "add", CLIENT_NS)
    sh("ip", "link", "add", "vbp-s", "netns", SERVER_NS, "type", "veth", "peer", "name", "vbp-c",
       "netns", CLIENT_NS)
    for ns, dev, ip in ((SERVER_NS, "vbp-s", SERVER_IP), (CLIENT_NS, "vbp-c", CLIENT_IP)):
        sh("ip", "-n", ns, "addr", "add", f"{ip}/30", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def remove_namespaces() -> None:
    for ns in (SERVER_NS, CLIENT_NS):
        sh("ip", "netns", "del", ns, check=False)


def shape(rate_mbit: int | None, delay_ms: int) -> None:
    for ns, dev in ((SERVER_NS, "vbp-s"), (CLIENT_NS, "vbp-c")):
        sh("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", dev, "root", check=False)
        if rate_mbit is None:
            continue
        # tbf limits the rate (a queue of about 100 ms); netem beneath it adds the delay.
        burst = max(32, rate_mbit * 10)  # about 10 ms of the rate
        sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "handle", "1:",
           "tbf", "rate", f"{rate_mbit}mbit", "burst", f"{burst}kbit", "latency", "100ms")
        if delay_ms:
            sh("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "parent", "1:1",
               "handle", "10:", "netem", "delay", f"{delay_ms}ms")


async def serve(host: str, port: int) -> None:
    """Inside the server namespace: answer offers sent as one JSON line each."""
    from media.precheck import PrecheckService

    service = PrecheckService()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        offer = json.loads(await reader.readline())
        writer.write((json.dumps({"sdp": await service.answer(offer["sdp"])}) + "\n").encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, host, port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


async def measure(host: str, port: int, runs: int) -> None:
    """Inside the client namespace: the pre-check `runs` times, one JSON line each."""
    from media import precheck_client

    async def exchange(sdp: str) -> str:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write((json.dumps({"sdp": sdp}) + "\n").encode())
        await writer.drain()
        answer = json.loads(await reader.readline())["sdp"]
        writer.close()
        return answer

    for _ in range(runs):
        print(json.dumps(await precheck_client.measure(exchange)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay-ms", type=int, default=0,
                        help="one-way delay added with netem (needs the sch_netem module)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(SERVER_IP, PORT))
        return
    if args.measure:
        asyncio.run(measure(SERVER_IP, PORT, args.runs))
        return

    python = sys.executable
    make_namespaces()
    server = subprocess.Popen(["ip", "netns", "exec", SERVER_NS, python, __file__, "--serve"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert server.stdout.readline().strip() == "ready"
        delay = f" + netem {args.delay_ms} ms each way" if args.delay_ms else ""
        print(f"pre-check through a veth pair shaped with tc (tbf{delay}), "
              f"{args.runs} runs per rate, medians")
        print(f"{'shaped':>9} | {'download':>9} {'err':>6} | {'upload':>9} {'err':>6} | "
              f"{'rtt':>6} {'jitter':>6} {'loss':>5} | {'duration':>8}")
        for rate in RATES_MBIT:
            shape(rate, args.delay_ms)
            time.sleep(0.2)
            out = subprocess.run(["ip", "netns", "exec", CLIENT_NS, python, __file__,
                                  "--measure", "--runs", str(args.runs)],
                                 capture_output=True, text=True, cwd=ROOT, timeout=180)
            results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
            if not results:
                print(f"{rate or 'none':>9} | failed: {out.stderr[-300:]}")
                continue

            def med(key: str) -> float:
                return statistics.median(r[key] for r in results)

            down, up = med("download_kbps") / 1000, med("upload_kbps") / 1000
            err = (lambda got: f"{(got - rate) / rate * 100:+.0f}%") if rate else (lambda got: "")
            label = f"{rate} Mbit/s" if rate else "unshaped"
            print(f"{label:>9} | {down:>5.2f} Mb/s {err(down):>6} | {up:>5.2f} Mb/s {err(up):>6} | "
                  f"{med('rtt_ms'):>4.0f}ms {med('jitter_ms'):>4.0f}ms {med('loss_pct'):>4.1f}% | "
                  f"{med('duration_ms') / 1000:>6.2f} s")
    finally:
        server.terminate()
        server.wait(10)
        remove_namespaces()


if __name__ == "__main__":
    main()
