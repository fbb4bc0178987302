"""The service, unchanged, with probes for where its tail latency comes from (profiling only).

Wraps `app.main:app` without touching `app/`: times every request inside the server (an outer
ASGI wrapper), every garbage collection (`gc.callbacks`), every audit sealing pass and outbox
delivery pass (their module functions, wrapped before the lifespan starts them), connection
pool waits (how long each checkout from the connection pool takes), and the
event loop's lag (a task that asks to wake every 5 ms and records how late it wakes). At
shutdown it writes all of it as JSON to `$BENCH_PROBE_OUT`.
"""

import asyncio
import gc
import json
import os
import time

from sqlalchemy.pool import Pool

import app.audit.sealer as sealer
import app.outbox.dispatcher as dispatcher
from app.main import app as service

TICK = 0.005
probes: dict[str, list] = {"requests": [], "gc": [], "sealer": [], "outbox": [], "lag": [],
                           "pool_wait": []}
_gc_started: dict[int, float] = {}


def _on_gc(phase: str, info: dict) -> None:
    if phase == "start":
        _gc_started[info["generation"]] = time.perf_counter()
    elif (began := _gc_started.pop(info["generation"], None)) is not None:
        probes["gc"].append((began, time.perf_counter() - began, info["generation"]))


def _timed(name: str, function):
    async def wrapper(*args, **kwargs):
        began, result = time.perf_counter(), None
        try:
            result = await function(*args, **kwargs)
            return result
        finally:
            done = result if isinstance(result, int) else getattr(result, "attempted", None)
            probes[name].append((began, time.perf_counter() - began, done))
    return wrapper


_original_connect = Pool.connect


def _connect(self):
    began = time.perf_counter()
    connection = _original_connect(self)
    probes["pool_wait"].append(time.perf_counter() - began)
    return connection


async def _watch_loop() -> None:
    while True:
        began = time.perf_counter()
        await asyncio.sleep(TICK)
        late = time.perf_counter() - began - TICK
        if late > 0.002:
            probes["lag"].append((began, late))


gc.callbacks.append(_on_gc)
sealer.seal_pending = _timed("sealer", sealer.seal_pending)
dispatcher.deliver_pending = _timed("outbox", dispatcher.deliver_pending)
Pool.connect = _connect


async def app(scope, receive, send):
    """The service, each HTTP request timed; the loop watcher and the report on lifespan."""
    if scope["type"] == "lifespan":
        watcher = asyncio.create_task(_watch_loop())
        try:
            await service(scope, receive, send)
        finally:
            watcher.cancel()
            with open(os.environ["BENCH_PROBE_OUT"], "w") as out:
                json.dump(probes, out)
        return
    began = time.perf_counter()
    try:
        await service(scope, receive, send)
    finally:
        probes["requests"].append((began, time.perf_counter() - began))
