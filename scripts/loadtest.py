#!/usr/bin/env python3
"""Bounded loopback load test of the web app (not part of the test suite).

Creates a throw-away database (SQLite by default, or ``--database-url``) with the demo clinic and
one account per virtual user: half are clinicians, each with her own copies of the three demo
patients, half are patients, each with her own copy of the demo patient's record. It starts
``osteotwin serve`` on 127.0.0.1 only, warms it up (one pass, not counted: the first view of a
projection or plan runs the engine and the planner, later views reuse the result), then runs the
users concurrently for ``--rounds`` rounds (each light user pauses ``--think-ms``, 0.5-1.5 times, before
every click, as a person reading the page does; ``--think-ms 0`` is a stress run), with ``--heavy-users`` more users mixed in who post the
largest scenarios the API accepts (240 months, 8 bone agents, about 2,000 doses; each one different,
so never cached) back to back for as long as the light users run. Everything stops after
``--max-seconds``.

    .venv/bin/python scripts/loadtest.py [--users 50] [--rounds 6] [--heavy-users 1] [--port 8799]
                                         [--database-url URL] [--max-seconds 300]

Light requests: clinicians load the patient list, overview, assessment, projection, plan, the record
through the API and a search; patients load today's food log, a food search, the exercise page and
the bone page, and post one meal each round. Pass criteria (issue 17): no failed light request, no
5xx or connection error anywhere, light p95 at most 500 ms (a heavy user refused with 429 by its
per-account compute limit is counted as throttled, not failed). Exit code 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # loopback only
MAX_LIGHT_P95_MS = 500.0
HEAVY_DRUGS = [("denosumab", 60), ("zoledronic_acid", 4), ("alendronate", 70), ("risedronate", 35)] * 2


@dataclass
class Tally:
    light_ms: list[float] = field(default_factory=list)
    by_page: dict[str, list[float]] = field(default_factory=dict)
    heavy_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    heavy_ok: int = 0
    heavy_throttled: int = 0


def _clone_patient(session, source, clinician_id: int, account_user_id: int | None):  # noqa: ANN001
    """A copy of a stored patient (and every row of her record) for another account."""
    from sqlalchemy import inspect

    from osteotwin.records.models import Patient

    def columns(row, skip: set[str]) -> dict:  # noqa: ANN001
        return {c.key: getattr(row, c.key) for c in inspect(row).mapper.column_attrs if c.key not in skip}

    patient = Patient(**columns(source, {"id", "clinician_id", "account_user_id", "created_at", "updated_at"}),
                      clinician_id=clinician_id, account_user_id=account_user_id)
    session.add(patient)
    session.flush()
    for rows in (source.dxa_results, source.labs, source.medications, source.food_log, source.exercise_log):
        for row in rows:
            session.add(type(row)(**columns(row, {"id", "patient_id"}), patient_id=patient.id))
    return patient


def seed(database_url: str, users: int, heavy_users: int) -> tuple[list[tuple[str, str, str, list[int]]],
                                                                   list[tuple[str, str]]]:
    """One account and session per virtual user: (role, cookie, csrf, own patient ids); heavy users' sessions."""
    from sqlalchemy import select

    from osteotwin.records.accounts import create_user, start_session
    from osteotwin.records.database import Database
    from osteotwin.records.demo import DEMO_CLINICIAN_EMAIL, DEMO_PATIENT_EMAIL, ensure_demo_clinic
    from osteotwin.records.models import Patient, User

    database = Database(database_url)
    light, heavy = [], []
    with database.transaction() as session:
        ensure_demo_clinic(session)
        demo = session.scalar(select(User).where(User.email == DEMO_CLINICIAN_EMAIL))
        demo_patient_user = session.scalar(select(User).where(User.email == DEMO_PATIENT_EMAIL))
        demo_patients = list(session.scalars(select(Patient).where(Patient.clinician_id == demo.id)))
        own_record = next(p for p in demo_patients if p.account_user_id == demo_patient_user.id)
        for index in range(users):
            role = "clinician" if index % 2 == 0 else "patient"
            user = create_user(session, email=f"load-{index}@example.invalid", display_name=f"Load user {index}",
                               role=role)
            if role == "clinician":
                ids = [_clone_patient(session, p, user.id, None).id for p in demo_patients]
            else:
                ids = [_clone_patient(session, own_record, demo.id, user.id).id]
            token, csrf = start_session(session, user)
            light.append((role, token, csrf, ids))
        for index in range(heavy_users):
            user = create_user(session, email=f"heavy-{index}@example.invalid", display_name="Heavy user",
                               role="clinician")
            heavy.append(start_session(session, user))
    database.dispose()
    return light, heavy


def pages_for(role: str, patient_ids: list[int], round_index: int) -> list[str]:
    if role == "clinician":
        pid = patient_ids[round_index % len(patient_ids)]
        return ["/patients", f"/patients/{pid}", f"/patients/{pid}/assessment", f"/patients/{pid}/projection",
                f"/patients/{pid}/plan", f"/api/v1/patients/{pid}", "/patients?q=demo"]
    return ["/me", "/me?q=milk", "/me/exercise", "/me/bone"]


async def light_user(base: str, role: str, token: str, csrf: str, patient_ids: list[int], rounds: int,
                     deadline: float, tally: Tally, think_ms: float, seed: int) -> None:
    pacing = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, cookies={"osteotwin_session": token}, timeout=120) as client:
        for round_index in range(rounds):
            for path in pages_for(role, patient_ids, round_index):
                if time.monotonic() > deadline:
                    return
                if think_ms:  # a person reads the page before the next click (0.5 to 1.5 x think_ms)
                    await asyncio.sleep(think_ms * pacing.uniform(0.5, 1.5) / 1000)
                started = time.perf_counter()
                try:
                    status = (await client.get(path)).status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                tally.light_ms.append((time.perf_counter() - started) * 1000)
                page = re.sub(r"/\d+", "/{id}", path.split("?")[0])
                tally.by_page.setdefault(page, []).append(tally.light_ms[-1])
                if status != 200:
                    tally.failures.append(f"GET {path}: {status}")
            if role == "patient":
                started = time.perf_counter()
                try:
                    response = await client.post("/me/food", data={"csrf_token": csrf, "food_id": "01079",
                                                                    "grams": "244"}, follow_redirects=False)
                    status = response.status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                tally.light_ms.append((time.perf_counter() - started) * 1000)
                if status != 303:
                    tally.failures.append(f"POST /me/food: {status}")


async def heavy_user(base: str, token: str, index: int, done: asyncio.Event, deadline: float, tally: Tally) -> None:
    async with httpx.AsyncClient(base_url=base, cookies={"osteotwin_session": token}, timeout=120) as client:
        request_index = 0
        while not done.is_set() and time.monotonic() < deadline:
            request_index += 1
            scenario = {"patient": {"age_years": 55 + (request_index % 400) / 10, "years_since_menopause": 5 + index},
                        "months": 240, "endocrine_therapy": [{"drug": "letrozole", "start_month": 0}],
                        "bone_agents": [{"drug": d, "dose_mg": mg, "every_days": 30.5} for d, mg in HEAVY_DRUGS]}
            started = time.perf_counter()
            try:
                status = (await client.post("/api/v1/simulate", json=scenario)).status_code
            except httpx.HTTPError as error:
                status = type(error).__name__
            tally.heavy_ms.append((time.perf_counter() - started) * 1000)
            if status == 200:
                tally.heavy_ok += 1
            elif status == 429:
                tally.heavy_throttled += 1
                await asyncio.sleep(1.0)  # Retry-After is at least 1 s
            else:
                tally.failures.append(f"POST /api/v1/simulate (heavy): {status}")


async def run_load(base: str, light, heavy, rounds: int, max_seconds: float,  # noqa: ANN001
                   think_ms: float = 0.0) -> tuple[Tally, float]:
    tally = Tally()
    done = asyncio.Event()
    deadline = time.monotonic() + max_seconds
    started = time.perf_counter()
    heavy_tasks = [asyncio.create_task(heavy_user(base, token, i, done, deadline, tally))
                   for i, (token, _csrf) in enumerate(heavy)]
    await asyncio.gather(*(light_user(base, role, token, csrf, ids, rounds, deadline, tally, think_ms, seed)
                           for seed, (role, token, csrf, ids) in enumerate(light)))
    done.set()
    await asyncio.gather(*heavy_tasks)
    return tally, time.perf_counter() - started


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[int(fraction * (len(ordered) - 1))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--heavy-users", type=int, default=1)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop every user after this (default 300)")
    parser.add_argument("--think-ms", type=float, default=1000.0,
                        help="each light user's pause before a click, 0.5-1.5 x this (default 1000; 0: none)")
    parser.add_argument("--verbose", action="store_true", help="also print the times per page")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temp dir")
    args = parser.parse_args()
    if not (1 <= args.users <= 200 and 1 <= args.rounds <= 50 and 0 <= args.heavy_users <= 10
            and 10 <= args.max_seconds <= 1800 and 1024 <= args.port <= 65535 and 0 <= args.think_ms <= 10_000):
        print("error: --users 1-200, --rounds 1-50, --heavy-users 0-10, --max-seconds 10-1800, --port 1024-65535, "
              "--think-ms 0-10000",
              file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="osteotwin-load-")
    url = args.database_url or f"sqlite:///{tmp}/osteotwin.sqlite3"
    light, heavy = seed(url, args.users, args.heavy_users)
    env = {**os.environ, "OSTEOTWIN_DATABASE_URL": url}
    server = subprocess.Popen([sys.executable, "-m", "osteotwin.cli", "serve", "--host", HOST,
                               "--port", str(args.port), "--no-demo"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://{HOST}:{args.port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("error: server did not start", file=sys.stderr)
                return 1
            time.sleep(0.3)
        warm, _ = asyncio.run(run_load(base, [light[0], light[-1]], [], 3, args.max_seconds))
        tally, seconds = asyncio.run(run_load(base, light, heavy, args.rounds, args.max_seconds, args.think_ms))
    finally:
        server.terminate()
        try:
            _out, errors = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _out, errors = server.communicate(timeout=15)
    light_ms = tally.light_ms
    requests = len(light_ms) + len(tally.heavy_ms)
    database = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"warm-up (not counted): {len(warm.light_ms)} requests by 2 users, max {max(warm.light_ms):.0f} ms, "
          f"{len(warm.failures)} failed")
    print(f"database={database} users={args.users} heavy_users={args.heavy_users} rounds={args.rounds} "
          f"think={args.think_ms:.0f}ms "
          f"requests={requests} failed={len(tally.failures)} wall={seconds:.1f}s "
          f"throughput={requests / seconds:.0f} req/s")
    print(f"light requests: {len(light_ms)}, median {statistics.median(light_ms):.0f} ms, "
          f"p95 {_percentile(light_ms, 0.95):.0f} ms, max {max(light_ms):.0f} ms")
    if args.verbose:
        for page, values in sorted(tally.by_page.items()):
            print(f"  {page:>20}: n={len(values)} median {statistics.median(values):.0f} ms, "
                  f"p95 {_percentile(values, 0.95):.0f} ms, max {max(values):.0f} ms")
    if tally.heavy_ms:
        print(f"heavy requests: {len(tally.heavy_ms)} ({tally.heavy_ok} computed, {tally.heavy_throttled} "
              f"throttled with 429), median {statistics.median(tally.heavy_ms):.0f} ms, "
              f"max {max(tally.heavy_ms):.0f} ms")
    for failure in tally.failures[:10]:
        print("failed:", failure)
    error_lines = [line for line in (errors or b"").decode(errors="replace").splitlines() if line.strip()]
    print(f"server log lines: {len(error_lines)}")
    for line in error_lines[:5]:
        print("  ", line[:200])
    passed = not tally.failures and _percentile(light_ms, 0.95) <= MAX_LIGHT_P95_MS
    print("PASS" if passed else "FAIL",
          f"(criteria: no failed request, light p95 <= {MAX_LIGHT_P95_MS:.0f} ms)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
