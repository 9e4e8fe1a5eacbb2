#!/usr/bin/env python3
"""CPython asyncio implementations of the anchor workloads W1-W6.

Each run executes one workload inside a single asyncio.run() and prints exactly
one JSON line on stdout:

    {"system", "workload", "elapsed_s", "ops", "rate", "unit", "check", "ok"}

The process exits non-zero when the check value is wrong, so a runner can
reject the run instead of averaging it in.

Usage: python3 asyncio_workloads.py <w1|w2|w3|w4|w5|w6> [--debug]

With --debug (asyncio.run(..., debug=True)) the line also carries "findings": how many
warnings asyncio's debug mode logged. They are counted, not printed.
"""

import argparse
import asyncio
import json
import logging
import sys
from time import perf_counter

MASK64 = (1 << 64) - 1


class Result:
    """What a workload reports back from inside the running loop."""

    def __init__(self, elapsed_s, ops, unit, check, expected, extra_ok=True):
        self.elapsed_s = elapsed_s
        self.ops = ops
        self.unit = unit
        self.check = check
        self.expected = expected
        # Some workloads (W4) have a second condition besides the check value.
        self.extra_ok = extra_ok

    @property
    def ok(self):
        return self.check == self.expected and self.extra_ok


# --- W1 spawn_join ---------------------------------------------------------

async def w1():
    n = 100_000

    async def child(i):
        return i

    t0 = perf_counter()
    results = await asyncio.gather(*[asyncio.create_task(child(i)) for i in range(n)])
    check = sum(results)
    elapsed = perf_counter() - t0
    return Result(elapsed, n, "tasks/s", check, n * (n - 1) // 2)


# --- W2 yield_round_robin --------------------------------------------------

async def w2():
    t, k = 100, 10_000

    async def worker():
        count = 0
        for _ in range(k):
            # sleep(0) is asyncio's "go to the back of the ready queue".
            await asyncio.sleep(0)
            count += 1
        return count

    t0 = perf_counter()
    results = await asyncio.gather(*[asyncio.create_task(worker()) for _ in range(t)])
    check = sum(results)
    elapsed = perf_counter() - t0
    return Result(elapsed, t * k, "switches/s", check, t * k)


# --- W3 queue_pingpong -----------------------------------------------------

async def w3():
    n = 1_000_000
    q = asyncio.Queue(maxsize=10)

    async def producer():
        for i in range(n):
            await q.put(i)

    async def consumer():
        total = 0
        for _ in range(n):
            total += await q.get()
        return total

    t0 = perf_counter()
    prod = asyncio.create_task(producer())
    cons = asyncio.create_task(consumer())
    _, check = await asyncio.gather(prod, cons)
    elapsed = perf_counter() - t0
    return Result(elapsed, n, "items/s", check, n * (n - 1) // 2)


# --- W4 semaphore_fanout ---------------------------------------------------

async def w4():
    n = 100_000
    permits = 10
    sem = asyncio.Semaphore(permits)
    # Single-threaded loop: plain integers are enough to track occupancy.
    held = 0
    max_held = 0

    async def worker():
        nonlocal held, max_held
        async with sem:
            held += 1
            if held > max_held:
                max_held = held
            await asyncio.sleep(0)
            held -= 1
        return 1

    t0 = perf_counter()
    results = await asyncio.gather(*[asyncio.create_task(worker()) for _ in range(n)])
    check = sum(results)
    elapsed = perf_counter() - t0
    if max_held != permits:
        print(f"w4: max permits held = {max_held}, expected {permits}", file=sys.stderr)
    return Result(elapsed, n, "tasks/s", check, n, extra_ok=(max_held == permits))


# --- W5 timers -------------------------------------------------------------

def splitmix64(seed):
    """Yields the splitmix64 sequence; Python ints are masked to emulate uint64."""
    x = seed & MASK64
    while True:
        x = (x + 0x9E3779B97F4A7C15) & MASK64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


async def w5():
    n = 100_000
    gen = splitmix64(42)
    # Delays are drawn before the timed region so generation cost is excluded.
    delays = [next(gen) % 10_001 for _ in range(n)]

    async def sleeper(d):
        # The deadline is computed here, when the task first runs.
        await asyncio.sleep(d / 1e6)
        return d

    t0 = perf_counter()
    results = await asyncio.gather(*[asyncio.create_task(sleeper(d)) for d in delays])
    check = sum(results)
    elapsed = perf_counter() - t0
    return Result(elapsed, n, "timers/s", check, 499_348_982)


# --- W6 tcp_echo -----------------------------------------------------------

async def w6():
    clients, rounds, msg_len = 50, 2_000, 64
    timeout_s = 120.0

    async def handle(reader, writer):
        try:
            while True:
                data = await reader.read(65_536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()

    server = await asyncio.start_server(handle, host="127.0.0.1", port=0, backlog=128)
    port = server.sockets[0].getsockname()[1]

    async def client(c):
        # asyncio enables TCP_NODELAY on stream sockets by default.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        msg = bytes((7 * c + k) % 256 for k in range(msg_len))
        matched = 0
        for _ in range(rounds):
            writer.write(msg)
            await writer.drain()
            echo = await reader.readexactly(msg_len)
            if echo == msg:
                matched += 1
        writer.close()
        await writer.wait_closed()
        return matched

    t0 = perf_counter()
    tasks = [asyncio.create_task(client(c)) for c in range(clients)]
    try:
        results = await asyncio.wait_for(asyncio.gather(*tasks), timeout_s)
    except asyncio.TimeoutError:
        print(f"w6: clients not done after {timeout_s:.0f} s", file=sys.stderr)
        raise
    check = sum(results)
    elapsed = perf_counter() - t0

    server.close()
    await server.wait_closed()
    return Result(elapsed, clients * rounds, "round-trips/s", check, clients * rounds)


WORKLOADS = {"w1": w1, "w2": w2, "w3": w3, "w4": w4, "w5": w5, "w6": w6}


class FindingCounter(logging.Handler):
    """Counts what asyncio's debug mode reports (slow callbacks, ...) without printing it.

    The checks still run and still build their messages (that cost is part of debug mode);
    only the printing, which would flood stderr and time the terminal, is left out.
    """

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record):
        self.count += 1


def quiet_asyncio_logger():
    counter = FindingCounter()
    log = logging.getLogger("asyncio")
    log.addHandler(counter)
    log.propagate = False
    return counter


def main():
    parser = argparse.ArgumentParser(description="asyncio side of the W1-W6 comparison")
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("--debug", action="store_true",
                        help="run under asyncio debug mode (system 'asyncio-debug')")
    args = parser.parse_args()

    findings = quiet_asyncio_logger() if args.debug else None
    try:
        res = asyncio.run(WORKLOADS[args.workload](), debug=args.debug)
    except Exception as exc:  # a crashed run must not look like a result
        print(f"{args.workload}: failed: {exc!r}", file=sys.stderr)
        return 1

    line = {
        "system": "asyncio-debug" if args.debug else "asyncio",
        "workload": args.workload,
        "elapsed_s": res.elapsed_s,
        "ops": res.ops,
        "rate": res.ops / res.elapsed_s if res.elapsed_s > 0 else 0.0,
        "unit": res.unit,
        "check": res.check,
        "ok": res.ok,
    }
    if findings is not None:
        line["findings"] = findings.count  # asyncio log records of WARNING and above
    print(json.dumps(line), flush=True)
    if not res.ok:
        print(f"{args.workload}: check failed: got {res.check}, expected {res.expected}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
