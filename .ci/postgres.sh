#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for samhand's tests, from Debian's postgresql-15 package.
#
#   .ci/postgres.sh start          initdb into a new temp folder, start the server on
#                                  127.0.0.1 at a free port, create role and database
#                                  "samhand"; prints DATABASE_URL on stdout (only that).
#   .ci/postgres.sh stop [URL]     stop the server of URL (default: $DATABASE_URL) and
#                                  delete its folder.
#
# Local use:
#   export DATABASE_URL=$(.ci/postgres.sh start)
#   uv run pytest
#   .ci/postgres.sh stop
#
# Run as root, the server runs as the OS user "postgres" (initdb refuses root); run as
# anyone else, it runs as that user. PG_BIN overrides /usr/lib/postgresql/15/bin.
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
BASE=${TMPDIR:-/tmp}
PREFIX=samhand-pg-

log() { printf '[postgres.sh] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'PY'
import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
PY
}

port_of_url() {
    local url=$1
    [[ $url =~ @127\.0\.0\.1:([0-9]+)/ ]] || die "not a DATABASE_URL made by this script: $url"
    printf '%s\n' "${BASH_REMATCH[1]}"
}

start() {
    [ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found: apt-get install postgresql-15"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "OS user postgres missing (apt-get install postgresql-15)"
    fi
    local attempt port dir password url
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    for attempt in 1 2 3; do
        port=$(free_port)
        dir="$BASE/$PREFIX$port"
        if [ -e "$dir" ]; then
            log "$dir exists (a server already there?); trying another port"
            continue
        fi
        mkdir -m 700 "$dir"
        printf '%s\n' "$password" >"$dir/pwfile"
        chmod 600 "$dir/pwfile"
        if [ "$(id -u)" = 0 ]; then
            chown -R postgres: "$dir"
        fi
        as_server_user "$PG_BIN/initdb" -D "$dir/data" --username=postgres \
            --pwfile="$dir/pwfile" --auth-local=trust --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; rm -rf "$dir"; die "initdb failed"; }
        cat >>"$dir/data/postgresql.conf" <<CONF
# samhand test server (.ci/postgres.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
CONF
        if as_server_user "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            >/dev/null; then
            break
        fi
        log "server did not start on port $port (attempt $attempt):"
        tail -n 20 "$dir/server.log" >&2 || true
        as_server_user "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$dir"
        dir=""
    done
    [ -n "$dir" ] || die "could not start PostgreSQL"

    # CREATEDB: Django's test runner creates and drops test_samhand. CREATEROLE: tests of
    # the application role's grants (security.md #27) create that role. Not a superuser.
    as_server_user "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" \
        -U postgres -d postgres >/dev/null <<SQL
CREATE ROLE samhand LOGIN CREATEDB CREATEROLE PASSWORD '$password';
CREATE DATABASE samhand OWNER samhand;
SQL
    rm -f "$dir/pwfile"
    url="postgres://samhand:$password@127.0.0.1:$port/samhand"
    printf '%s\n' "$url" >"$dir/url"
    log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
    printf '%s\n' "$url"
}

stop() {
    local url=${1:-${DATABASE_URL:-}}
    [ -n "$url" ] || die "usage: $0 stop DATABASE_URL (or set DATABASE_URL)"
    local port dir
    port=$(port_of_url "$url")
    dir="$BASE/$PREFIX$port"
    [ -d "$dir/data" ] || die "no server of this script at $dir"
    if [ ! -f "$dir/url" ] || [ "$(cat "$dir/url")" != "$url" ]; then
        die "$dir belongs to another URL"
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_server_user "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null \
            || as_server_user "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null
    fi
    rm -rf "$dir"
    log "stopped the server on port $port and removed $dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop "${2:-}" ;;
    *) printf 'usage: %s start|stop [DATABASE_URL]\n' "$0" >&2; exit 2 ;;
esac
