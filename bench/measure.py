"""Timing pages, services and exports, in process.

Pages are requested through Django's test client, so the time is the server's own: URL
resolution, middleware, view, queries and template rendering, without any network. Services
and exports run inside a transaction that is rolled back afterwards, so the dataset can be
measured again and again. Peak memory comes from a second, separate run under tracemalloc,
because tracemalloc slows Python code down and would spoil the timing.
"""

import gc
import io
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import Workbook, load_workbook


@dataclass
class PageResult:
    key: str
    label: str
    url: str
    actor: str
    status: int
    queries: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    requests: int
    kilobytes: float
    samples: list = field(default_factory=list, repr=False)


def percentile(values, pct):
    """The ``pct`` percentile by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def page_measure(*, key, label, user, url, requests=60, warmup=3):
    client = Client()
    client.force_login(user)
    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code} for {user.username}")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    # Counted now: the next request clears the connection's query log.
    queries = len(captured)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    return PageResult(
        key=key,
        label=label,
        url=url,
        actor=user.username,
        status=response.status_code,
        queries=queries,
        p50_ms=round(statistics.median(samples), 1),
        p95_ms=round(percentile(samples, 95), 1),
        max_ms=round(max(samples), 1),
        requests=requests,
        kilobytes=round(len(response.content) / 1024, 1),
        samples=samples,
    )


@dataclass
class JobResult:
    key: str
    label: str
    seconds: float
    peak_mb: float
    queries: int
    detail: dict = field(default_factory=dict)


def _rolled_back(fn):
    with transaction.atomic():
        try:
            return fn()
        finally:
            transaction.set_rollback(True)


class QueryCounter:
    """Counts the statements sent to the database (the query log keeps only the last 9,000)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def job_measure(*, key, label, fn, repeat=1, detail=None):
    """Time ``fn`` (best of ``repeat`` runs), then run it once more under tracemalloc for the peak.

    Each run is inside its own rolled-back transaction; ``fn`` may return a dict of details.
    """
    times, queries, out = [], 0, {}
    for _ in range(repeat):
        gc.collect()
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            started = time.perf_counter()
            out = _rolled_back(fn) or {}
            times.append(time.perf_counter() - started)
        queries = counter.count
    gc.collect()
    tracemalloc.start()
    try:
        _rolled_back(fn)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return JobResult(
        key=key,
        label=label,
        seconds=round(min(times), 2),
        peak_mb=round(peak / 2**20, 1),
        queries=queries,
        detail={**(detail or {}), **out},
    )


def xlsx_grid(content):
    """Every sheet's cell values as plain rows: what a bare library write would have to write."""
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return [(ws.title, [list(row) for row in ws.iter_rows(values_only=True)]) for ws in workbook.worksheets]
    finally:
        workbook.close()


def bare_write(grid):
    """openpyxl in write-only mode, no styles, no merges: the floor for writing this grid."""
    workbook = Workbook(write_only=True)
    for title, rows in grid:
        ws = workbook.create_sheet(title)
        for row in rows:
            ws.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def bare_measure(grid, repeat=1):
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        bare_write(grid)
        times.append(time.perf_counter() - started)
    gc.collect()
    tracemalloc.start()
    try:
        bare_write(grid)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cells = sum(len(row) for _title, rows in grid for row in rows)
    return {"seconds": round(min(times), 2), "peak_mb": round(peak / 2**20, 1), "cells": cells}


def _fixed_workload():
    """Pure-Python CPU work of a fixed size: hashing, integer arithmetic and a sort (~0.5 s idle)."""
    import hashlib
    import random

    digest = b"zhenggai"
    for _ in range(60_000):
        digest = hashlib.sha256(digest).digest()
    total = 0
    for i in range(1_500_000):
        total += (i * i) % 7
    values = random.Random(7).sample(range(10**7), 200_000)
    values.sort()
    return total + values[0] + digest[0]


def quiet_check(repeat=3):
    """The quiet-machine check: the same fixed CPU workload timed beside every run.

    ``seconds`` (the best of ``repeat``) changes only with the machine and how busy it is, never
    with our code: a run whose check took much longer than usual was measured on a loaded
    machine. ``cpu_share`` is the process's CPU time over the wall time of the workload (1.0 when
    it had a core to itself; 0.5 when it had half of one), and the load average is the kernel's.
    """
    import os

    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        _fixed_workload()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    best = min(range(repeat), key=walls.__getitem__)
    return {
        "seconds": round(walls[best], 3),
        "worst_seconds": round(max(walls), 3),
        "cpu_share": round(sum(cpus) / sum(walls), 2),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
