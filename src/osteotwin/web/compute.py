"""Heavy work (engine, planner, clinic rules) off the request path and out of database transactions.

Handlers read what they need in a short transaction, end it, then call :func:`run_compute`, which
runs the work in a bounded thread pool of its own (``COMPUTE_THREADS``): the event loop stays free,
and the threads that serve light requests (anyio's default pool) are never all taken by engine
work. Each user is rate limited (ours):

- a token bucket of ``COMPUTE_BURST`` requests, refilled at ``COMPUTE_PER_MINUTE`` per minute;
- at most ``COMPUTE_CONCURRENT_PER_USER`` computations of one account at the same time.

A refused request answers 429 with ``Retry-After``. The state is per process (one uvicorn process).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import anyio.to_thread

COMPUTE_THREADS = 4  # ours: the machine's cores are shared with the light requests
COMPUTE_BURST = 30  # ours
COMPUTE_PER_MINUTE = 60  # ours
COMPUTE_CONCURRENT_PER_USER = 2  # ours

Result = TypeVar("Result")


class TooManyComputations(Exception):
    """The account's compute budget is used up; ``retry_after_s`` says when to try again."""

    def __init__(self, retry_after_s: int, reason: str) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s
        self.reason = reason


@dataclass
class _Bucket:
    tokens: float
    updated_s: float
    running: int = 0


@dataclass
class ComputeLimiter:
    """Per-user token bucket and concurrency cap plus a shared thread limiter (event-loop state only)."""

    burst: int = COMPUTE_BURST
    per_minute: float = COMPUTE_PER_MINUTE
    concurrent_per_user: int = COMPUTE_CONCURRENT_PER_USER
    threads: int = COMPUTE_THREADS
    clock: Callable[[], float] = time.monotonic
    buckets: dict[int, _Bucket] = field(default_factory=dict)
    _thread_limiter: anyio.CapacityLimiter | None = None

    def _acquire(self, user_id: int) -> _Bucket:
        now = self.clock()
        bucket = self.buckets.setdefault(user_id, _Bucket(tokens=float(self.burst), updated_s=now))
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated_s) * self.per_minute / 60)
        bucket.updated_s = now
        if bucket.running >= self.concurrent_per_user:
            raise TooManyComputations(1, f"at most {self.concurrent_per_user} computations of one account "
                                         "at the same time")
        if bucket.tokens < 1:
            wait_s = math.ceil((1 - bucket.tokens) * 60 / self.per_minute)
            raise TooManyComputations(wait_s, f"at most {self.per_minute:g} computations per minute per account "
                                              f"(bursts of {self.burst})")
        bucket.tokens -= 1
        bucket.running += 1
        if len(self.buckets) > 10_000:  # forget idle, full buckets so the table stays small
            for key in [k for k, b in self.buckets.items() if b.running == 0 and b.tokens >= self.burst - 1]:
                del self.buckets[key]
        return bucket

    async def run(self, user_id: int, work: Callable[..., Result], *args: Any) -> Result:
        bucket = self._acquire(user_id)
        try:
            if self._thread_limiter is None:
                self._thread_limiter = anyio.CapacityLimiter(self.threads)
            return await anyio.to_thread.run_sync(functools.partial(work, *args), limiter=self._thread_limiter)
        finally:
            bucket.running -= 1
            self.buckets.setdefault(user_id, bucket)


async def run_compute(request: Any, user_id: int, work: Callable[..., Result], *args: Any) -> Result:
    """Run ``work(*args)`` in the compute pool under ``user_id``'s budget (the app's limiter)."""
    limiter: ComputeLimiter = request.app.state.compute_limiter
    return await limiter.run(user_id, work, *args)


async def in_thread(work: Callable[..., Result], *args: Any) -> Result:
    """Run blocking database work in the default thread pool (never on the event loop)."""
    return await anyio.to_thread.run_sync(functools.partial(work, *args))


class Background:
    """Work computed off every page's path, once per key: a single worker thread (ours: one core of work at a
    time, so page requests keep the other), deduplicated by key (a record version), results kept by the caller's
    cache. Pages ask :meth:`pending` and show what is ready; the work never touches the database (callers pass
    plain data read in their own short transaction)."""

    def __init__(self, workers: int = 1) -> None:
        import concurrent.futures
        import threading

        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="osteotwin-bg")
        self.lock = threading.Lock()
        self.futures: dict[str, concurrent.futures.Future] = {}

    def submit(self, key: str, work: Callable[..., Any], *args: Any, delay_s: float = 0.0) -> None:
        """Start ``work(*args)`` unless the same key is already queued or running; ``delay_s`` lets the page that
        asked for it be answered first (a job started at once took the CPU from that page on a 2-core machine)."""
        with self.lock:
            future = self.futures.get(key)
            if future is not None and not future.done():
                return
            self.futures[key] = self.executor.submit(_after, delay_s, work, *args)
            for done in [k for k, f in self.futures.items() if f.done()]:
                del self.futures[done]

    def pending(self, key: str) -> bool:
        with self.lock:
            future = self.futures.get(key)
            return future is not None and not future.done()

    def wait(self, timeout_s: float = 60.0, keys: list[str] | None = None) -> bool:
        """Block until the jobs of ``keys`` (default: everything submitted so far) have finished, at most
        ``timeout_s``; False when some are still running then. A failed job raises here."""
        import concurrent.futures

        with self.lock:
            futures = [f for k, f in self.futures.items() if keys is None or k in keys]
        try:
            for future in concurrent.futures.as_completed(futures, timeout=timeout_s):
                future.result()
        except concurrent.futures.TimeoutError:
            return False
        return True


def _after(delay_s: float, work: Callable[..., Any], *args: Any) -> Any:
    if delay_s > 0:
        time.sleep(delay_s)
    return work(*args)


BACKGROUND = Background()
# Background work asked for by a page starts this long after (ours: a page answers in well under 0.2 s; the
# page that waits for it reloads after 1.5 s).
PAGE_FIRST_DELAY_S = 0.2
