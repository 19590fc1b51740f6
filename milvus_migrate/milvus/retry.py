"""The one retry policy for calls to Milvus: exponential back-off with jitter, bounded by a deadline.

Used for connecting (connection.py), for every operation (executor.py) and for reading the history
(history.py). pymilvus retries rate limits itself, but gives up on an unreachable server after one
reconnect attempt, so a server restart or a network blip would otherwise end the command.

Jitter matters because deployments race: several `up` processes that lost the server at the same
moment would otherwise retry in lockstep. Each delay is drawn from [base/2, base] ("equal jitter",
AWS Architecture Blog, "Exponential Backoff And Jitter"): spread out, yet never a hot loop.
A small module rather than a library (tenacity, backoff): the whole policy is the loop below, and its
inputs (clock, sleep, random) are injectable so the unit tests run it without a server or real time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Delays before retry n (0-based): base = min(cap, first * multiplier**n), drawn from [base/2, base]."""

    first: float = 0.2
    cap: float = 2.0
    multiplier: float = 2.0

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        base = min(self.cap, self.first * self.multiplier**attempt)
        return base / 2 + rand() * base / 2


BACKOFF = Backoff()


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the server could not be reached (worth retrying), not that it refused the call."""
    from milvus_migrate.milvus.connection import import_pymilvus

    import_pymilvus()  # with MILVUS_URI hidden: this may be the first import of pymilvus (an error before connecting)
    import grpc
    from pymilvus.client.types import Status

    if isinstance(exc, grpc.RpcError):
        return exc.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
    return getattr(exc, "code", None) == Status.CONNECT_FAILED


def is_transient(exc: BaseException) -> bool:
    """Unreachable, or a refusal the server marks retriable (MilvusException.retriable: "Whether blindly
    retrying the same request may succeed"). Any other refusal is final."""
    return bool(getattr(exc, "retriable", False)) or is_unreachable(exc)


def is_settling(exc: BaseException) -> bool:
    """Transient, or Milvus 2.3 answering "collection not loaded" about a collection whose load is settling.

    A load outlives the client that started it: after an `up` was killed during load_collection, the
    server reports the collection Loading, and describe_replica (and a query) fail with "failed to get
    channels, collection not loaded" until the load completes (test_crash.py, server-during-load).
    """
    return is_transient(exc) or "not loaded" in str(getattr(exc, "message", ""))


async def call(
    fn: Callable[[], Awaitable[T]],
    *,
    budget: float,
    retry_if: Callable[[BaseException], bool] = is_transient,
    before_retry: Callable[[BaseException], Awaitable[None]] | None = None,
    backoff: Backoff = BACKOFF,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rand: Callable[[], float] = random.random,
) -> T:
    """await fn(), retried while `retry_if(error)` and the next attempt would start within `budget` s.

    The last error is raised as it is once the budget is spent or the error is final. `before_retry`
    runs after each back-off, before the next attempt; whatever it raises ends the retries.
    """
    deadline = clock() + budget
    attempt = 0
    while True:
        try:
            return await fn()
        except Exception as exc:
            delay = backoff.delay(attempt, rand)
            if not retry_if(exc) or clock() + delay >= deadline:
                raise
            await sleep(delay)
            if before_retry is not None:
                await before_retry(exc)
        attempt += 1
