"""``osteotwin serve``: start the clinic and patient web app and its JSON API (/api/v1).

On start it creates or migrates the database (SQLite file by default; OSTEOTWIN_DATABASE_URL for
PostgreSQL), creates the demo clinic unless ``--no-demo``, and prints one-time links: the demo
clinician's (and demo patient's) sign-in links, and, while no real clinician account exists, the
link that creates the first one. The access log is off: URLs can carry search words (names).
"""

from __future__ import annotations

import argparse
import sys
import time

from osteotwin.errors import InputError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("serve", help="start the web app (clinic and patient pages, JSON API)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--no-demo", action="store_true", help="start without the demo clinic")
    parser.add_argument("--public-url", default=None,
                        help="base URL for printed links (default http://HOST:PORT)")
    parser.set_defaults(handler=run)


def startup_links(database, public_url: str, demo: bool) -> list[str]:  # noqa: ANN001
    """Create the demo clinic if asked and return the lines to print (one-time links)."""
    from osteotwin.records.accounts import clinician_exists, issue_link
    from osteotwin.records.demo import ensure_demo_clinic

    lines: list[str] = []
    with database.transaction() as session:
        if demo:
            tokens = ensure_demo_clinic(session)
            lines.append(f"Demo clinician sign-in (one-time link): {public_url}/signin/{tokens['clinician']}")
            if "patient" in tokens:
                lines.append(f"Demo patient sign-in (one-time link):   {public_url}/signin/{tokens['patient']}")
        if not clinician_exists(session):
            token = issue_link(session, "first_clinician")
            lines.append(f"Create the first clinician account (one-time link, 24 h): {public_url}/setup/{token}")
    return lines


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from osteotwin.records.database import Database, database_url
    from osteotwin.web.app import create_app

    if not 1 <= args.port <= 65535:
        raise InputError("--port", args.port, "a TCP port 1-65535")
    public_url = (args.public_url or f"http://{args.host}:{args.port}").rstrip("/")
    url = database_url()
    database = Database(url)
    lines = startup_links(database, public_url, demo=not args.no_demo)
    where = "PostgreSQL (OSTEOTWIN_DATABASE_URL)" if database.dialect == "postgresql" else url.split("///", 1)[-1]
    from osteotwin.web.services import warm_up

    # The engine's machine code comes from numba's cache (filled by `make install`, or by
    # `python -m osteotwin.physiology.compile`); only without it does this step compile (15-30 s).
    print("osteotwin: preparing the engine and the food table...", flush=True)
    started = time.perf_counter()
    warm_up()
    print(f"osteotwin: ready in {time.perf_counter() - started:.1f} s", flush=True)
    # The links come last, so the server is up by the time anyone can click one.
    print(f"osteotwin web app on {public_url}  (database: {where})", flush=True)
    for line in lines:
        print(line, flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print("warning: listening beyond loopback; put it behind HTTPS and set --public-url https://...",
              file=sys.stderr, flush=True)
    app = create_app(database, public_url=public_url)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
