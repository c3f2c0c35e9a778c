"""Concurrency: 20 parallel writers through the HTTP API against a real server (nothing is lost,
every write is audited); slow or heavy computations never delay another user's reads by more than
1 s; compute endpoints are rate limited per account. On SQLite (WAL, BEGIN IMMEDIATE) and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select
from tests.web.conftest import add_patient, make_account

from osteotwin.records.models import AuditEvent, LabResult
from osteotwin.web.security import SESSION_COOKIE

WRITERS = 20
WRITES_EACH = 5


def test_twenty_parallel_writers_lose_nothing(live_server, database):
    clinician = make_account(database, "clinician")
    patient_id = add_patient(database, clinician, with_dxa=False)
    # 20 writers, each with its own HTTP connection, all writing to the same record at once
    url = f"{live_server.url}/api/v1/patients/{patient_id}/labs"

    def writer(index: int) -> list[int]:
        statuses = []
        with httpx.Client(cookies={SESSION_COOKIE: clinician.session_token}, timeout=120) as client:
            for j in range(WRITES_EACH):
                day = dt.date(2020, 1, 1) + dt.timedelta(days=index * WRITES_EACH + j)
                response = client.post(url, headers={"X-CSRF-Token": clinician.csrf_token},
                                       json={"date": day.isoformat(), "test": "calcium", "value": 2.0 + index / 100})
                statuses.append(response.status_code)
        return statuses

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(writer, range(WRITERS)))
    assert all(status == 201 for statuses in results for status in statuses), results
    with database.transaction() as session:
        rows = session.scalars(select(LabResult).where(LabResult.patient_id == patient_id)).all()
        audited = session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.patient_id == patient_id, AuditEvent.action == "update"))
    assert len(rows) == WRITERS * WRITES_EACH
    assert len({r.date for r in rows}) == WRITERS * WRITES_EACH  # each write landed exactly once
    assert audited == WRITERS * WRITES_EACH


SLOW_ENGINE_S = 3.0
HEAVY_USERS = 3
MAX_READ_DELAY_S = 1.0


def _timed_reads(url: str, cookies: dict[str, str], stop: threading.Event) -> list[float]:
    """GET ``url`` in a loop until ``stop``; the wall time of each (all must answer 200)."""
    times: list[float] = []
    with httpx.Client(cookies=cookies, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
    return times


def _idle_read_times(url: str, cookies: dict[str, str], seconds: float = 1.0) -> list[float]:
    """The same reads for ``seconds`` while nothing else runs: the baseline a delay is measured against."""
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    return _timed_reads(url, cookies, stop)


def test_slow_engine_work_does_not_hold_the_database(live_server, database, monkeypatch):
    """Three users' projections take 3 s each (the engine made slow on purpose); meanwhile another
    user's reads, each of which also writes its audit row, are never delayed by more than 1 s.
    (When the engine ran inside the request's transaction, SQLite's write lock was held for the
    whole computation and the other user's reads queued behind it.)"""
    from osteotwin.web import services

    real_projection = services.projection

    def slow_projection(patient, regimens=None, **options):  # noqa: ANN001, ANN003
        time.sleep(SLOW_ENGINE_S)
        return real_projection(patient, regimens, **options)

    heavy = [make_account(database, "clinician") for _ in range(HEAVY_USERS)]
    heavy_patients = [add_patient(database, account) for account in heavy]
    # compute the (identical) projection once first, so that during the test the only slow part is
    # the deliberate sleep, and CPU contention on a shared build machine is not mistaken for a delay
    with httpx.Client(cookies={SESSION_COOKIE: heavy[0].session_token}, timeout=120) as warm:
        assert warm.get(f"{live_server.url}/api/v1/patients/{heavy_patients[0]}/projection").status_code == 200
    monkeypatch.setattr(services, "projection", slow_projection)
    reader = make_account(database, "clinician")
    reader_patient = add_patient(database, reader)
    stop = threading.Event()

    def heavy_user(index: int) -> tuple[int, float]:
        started = time.perf_counter()
        with httpx.Client(cookies={SESSION_COOKIE: heavy[index].session_token}, timeout=120) as client:
            response = client.get(f"{live_server.url}/api/v1/patients/{heavy_patients[index]}/projection")
        return response.status_code, time.perf_counter() - started

    read_url = f"{live_server.url}/api/v1/patients/{reader_patient}"
    baseline = _idle_read_times(read_url, {SESSION_COOKIE: reader.session_token})
    with ThreadPoolExecutor(max_workers=HEAVY_USERS + 1) as pool:
        reads = pool.submit(_timed_reads, read_url, {SESSION_COOKIE: reader.session_token}, stop)
        heavies = [pool.submit(heavy_user, i) for i in range(HEAVY_USERS)]
        results = [future.result() for future in heavies]
        stop.set()
        read_times = reads.result()
    assert all(status == 200 and seconds >= SLOW_ENGINE_S for status, seconds in results), results
    assert len(read_times) >= 5
    # the delay is the read time beyond the same read's time on an otherwise idle server (on a shared
    # build machine that is itself not always fast); holding the lock would add the full 3 s
    delay = max(read_times) - max(baseline)
    assert delay < MAX_READ_DELAY_S, f"slowest read {max(read_times):.2f} s, idle {max(baseline):.2f} s"


def test_concurrent_heavy_simulations_do_not_delay_another_users_reads(live_server, database):
    """Three users post the largest scenarios the API accepts (240 months, 8 bone agents, 2,000
    doses), each a different one (no cache), as fast as they can; another user's reads stay under
    1 s and nothing fails (a heavy user over its budget gets 429, never 5xx)."""
    heavy = [make_account(database, "clinician") for _ in range(HEAVY_USERS)]
    reader = make_account(database, "clinician")
    reader_patient = add_patient(database, reader)
    drugs = [("denosumab", 60), ("zoledronic_acid", 4), ("alendronate", 70), ("risedronate", 35)] * 2
    stop = threading.Event()

    def heavy_user(index: int) -> list[int]:
        statuses = []
        with httpx.Client(cookies={SESSION_COOKIE: heavy[index].session_token}, timeout=120) as client:
            for request_index in range(12):
                scenario = {"patient": {"age_years": 60 + index + request_index / 20, "years_since_menopause": 10},
                            "months": 240, "endocrine_therapy": [{"drug": "letrozole", "start_month": 0}],
                            "bone_agents": [{"drug": d, "dose_mg": mg, "every_days": 30.5} for d, mg in drugs]}
                statuses.append(client.post(f"{live_server.url}/api/v1/simulate", json=scenario).status_code)
        return statuses

    read_url = f"{live_server.url}/api/v1/patients/{reader_patient}"
    baseline = _idle_read_times(read_url, {SESSION_COOKIE: reader.session_token})
    with ThreadPoolExecutor(max_workers=HEAVY_USERS + 1) as pool:
        reads = pool.submit(_timed_reads, read_url, {SESSION_COOKIE: reader.session_token}, stop)
        statuses = [s for future in [pool.submit(heavy_user, i) for i in range(HEAVY_USERS)] for s in future.result()]
        stop.set()
        read_times = reads.result()
    assert set(statuses) <= {200, 429} and statuses.count(200) >= HEAVY_USERS, statuses
    # as above: the delay beyond the same read on the idle server (the build machine may be shared)
    delay = max(read_times) - max(baseline)
    assert delay < MAX_READ_DELAY_S, f"slowest read {max(read_times):.2f} s, idle {max(baseline):.2f} s"


def test_compute_endpoints_are_rate_limited_per_account(app, client, database, clinician):
    from osteotwin.web.compute import COMPUTE_BURST, ComputeLimiter

    app.state.compute_limiter = ComputeLimiter(clock=lambda: 0.0)  # no refill during the test, however slow
    other = make_account(database, "clinician")
    scenario = {"patient": {"age_years": 64, "years_since_menopause": 12}, "months": 12}
    client.cookies.update(clinician.cookies())
    statuses = [client.post("/api/v1/simulate", json=scenario).status_code for _ in range(COMPUTE_BURST + 1)]
    assert statuses[:COMPUTE_BURST] == [200] * COMPUTE_BURST
    refused = client.post("/api/v1/simulate", json=scenario)
    assert statuses[-1] == 429 and refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1 and "per minute" in refused.json()["detail"]
    client.cookies.clear()
    client.cookies.update(other.cookies())  # another account has its own budget
    assert client.post("/api/v1/simulate", json=scenario).status_code == 200


def test_compute_limiter_refills_and_caps_concurrency():
    import anyio

    from osteotwin.web.compute import ComputeLimiter, TooManyComputations

    now = [0.0]
    limiter = ComputeLimiter(burst=2, per_minute=60, concurrent_per_user=1, clock=lambda: now[0])

    async def scenario() -> None:
        assert await limiter.run(1, lambda: 41 + 1) == 42
        assert await limiter.run(1, lambda: 1) == 1
        with pytest.raises(TooManyComputations) as raised:
            await limiter.run(1, lambda: 1)
        assert raised.value.retry_after_s == 1
        now[0] += 1.0  # one token back after a second
        assert await limiter.run(1, lambda: 2) == 2
        now[0] += 10.0
        release = anyio.Event()
        async with anyio.create_task_group() as group:
            async def long_one() -> None:
                await limiter.run(1, lambda: time.sleep(0.2))
                release.set()
            group.start_soon(long_one)
            await anyio.sleep(0.05)
            with pytest.raises(TooManyComputations, match="at the same time"):
                await limiter.run(1, lambda: 3)
            assert await limiter.run(2, lambda: 4) == 4  # another account is not affected
            await release.wait()

    anyio.run(scenario)
