"""The one retry policy (milvus_migrate/milvus/retry.py), run on a fake clock: no server, no real waiting."""

from __future__ import annotations

import asyncio
import random

import grpc
import pytest
from pymilvus.exceptions import MilvusException

from milvus_migrate.milvus import retry


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Unavailable(grpc.RpcError):
    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE


def failing(errors: list[BaseException], result: str = "ok"):
    """An async callable that raises each of `errors` in turn, then returns `result`; counts its calls."""
    calls = []

    async def fn() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def run(fn, fake: FakeTime, rand=lambda: 1.0, **kwargs):
    return asyncio.run(retry.call(fn, sleep=fake.sleep, clock=fake.clock, rand=rand, **kwargs))


def test_unreachable_is_retried_with_exponential_capped_back_off():
    fake = FakeTime()
    fn = failing([Unavailable()] * 6)
    assert run(fn, fake, budget=60) == "ok"
    assert len(fn.calls) == 7
    # rand() = 1.0 gives the top of each jitter range: 0.2, 0.4, 0.8, 1.6, then capped at 2.0.
    assert fake.sleeps == pytest.approx([0.2, 0.4, 0.8, 1.6, 2.0, 2.0])


def test_jitter_draws_each_delay_from_the_upper_half_of_its_range():
    fake = FakeTime()
    run(failing([Unavailable()] * 5), fake, rand=lambda: 0.0, budget=60)
    assert fake.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])


def test_racing_deployments_do_not_retry_in_lockstep():
    one, two = FakeTime(), FakeTime()
    run(failing([Unavailable()] * 5), one, rand=random.Random(1).random, budget=60)
    run(failing([Unavailable()] * 5), two, rand=random.Random(2).random, budget=60)
    assert one.sleeps != two.sleeps
    for a, b in zip(one.sleeps, two.sleeps):
        assert abs(a - b) <= max(a, b) / 2  # same range, different draw


def test_a_refusal_is_not_retried():
    fake = FakeTime()
    refusal = MilvusException(code=1100, message="invalid parameter")
    fn = failing([refusal])
    with pytest.raises(MilvusException) as raised:
        run(fn, fake, budget=60)
    assert raised.value is refusal
    assert (len(fn.calls), fake.sleeps) == (1, [])


def test_a_refusal_the_server_marks_retriable_is_retried():
    fake = FakeTime()
    fn = failing([MilvusException(code=2, message="busy", retriable=True)])
    assert run(fn, fake, budget=60) == "ok"
    assert len(fn.calls) == 2


def test_the_budget_bounds_the_retries_and_the_last_error_is_raised():
    fake = FakeTime()
    errors = [Unavailable() for _ in range(100)]
    fn = failing(errors)
    with pytest.raises(Unavailable) as raised:
        run(fn, fake, budget=5)
    # 0.2 + 0.4 + 0.8 + 1.6 = 3.0 s slept; the next 2.0 s sleep would end past the 5 s budget.
    assert fake.sleeps == pytest.approx([0.2, 0.4, 0.8, 1.6])
    assert raised.value is errors[len(fn.calls) - 1]
    assert fake.now - 1000.0 < 5


def test_before_retry_runs_before_each_new_attempt_and_can_end_the_retries():
    fake = FakeTime()
    seen: list[str] = []

    async def before(exc: BaseException) -> None:
        seen.append(type(exc).__name__)
        if len(seen) == 2:
            raise RuntimeError("lease lost")

    fn = failing([Unavailable()] * 5)
    with pytest.raises(RuntimeError, match="lease lost"):
        run(fn, fake, budget=60, before_retry=before)
    assert seen == ["Unavailable", "Unavailable"]
    assert len(fn.calls) == 2  # no third attempt after before_retry refused


def test_a_custom_condition_chooses_what_is_retried():
    fake = FakeTime()
    not_loaded = MilvusException(code=101, message="failed to get channels, collection not loaded")
    assert run(failing([not_loaded] * 3), fake, budget=60, retry_if=retry.is_settling) == "ok"
    with pytest.raises(MilvusException):
        run(failing([not_loaded]), FakeTime(), budget=60)  # the default condition does not retry it


def test_what_counts_as_transient():
    assert retry.is_transient(Unavailable())
    assert retry.is_transient(MilvusException(code=2, message="x", retriable=True))
    assert not retry.is_transient(MilvusException(code=1100, message="invalid parameter"))
    assert not retry.is_transient(ValueError("bug"))
    assert retry.is_settling(MilvusException(code=101, message="collection not loaded[collection=1]"))
    assert not retry.is_settling(MilvusException(code=100, message="collection not found"))
