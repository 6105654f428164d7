# SPDX-License-Identifier: MIT
# A private PostgreSQL for the tests (source it): Debian's server binaries, a
# cluster made by initdb in a temporary directory, run by pg_ctl as an
# unprivileged user (postgres when we are root), reachable only through a unix
# socket in that directory (no TCP port to collide with anyone's), removed by
# pg_cleanup (call it from the test's exit trap).
#
# pg_start: 0 when the server answers; sets PG_DIR, PG_SOCK, PG_PORT (the socket's
#   number), PG_USER. 1 (and a reason in PG_WHY) when PostgreSQL is not installed.
# pg_createdb NAME: a fresh database NAME owned by PG_USER.
# pg_restart [SECONDS]: fast stop, down for SECONDS (default 0), start again.
# pg_psql DB SQL: one statement, unaligned output.
# run_on_pg CMD...: run a test program (on the PostgreSQL its environment names),
#   fold its counts into ours (harness.sh), its FAIL lines labelled.
# PG_FSYNC=on for durable commits (benchmarks); the tests run with fsync off.
# PG_OPTS: more server options (-c name=value ...).

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

pg_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	PG_BIN=$(pg_bin)
	if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
		PG_WHY="PostgreSQL server not installed (make test-deps)"
		return 1
	fi
	PG_USER=$(id -un)
	[ "$(id -u)" = 0 ] && PG_USER=postgres
	PG_DIR=$(mktemp -d /tmp/cs-pg.XXXXXX)
	chmod 755 "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown "$PG_USER" "$PG_DIR"
	PG_SOCK=$PG_DIR
	PG_PORT=${PG_PORT:-5432}
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U "$PG_USER" --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
		{ PG_WHY="initdb failed: $(tail -1 "$PG_DIR/initdb.log")"; return 1; }
	pg_ctl_start
}

pg_ctl_start() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
		-o "-p $PG_PORT -k $PG_SOCK -c listen_addresses='' -c fsync=${PG_FSYNC:-off} ${PG_OPTS:-}" start >/dev/null 2>&1 ||
		{ PG_WHY="pg_ctl start failed: $(tail -2 "$PG_DIR/log")"; return 1; }
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ] &&
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
	return 0
}

pg_restart() {
	pg_stop
	sleep "${1:-0}"
	pg_ctl_start
}

pg_psql() {
	pg_as "$PG_BIN/psql" -h "$PG_SOCK" -p "$PG_PORT" -U "$PG_USER" -d "$1" -XAtq -c "$2"
}

pg_createdb() {
	pg_psql postgres "CREATE DATABASE \"$1\" OWNER \"$PG_USER\""
}

pg_cleanup() {
	pg_stop
	[ -n "${PG_DIR:-}" ] && rm -rf "$PG_DIR"
	PG_DIR=
}

run_on_pg() {
	local out line p f s
	out=$("$@" 2>&1)
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' <<<"$out" | tail -1)
	read -r p _ f _ s _ <<<"${line:-0 passed, 1 failed, 0 skipped}"
	grep '^FAIL' <<<"$out" | sed "s|^FAIL|FAIL ($(basename "$1")${2:+ $(basename "$2")})|" >&2
	T_PASS=$((T_PASS + p)) T_FAIL=$((T_FAIL + f)) T_SKIP=$((T_SKIP + s))
	echo "ok   $* on PostgreSQL: $line"
}
