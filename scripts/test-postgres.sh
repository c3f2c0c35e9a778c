#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the test suite and print its URL.
# Usage: eval "$(scripts/test-postgres.sh start)"   -> exports OSTEOTWIN_TEST_POSTGRES_URL
#        scripts/test-postgres.sh stop
set -euo pipefail
PORT="${OSTEOTWIN_TEST_PG_PORT:-55432}"
DATA_DIR="${OSTEOTWIN_TEST_PG_DIR:-/tmp/osteotwin-test-pg}"
BIN_DIR="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    [ -n "$BIN_DIR" ] || { echo "echo 'PostgreSQL server binaries not found' >&2"; exit 0; }
    if ! as_postgres "$BIN_DIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1; then
      rm -rf "$DATA_DIR"; mkdir -p "$DATA_DIR"
      [ "$(id -u)" = 0 ] && chown postgres "$DATA_DIR"
      as_postgres "$BIN_DIR/initdb" -D "$DATA_DIR" -U osteotwin --auth=trust >/dev/null
      as_postgres "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w \
        -o "-p $PORT -k $DATA_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
      as_postgres "$BIN_DIR/createdb" -h 127.0.0.1 -p "$PORT" -U osteotwin osteotwin_test
    fi
    echo "export OSTEOTWIN_TEST_POSTGRES_URL=postgresql+psycopg://osteotwin@127.0.0.1:$PORT/osteotwin_test"
    ;;
  stop)
    as_postgres "$BIN_DIR/pg_ctl" -D "$DATA_DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
esac
