#!/usr/bin/env bash
# bench/smpp.sh: outbound throughput of homing over one SMPP bind to
# tools/smsc-sim, side by side with Kannel 1.4.5 against the same simulator.
#
#   bench/smpp.sh [N]                default N = 100000 messages
#
# homing: N one-segment messages are inserted straight into a fresh database
# (one sqlite3 transaction, the schema's own columns, state 'queued', due now)
# BEFORE `homing run` starts with one transceiver bind (window 10), so the
# bind comes up to a full queue. Kannel: bearerbox + smsbox start first with
# the simulator not yet listening, the N messages go in through smsbox's
# /cgi-bin/sendsms (one keep-alive curl), then the simulator starts and
# bearerbox's reconnect finds it with a full queue. Either way the figure
# is the simulator's JSON log: (accepted - 1) / seconds from the first to the
# last accepted submit_sm.
#
# Runs (RUNS, any subset, in this order):
#   homing-off        receipts off, tps 10000 (the rate limit is not the bottleneck)
#   homing-dlr        receipts on (smsc-sim --receipts text, 100 ms later)
#   homing-tps        receipts off, tps 500: how closely the token bucket holds it
#   homing-throttle   receipts off, tps 10000, smsc-sim --throttle 10%
#   kannel-off        max-pending-submits 10, no dlr-mask
#   kannel-dlr        dlr-mask=31 on every sendsms (registered_delivery 1)
#   kannel-throttle   smsc-sim --throttle 10%
# A run stops when the simulator has accepted its messages (and, with
# receipts, every receipt has been answered) or after CAP seconds; a capped
# run reports the rate over what did arrive.
#
# Environment:
#   RUNS="homing-off ... kannel-throttle"  the runs to do
#   TPS_N=10000        messages of the tps run (at 500/s: 20 s)
#   THROTTLE_N=10000   messages of the throttled runs
#   CAP=300            longest wait per run, in seconds (THROTTLE_CAP=60 for throttled runs)
#   KEEP=1             keep the temporary folders
#
# Columns: "msgs/s" from the simulator's log; "done s" from the first submit
# until everything was accepted (and with receipts, every deliver_sm answered),
# polled every 0.2 s; "CPU s/1k" utime+stime of the homing process (for Kannel
# bearerbox, counted from the moment the simulator starts, so the HTTP intake
# is left out) per 1,000 accepted messages; "peak RSS" VmHWM of that process.
#
# Needs bash, perl (core modules), sqlite3, curl, make; Kannel runs need the
# Debian package kannel (apt-get install kannel). Figures go in
# docs/benchmarks.md; nothing asserts on them, and `make test` does not run
# it. Every process it starts is stopped on exit (trap).
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${1:-${N:-100000}}
TPS_N=${TPS_N:-10000}
THROTTLE_N=${THROTTLE_N:-10000}
CAP=${CAP:-300}
THROTTLE_CAP=${THROTTLE_CAP:-60}
KEEP=${KEEP:-0}
RUNS=${RUNS:-"homing-off homing-dlr homing-tps homing-throttle kannel-off kannel-dlr kannel-throttle"}
case $N in
    ''|*[!0-9]*|0) echo "bench/smpp.sh: N must be a positive number, not '$N'" >&2; exit 2 ;;
esac
for r in $RUNS; do
    case $r in
        homing-off|homing-dlr|homing-tps|homing-throttle|kannel-off|kannel-dlr|kannel-throttle) ;;
        *) echo "bench/smpp.sh: unknown run '$r'" >&2; exit 2 ;;
    esac
done
for tool in perl sqlite3 curl; do
    command -v "$tool" >/dev/null || { echo "bench/smpp.sh: needs $tool" >&2; exit 2; }
done
if [[ " $RUNS " == *" kannel-"* ]] && ! command -v bearerbox >/dev/null; then
    echo "bench/smpp.sh: Kannel runs need bearerbox and smsbox (apt-get install kannel)," \
         "or RUNS without kannel-*" >&2
    exit 2
fi

make --no-print-directory "$BUILD/homing" "$BUILD/smsc-sim" >&2
HOMING=$PWD/$BUILD/homing
SIM=$PWD/$BUILD/smsc-sim
HZ=$(getconf CLK_TCK)

pids=()   # everything started, stopped in reverse order
tmp=""
stop_all() {
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
    done
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        wait "${pids[i]}" 2>/dev/null || true
    done
    pids=()
}
cleanup() {
    stop_all
    if [ -n "$tmp" ] && [ "$KEEP" != 1 ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench/smpp.sh: $*" >&2; exit 1; }

# A free loopback TCP port (the kernel's pick; released at once).
free_port() {
    perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
        LocalAddr => "127.0.0.1", LocalPort => 0, ReuseAddr => 1)->sockport, "\n"'
}

# One line to smsc-sim's control socket; prints the answer, fails on "error".
ctl() {
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])
            or die "control socket $ARGV[0]: $!\n";
        print $s "$ARGV[1]\n";
        my $a = <$s> // ""; print $a; exit($a =~ /^ok/ ? 0 : 1);' "$tmp/sim.ctl" "$*"
}

# One counter from the simulator's `status` answer.
sim_stat() {
    ctl status | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# start_sim PORT RECEIPTS THROTTLE SYSTEM_ID PASSWORD
start_sim() {
    "$SIM" --listen "127.0.0.1:$1" --port-file "$tmp/sim.port" --control "$tmp/sim.ctl" \
        --log "$tmp/submits.jsonl" --receipts "$2" --throttle "$3" \
        --system-id "$4" --password "$5" >"$tmp/sim.out" 2>&1 &
    pids+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        [ -s "$tmp/sim.port" ] && [ -S "$tmp/sim.ctl" ] && return 0
        sleep 0.1
    done
    die "smsc-sim did not start (see $tmp/sim.out)"
}

now() { date +%s.%N; }

# wait_port PORT WHAT: until something listens on 127.0.0.1:PORT (10 s).
wait_port() {
    local i
    for ((i = 0; i < 100; i++)); do
        perl -MIO::Socket::INET -e 'exit !IO::Socket::INET->new("127.0.0.1:$ARGV[0]")' "$1" \
            && return 0
        sleep 0.1
    done
    die "$2 is not listening on port $1 (see $tmp)"
}

# wait_done M RECEIPTS CAP: until the simulator accepted M submits (and, with
# receipts, M deliver_sm were answered) or CAP seconds; prints the time then.
wait_done() {
    local m=$1 receipts=$2 cap=$3 start acc resp
    start=$(now)
    while :; do
        acc=$(sim_stat accepted)
        resp=$(sim_stat deliver_resps)
        if [ "$acc" -ge "$m" ] && { [ "$receipts" = off ] || [ "$resp" -ge "$m" ]; }; then
            break
        fi
        if perl -e "exit(!($(now) - $start > $cap))"; then
            echo "    capped at ${cap}s: accepted=$acc of $m, receipts answered=$resp" >&2
            break
        fi
        sleep 0.2
    done
    now
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# Reads the submit log; prints "count distinct first last rate best_second".
analyse() {
    perl -MTime::Local=timegm -e '
        my (%texts, %sec, $n, $first, $last);
        while (<>) {
            my ($y,$mo,$d,$h,$mi,$s,$ms) = /"time":"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z"/
                or die "no time in $_";
            my $t = timegm($s, $mi, $h, $d, $mo - 1, $y) + $ms / 1000;
            my ($text) = /"text":"((?:[^"\\]|\\.)*)"/;
            $n++; $texts{$text // ""}++; $sec{int $t}++;
            $first = $t if !defined $first || $t < $first;
            $last = $t if !defined $last || $t > $last;
        }
        $n or do { print "0 0 0 0 0 0\n"; exit };
        my $el = $last - $first;
        # the busiest whole second, leaving out the first and last (partial) ones
        my @full = grep { $_ > int($first) && $_ < int($last) } keys %sec;
        my $best = 0; for (@full) { $best = $sec{$_} if $sec{$_} > $best }
        printf "%d %d %.3f %.3f %.1f %d\n", $n, scalar(keys %texts), $first, $last,
            $el > 0 ? ($n - 1) / $el : 0, $best;' "$1"
}

# msgs/s over each tenth of the submit log, in order (does the rate drift?).
trend() {
    perl -MTime::Local=timegm -e '
        my @t;
        while (<>) {
            my ($y,$mo,$d,$h,$mi,$s,$ms) = /"time":"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z"/ or next;
            push @t, timegm($s, $mi, $h, $d, $mo - 1, $y) + $ms / 1000;
        }
        @t = sort { $a <=> $b } @t;
        my $k = int(@t / 10) or exit;
        print join " ", map { my $el = $t[($_ + 1) * $k - 1] - $t[$_ * $k];
                              $el > 0 ? sprintf("%.0f", ($k - 1) / $el) : "-" } 0 .. 9;' "$1"
}

# report WHO RUN M RECEIPTS END_TIME CPU_TICKS RSS_KB NOTE
report() {
    local who=$1 run=$2 m=$3 receipts=$4 end=$5 ticks=$6 rss=$7 note=$8
    local count distinct first last rate best
    read -r count distinct first last rate best < <(analyse "$tmp/submits.jsonl")
    echo "    $run: msgs/s per tenth of the messages: $(trend "$tmp/submits.jsonl")" >&2
    local check=ok
    if [ "$count" -ne "$distinct" ]; then
        check="DUPLICATED (count=$count distinct=$distinct)"
    elif [ "$count" -lt "$m" ]; then
        check="$count of $m in the cap"
    elif [ "$count" -gt "$m" ]; then
        check="EXTRA ($count of $m)"
    fi
    local done_s cpu
    done_s=$(perl -e "printf '%.1f', $end - $first")
    cpu=$(perl -e "printf '%.3f', $count ? $ticks / $HZ / $count * 1000 : 0")
    printf '| %s | %s | %d | %.1f | %s | %d | %s | %s | %s MiB | %s |\n' \
        "$who" "$run" "$count" "$(perl -e "print $last - $first")" "$rate" "$best" \
        "$done_s" "$cpu" "$(perl -e "printf '%.1f', $rss / 1024")" "$check${note:+; $note}"
}

new_tmp() {
    tmp=$(mktemp -d /tmp/homing-benchsmpp.XXXXXX)
}
end_tmp() {
    if [ "$KEEP" = 1 ]; then echo "    kept: $tmp" >&2; else rm -rf "$tmp"; fi
    tmp=""
}

# --- homing -------------------------------------------------------------------

homing_run() {
    local run=$1 m=$N receipts=off throttle=off tps=10000 cap=$CAP
    case $run in
        homing-dlr) receipts=text ;;
        homing-tps) tps=500; m=$TPS_N ;;
        homing-throttle) throttle=10%; m=$THROTTLE_N; cap=$THROTTLE_CAP ;;
    esac
    new_tmp
    start_sim 0 "$receipts" "$throttle" homing secret
    local conf=$tmp/homing.conf
    cat >"$conf" <<EOF
# bench/smpp.sh: $run
database = "$tmp/homing.db";
http = { listen = "127.0.0.1:0"; token = "bench"; };
log = { level = "info"; };
smpp = ( {
  name = "sim"; host = "127.0.0.1"; port = $(cat "$tmp/sim.port");
  system_id = "homing"; password = "secret";
  window = 10; tps = $tps; receipts = $([ "$receipts" = off ] && echo false || echo true);
} );
routes = ( { match = "+"; via = [ "sim" ]; } );
EOF
    "$HOMING" messages -c "$conf" >/dev/null   # creates the database
    sqlite3 "$tmp/homing.db" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $m)
INSERT INTO messages (recipient, body, encoding, segments, state, next_attempt_at,
                      expires_at, source, created_at, updated_at)
SELECT '+35387' || printf('%07d', i), 'bench smpp msg ' || i, 'gsm7', 1, 'queued',
       strftime('%s', 'now'), strftime('%s', 'now') + 7 * 86400, 'bench',
       strftime('%s', 'now'), strftime('%s', 'now')
FROM c;
EOF
    "$HOMING" run -c "$conf" >"$tmp/homing.log" 2>&1 &
    local hpid=$!
    pids+=("$hpid")
    local end ticks rss
    end=$(wait_done "$m" "$receipts" "$cap")
    ticks=$(cpu_ticks "$hpid")
    rss=$(peak_rss_kb "$hpid")
    local note=""
    [ "$run" = homing-tps ] && note="tps 500"
    [ "$run" = homing-throttle ] && note="throttled=$(sim_stat throttled)"
    if [ "$receipts" != off ]; then
        note="delivered in DB=$(sqlite3 "$tmp/homing.db" "SELECT count(*) FROM messages WHERE state = 'delivered'")"
    fi
    stop_all
    report homing "$run" "$m" "$receipts" "$end" "$ticks" "$rss" "$note"
    end_tmp
}

# --- Kannel -------------------------------------------------------------------

kannel_run() {
    local run=$1 m=$N receipts=off throttle=off cap=$CAP dlr=""
    case $run in
        kannel-dlr) receipts=text; dlr="&dlr-mask=31" ;;
        kannel-throttle) throttle=10%; m=$THROTTLE_N; cap=$THROTTLE_CAP ;;
    esac
    new_tmp
    local sim_port admin_port box_port http_port
    sim_port=$(free_port); admin_port=$(free_port); box_port=$(free_port); http_port=$(free_port)
    cat >"$tmp/kannel.conf" <<EOF
group = core
admin-port = $admin_port
admin-interface = 127.0.0.1
admin-password = bench
admin-allow-ip = "127.0.0.1"
smsbox-port = $box_port
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "$tmp/bearerbox.log"
log-level = 2
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = $sim_port
transceiver-mode = true
smsc-username = kannel
smsc-password = kannelpw
system-type = "bench"
max-pending-submits = 10
reconnect-delay = 1
msg-id-type = 0x02
log-level = 2

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $box_port
sendsms-port = $http_port
sendsms-interface = 127.0.0.1
log-file = "$tmp/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = bench
max-messages = 1
default-sender = 12345
EOF
    bearerbox -v 2 "$tmp/kannel.conf" >"$tmp/bearerbox.out" 2>&1 &
    local bpid=$!
    pids+=("$bpid")
    wait_port "$box_port" bearerbox
    smsbox -v 2 "$tmp/kannel.conf" >"$tmp/smsbox.out" 2>&1 &
    pids+=($!)
    wait_port "$http_port" smsbox
    # The queue first, through sendsms on one keep-alive connection.
    perl -e '
        my ($m, $port, $dlr) = @ARGV;
        for my $i (1 .. $m) {
            printf "url = \"http://127.0.0.1:%d/cgi-bin/sendsms?username=bench&password=bench&to=35387%07d&text=bench+smpp+msg+%d%s\"\n",
                $port, $i, $i, $dlr;
        }' "$m" "$http_port" "$dlr" >"$tmp/urls"
    local t0 accepted
    t0=$(now)
    # With the SMSC down, smsbox answers "3: Queued for later delivery".
    accepted=$(curl -s -K "$tmp/urls" | grep -oE "(Accepted for|Queued for later) delivery" | wc -l)
    echo "    kannel $run: $accepted of $m accepted by sendsms in $(perl -e "printf '%.1f', $(now) - $t0")s" >&2
    [ "$accepted" -eq "$m" ] || die "sendsms accepted $accepted of $m (see $tmp)"
    local ticks0 end ticks rss
    ticks0=$(cpu_ticks "$bpid")
    start_sim "$sim_port" "$receipts" "$throttle" kannel kannelpw
    end=$(wait_done "$m" "$receipts" "$cap")
    ticks=$(( $(cpu_ticks "$bpid") - ticks0 ))
    rss=$(peak_rss_kb "$bpid")
    local note=""
    [ "$run" = kannel-throttle ] && note="throttled=$(sim_stat throttled)"
    stop_all
    report kannel "$run" "$m" "$receipts" "$end" "$ticks" "$rss" "$note"
    end_tmp
}

echo "bench/smpp: N=$N, window 10, one transceiver bind to smsc-sim on 127.0.0.1; $(nproc) CPUs"
echo
echo "| gateway | run | messages | seconds | msgs/s | best second | done s | CPU s/1k | peak RSS | check |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
for r in $RUNS; do
    case $r in
        homing-*) homing_run "$r" ;;
        kannel-*) kannel_run "$r" ;;
    esac
done
