#!/usr/bin/env bash
# bench/scheduler.sh: the win-back scheduler at scale (issue 8).
#
#   bench/scheduler.sh
#
# On a fresh temporary folder:
#   1. writes a contacts CSV of N rows with awk (phone, name, timezone,
#      consent, code) and a second one with the phones alone for enrollment;
#   2. `homing contacts import` of the first: rows per second, peak RSS;
#   3. `homing enroll bench --csv` of the second: enrollments per second, RSS;
#   4. the database size (file + WAL) after each;
#   5. the cost of one engine tick (bench/sched_tick.c calls sched_tick()
#      directly) with 0, 1,000 and 100,000 steps due, the rest of the N
#      enrollments due in a year; the 0 line is the median of REPEAT ticks;
#      the others are one tick each (it sends what is due, then nothing is);
#      each line checks the number of messages queued;
#   6. `homing report bench` on the result.
# The tick runs at T, the next 12:00 UTC, so the recipients (Europe/Dublin)
# are out of quiet hours whatever time the bench starts.
#
# Targets (issue 8): import >= 100,000 rows/s; a tick with nothing due under
# 1 ms whatever the number enrolled; 100,000 due steps rendered and queued in
# under 5 s; RSS that does not grow with the number enrolled.
#
# Environment:
#   N=1000000      contacts (and enrollments)
#   REPEAT=1000    ticks for the "0 due" line
#   KEEP=1         keep the temporary folder
#
# Needs sqlite3, awk, /usr/bin/time (apt-get install sqlite3 gawk time).
# Figures go in docs/benchmarks.md; nothing asserts on them, and `make test`
# does not run it. Steps whose command is not built yet are skipped, said so.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${N:-1000000}
REPEAT=${REPEAT:-1000}
KEEP=${KEEP:-0}

missing=()
for tool in sqlite3 awk; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/scheduler.sh: missing: ${missing[*]}; apt-get install sqlite3 gawk time" >&2
    exit 2
fi

make --no-print-directory "$BUILD/homing" "$BUILD/bench/sched_tick" >&2
HOMING=$PWD/$BUILD/homing
TICK=$PWD/$BUILD/bench/sched_tick

tmp=$(mktemp -d /tmp/homing-scheduler.XXXXXX)
cleanup() { if [ "$KEEP" = 1 ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench/scheduler.sh: $*" >&2; exit 1; }
say() { echo "$*" >&2; }
has_command() { "$HOMING" help 2>/dev/null | grep -q "^  $1 "; }

DB=$tmp/homing.db
CONF=$tmp/homing.conf
cat >"$CONF" <<EOF
# bench/scheduler.sh: no modem or bind; campaign messages queue.
database = "$DB";
defaults = { country = "IE"; timezone = "Europe/Dublin"; };
log = { level = "warn"; };
campaigns = (
  { name = "bench"; exit_on = [ "conversion", "reply" ]; consent_required = true;
    steps = (
      { after = "0d"; text = "Hi {name|there}, we miss you! Use {code}. Reply STOP to opt out"; },
      { after = "7d"; text = "Hi {name|there}, {code} is still waiting. Reply STOP to opt out"; },
      { after = "30d";
        variants = (
          { name = "A"; weight = 1; text = "{name|Hi}, 20% off with {code}. Reply STOP to opt out"; },
          { name = "B"; weight = 1; text = "{name|Hi}, last chance: {code}. Reply STOP to opt out"; }
        ); }
    ); }
);
EOF

# Database file plus its WAL, in MiB.
db_mib() { du -cb "$DB" "$DB-wal" 2>/dev/null | awk 'END { printf "%.1f", $1 / 1048576 }'; }

# timed LABEL ROWS CMD...: runs CMD (stdout dropped), prints rows/s, seconds, peak RSS.
timed() {
    local label=$1 rows=$2 out rc secs rss
    shift 2
    # Exit status 1 means some rows were refused or skipped (said on stderr): still timed.
    out=$(/usr/bin/time -f 'TIME %e %M' "$@" 2>&1 >/dev/null) && rc=0 || rc=$?
    [ "$rc" -le 1 ] || die "$label failed ($rc): $(tail -5 <<<"$out")"
    [ "$rc" = 0 ] || say "$label: exit 1; $(grep -vc '^TIME' <<<"$out") lines on stderr"
    read -r _ secs rss <<<"$(grep '^TIME' <<<"$out" | tail -1)"
    awk -v l="$label" -v n="$rows" -v s="$secs" -v r="$rss" -v db="$(db_mib)" 'BEGIN {
        printf "| %s | %d | %.2f s | %.0f rows/s | %.1f MiB RSS | db %s MiB |\n",
               l, n, s, (s > 0 ? n / s : 0), r / 1024, db }'
}

# ---- 1. the CSV files ------------------------------------------------------
t0=$(date +%s.%N)
awk -v n="$N" 'BEGIN {
    print "phone,name,timezone,consent,code"
    for (i = 0; i < n; i++)
        printf "+35386%07d,Name%d,Europe/Dublin,yes,C%06d\n", i, i, i % 1000000
}' >"$tmp/contacts.csv"
awk -F, 'NR == 1 { print "phone"; next } { print $1 }' "$tmp/contacts.csv" >"$tmp/enroll.csv"
say "CSV: $N rows in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s," \
    "$(du -b "$tmp/contacts.csv" | awk '{ printf "%.1f MiB", $1 / 1048576 }')"

# ---- 2-4. import and enroll ------------------------------------------------
"$HOMING" config check -c "$CONF" >/dev/null || die "bench config does not load"
if has_command contacts; then
    timed "contacts import" "$N" "$HOMING" contacts import -c "$CONF" "$tmp/contacts.csv"
else
    say "skipped: homing contacts import is not built yet"
fi
if has_command enroll; then
    timed "enroll --csv" "$N" "$HOMING" enroll -c "$CONF" bench --csv "$tmp/enroll.csv"
    enrolled=$(sqlite3 "$DB" "SELECT count(*) FROM enrollments WHERE state = 'active'")
    [ "$enrolled" = "$N" ] || say "note: $enrolled of $N enrolled"
else
    say "skipped: homing enroll is not built yet"
fi

# ---- 5. tick cost ----------------------------------------------------------
T=$(date -u -d "tomorrow 12:00" +%s)
FAR=$((T + 365 * 86400))
# due FIRST LAST: enrollments FIRST..LAST (by id) due at T, every other active one at FAR.
due() {
    sqlite3 -cmd ".timeout 10000" "$DB" "
        UPDATE enrollments SET next_due_at = CASE WHEN id BETWEEN $1 AND $2 THEN $T ELSE $FAR END
        WHERE state = 'active';"
}
messages() { sqlite3 "$DB" "SELECT count(*) FROM messages WHERE campaign = 'bench'"; }
enrollments() { [ -f "$DB" ] && sqlite3 "$DB" "SELECT count(*) FROM enrollments" || echo 0; }
tick_line() {
    local label=$1 want=$2 repeat=$3 before out after
    before=$(messages)
    out=$("$TICK" "$CONF" "$T" 1000000 "$repeat") || die "sched_tick: $out"
    after=$(messages)
    echo "| tick, $label due | $out | queued $((after - before)) (want $want) |"
}
if grep -q "not built yet" <("$TICK"); then
    say "skipped: the tick lines (scheduler/sched_engine.h is not built yet)"
elif [ "$(enrollments)" = 0 ]; then
    say "skipped: the tick lines (nothing enrolled)"
else
    due 1 0
    tick_line 0 0 "$REPEAT"
    due 1 1000
    tick_line 1,000 "$(( N > 1000 ? 1000 : N ))" 1
    due 1001 101000
    tick_line 100,000 "$(( N > 101000 ? 100000 : (N > 1000 ? N - 1000 : 0) ))" 1
    say "db after the ticks: $(db_mib) MiB"
fi

# ---- 6. the report ---------------------------------------------------------
if has_command report && [ "$(enrollments)" != 0 ]; then
    timed "report" "$(enrollments)" "$HOMING" report -c "$CONF" bench
else
    say "skipped: the report (nothing enrolled)"
fi
