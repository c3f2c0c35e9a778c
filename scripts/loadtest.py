#!/usr/bin/env python3
"""Bounded loopback load test of the web app (not part of the test suite).

Creates a throw-away SQLite database with the demo clinic, opens one server-side session per
virtual user (half on the demo clinician, half on the demo patient), starts ``osteotwin serve`` on
127.0.0.1, warms it up (one pass over the pages, not counted), then runs USERS concurrent users for
ROUNDS rounds over the clinician and patient pages (with a food-log write each round for patients)
and prints the median, 95th percentile and maximum page time and the number of failed requests.

    .venv/bin/python scripts/loadtest.py [--users 50] [--rounds 8] [--port 8799] [--database-url URL]

Pass criteria of issue 7: median < 200 ms and no failed request (exit code 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def seed(database_url: str, users: int) -> tuple[list[tuple[str, str, str]], list[int], int]:
    """Demo clinic plus one session per user; returns (role, cookie, csrf) per user, patient ids, own id."""
    from sqlalchemy import select

    from osteotwin.records.accounts import start_session
    from osteotwin.records.database import Database
    from osteotwin.records.demo import DEMO_CLINICIAN_EMAIL, DEMO_PATIENT_EMAIL, ensure_demo_clinic
    from osteotwin.records.models import Patient, User

    database = Database(database_url)
    sessions = []
    with database.transaction() as session:
        ensure_demo_clinic(session)
        clinician = session.scalar(select(User).where(User.email == DEMO_CLINICIAN_EMAIL))
        patient_user = session.scalar(select(User).where(User.email == DEMO_PATIENT_EMAIL))
        patient_ids = list(session.scalars(select(Patient.id).where(Patient.clinician_id == clinician.id)))
        own_id = session.scalar(select(Patient.id).where(Patient.account_user_id == patient_user.id))
        for index in range(users):
            user = clinician if index % 2 == 0 else patient_user
            token, csrf = start_session(session, user)
            sessions.append((user.role, token, csrf))
    database.dispose()
    return sessions, patient_ids, own_id


def pages_for(role: str, patient_ids: list[int], round_index: int) -> list[str]:
    if role == "clinician":
        pid = patient_ids[round_index % len(patient_ids)]
        return ["/patients", f"/patients/{pid}", f"/patients/{pid}/assessment", f"/patients/{pid}/projection",
                f"/patients/{pid}/plan", f"/api/v1/patients/{pid}", "/patients?q=demo"]
    return ["/me", "/me?q=milk", "/me/exercise", "/me/bone"]


async def user_loop(base: str, role: str, token: str, csrf: str, patient_ids: list[int], rounds: int,
                    times: list[float], failures: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, cookies={"osteotwin_session": token}, timeout=600) as client:
        for round_index in range(rounds):
            paths = pages_for(role, patient_ids, round_index)
            for path in paths:
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                    ok = response.status_code == 200
                except httpx.HTTPError as error:
                    ok, response = False, error
                times.append((time.perf_counter() - started) * 1000)
                if not ok:
                    failures.append(f"GET {path}: {getattr(response, 'status_code', response)}")
            if role == "patient":
                started = time.perf_counter()
                try:
                    response = await client.post("/me/food", data={"csrf_token": csrf, "food_id": "01079",
                                                                    "grams": "244"}, follow_redirects=False)
                    status = response.status_code
                except httpx.HTTPError as error:
                    status = type(error).__name__
                times.append((time.perf_counter() - started) * 1000)
                if status != 303:
                    failures.append(f"POST /me/food: {status}")


async def run_load(base: str, sessions, patient_ids, rounds: int) -> tuple[list[float], list[str], float]:  # noqa: ANN001
    times: list[float] = []
    failures: list[str] = []
    started = time.perf_counter()
    await asyncio.gather(*(user_loop(base, role, token, csrf, patient_ids, rounds, times, failures)
                           for role, token, csrf in sessions))
    return times, failures, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--port", type=int, default=8799)
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temp dir")
    args = parser.parse_args()
    if not (1 <= args.users <= 500 and 1 <= args.rounds <= 100):
        print("error: --users 1-500 and --rounds 1-100", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="osteotwin-load-")
    url = args.database_url or f"sqlite:///{tmp}/osteotwin.sqlite3"
    sessions, patient_ids, _own = seed(url, args.users)
    env = {**os.environ, "OSTEOTWIN_DATABASE_URL": url}
    server = subprocess.Popen([sys.executable, "-m", "osteotwin.cli", "serve", "--port", str(args.port),
                               "--no-demo"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{args.port}"
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
        cold_times, cold_failures, cold_seconds = asyncio.run(run_load(base, sessions[:2], patient_ids, 3))
        times, failures, seconds = asyncio.run(run_load(base, sessions, patient_ids, args.rounds))
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
    times.sort()
    median = statistics.median(times)
    p95 = times[int(0.95 * (len(times) - 1))]
    print(f"warm-up (not counted): {len(cold_times)} requests by 2 users, max {max(cold_times):.0f} ms, "
          f"{len(cold_failures)} failed")
    print(f"users={args.users} rounds={args.rounds} requests={len(times)} failed={len(failures)} "
          f"wall={seconds:.1f}s throughput={len(times) / seconds:.0f} req/s")
    print(f"page time: median {median:.0f} ms, p95 {p95:.0f} ms, max {times[-1]:.0f} ms")
    for failure in failures[:10]:
        print("failed:", failure)
    passed = median < 200 and not failures
    print("PASS" if passed else "FAIL", "(criteria: median < 200 ms, no failed request)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
