#!/usr/bin/env bash
# bench/queue.sh: accepted messages per second over HTTP, homing against Kannel.
#
#   bench/queue.sh
#
# Five lines, each on a fresh temporary folder:
#   1. homing, POST /v1/messages (JSON, bearer token), keep-alive, CONNS
#      concurrent clients over THREADS wrk threads for DURATION seconds;
#   2. homing, GET /cgi-bin/sendsms (its Kannel-compatible path), same load;
#   3. the same as 2 with an SMPP bind to tools/smsc-sim: homing sends what it
#      accepts while it accepts, as Kannel does;
#   4. Kannel 1.4.5 (bearerbox + smsbox, store-type file) with an SMPP bind to
#      tools/smsc-sim, GET /cgi-bin/sendsms on smsbox, the same load and the
#      same query strings as lines 2 and 3;
#   5. `homing send` run N_SEND times one after the other (process start, open
#      the database, one fsynced commit each).
# In lines 1 and 2 homing has no modem or SMPP bind: messages queue, and acceptance (a
# 202 once the commit's WAL is fdatasynced, the sync synchronous=FULL makes) is
# what is measured. Each request
# has its own recipient and text (bench/queue.lua).
#
# Per line: requests/s and accepted/s (202 answers), CPU-seconds of the server
# processes over the load (utime+stime from /proc/PID/stat, before and after;
# Kannel = bearerbox + smsbox; for the lines with an SMPP sink, until the sink
# has received every accepted message, so the CPU to send counts too), peak RSS (VmHWM; Kannel = the sum of both),
# latency, and "CPU wait": time the server's threads were runnable but waited
# for a CPU (schedstat), i.e. how much other load on the machine held them
# back (threads of Kannel that ended during the run are not counted). Nothing lost: homing's `messages` table must hold every 202 (and
# at most CONNS more: requests in flight when wrk stops are committed but
# their answers are not counted); for Kannel, smsc-sim must have received
# every 202 once bearerbox has drained its queue.
#
# Environment:
#   DURATION=20 THREADS=2 CONNS=64   the wrk load (THREADS defaults to nproc)
#   N_SEND=2000                      `homing send` calls for line 4
#   KANNEL=0                         skip the Kannel line
#   KEEP=1                           keep the temporary folder
#
# Needs wrk, kannel (bearerbox, smsbox), sqlite3, curl, perl, make:
#   apt-get install wrk kannel sqlite3 curl
# Figures go in docs/benchmarks.md; nothing asserts on them, and `make test`
# does not run it.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-20}
THREADS=${THREADS:-$(nproc)}
CONNS=${CONNS:-64}
N_SEND=${N_SEND:-2000}
KANNEL=${KANNEL:-1}
KEEP=${KEEP:-0}

missing=()
for tool in wrk sqlite3 curl perl; do
    command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ "$KANNEL" = 1 ]; then
    for tool in bearerbox smsbox; do command -v "$tool" >/dev/null || missing+=(kannel); done
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "bench/queue.sh: missing: ${missing[*]}; apt-get install wrk kannel sqlite3 curl" >&2
    exit 2
fi

make --no-print-directory "$BUILD/homing" "$BUILD/smsc-sim" >&2
HOMING=$PWD/$BUILD/homing
SIM=$PWD/$BUILD/smsc-sim
LUA=$PWD/bench/queue.lua
TICK=$(getconf CLK_TCK)
TOKEN=bench-token
KUSER=bench
KPASS=benchpw

pids=()
tmp=$(mktemp -d /tmp/homing-queue.XXXXXX)
stop_pid() { # TERM, up to 10 s, then KILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
stop_all() {
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done
    pids=()
}
cleanup() {
    stop_all
    if [ "$KEEP" = 1 ]; then echo "kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench/queue.sh: $*" >&2; exit 1; }

# Waits up to $3 seconds for the fixed string $2 in file $1.
wait_for() {
    local file=$1 text=$2 secs=$3 i
    for ((i = 0; i < secs * 10; i++)); do
        if [ -f "$file" ] && grep -qF -- "$text" "$file"; then return 0; fi
        sleep 0.1
    done
    die "no '$text' in $file after ${secs}s (KEEP=1 keeps $tmp)"
}

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1)
            or die "no free port: $!\n";
        print $s->sockport, "\n";'
}

# utime + stime of one process, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name).
cpu_ticks() {
    local s
    s=$(<"/proc/$1/stat")
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    echo $(( ${12} + ${13} ))
}
# Time the threads of a process spent runnable but waiting for a CPU, in ms
# (field 2 of /proc/PID/task/*/schedstat): other load on the machine.
wait_ms() {
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%d\n", s / 1e6 }'
}
# VmRSS split into anonymous memory and mapped files (shared libraries), on stderr.
rss_detail() {
    awk -v who="$1" '/^(VmHWM|VmRSS|RssAnon|RssFile):/ { a = a " " $1 $2 }
        END { print "    " who ":" a " (kB)" }' "/proc/$2/status" >&2
}
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# One line to smsc-sim's control socket.
ctl() {
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])
            or die "control socket $ARGV[0]: $!\n";
        print $s "$ARGV[1]\n";
        my $a = <$s> // ""; print $a; exit($a =~ /^ok/ ? 0 : 1);' "$tmp/sim.ctl" "$*"
}
sim_accepted() { ctl status | sed -n 's/.* accepted=\([0-9]*\).*/\1/p'; }

# Runs wrk; sets W_requests W_accepted W_refused W_duration_us W_p50_us W_p99_us ...
run_wrk() {
    local url=$1 out line kv
    shift
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 10s -s "$LUA" "$url" -- "$@" 2>&1) ||
        die "wrk failed: $out"
    line=$(grep '^WRK ' <<<"$out") || die "no summary from wrk: $out"
    for kv in ${line#WRK }; do printf -v "W_${kv%%=*}" '%s' "${kv#*=}"; done
    if [ "$W_refused" -gt 0 ] || [ $((W_connect_err + W_read_err + W_write_err + W_timeout)) -gt 0 ]; then
        echo "    wrk: refused=$W_refused connect=$W_connect_err read=$W_read_err write=$W_write_err timeout=$W_timeout" >&2
        grep '^queue.lua' <<<"$out" >&2 || true
    fi
}

rows=()
# row NAME PATH CPU_TICKS WAIT_MS HWM_KIB CHECK
row() {
    local name=$1 path=$2 ticks=$3 wait=$4 hwm=$5 check=$6
    rows+=("$(perl -e '
        my ($name, $path, $req, $acc, $us, $ticks, $tick, $wait, $hwm, $p50, $p99, $check) = @ARGV;
        my $s = $us / 1e6; my $cpu = $ticks / $tick;
        printf "| %s | %s | %.0f | %.0f | %d | %.2f | %.3f | %.1f | %.1f | %.1f | %.1f | %s |",
            $name, $path, $req / $s, $acc / $s, $acc, $cpu, $acc ? $cpu * 1000 / $acc : 0,
            $wait / 1000, $hwm / 1024, $p50 / 1000, $p99 / 1000, $check;' \
        "$name" "$path" "$W_requests" "$W_accepted" "$W_duration_us" "$ticks" "$TICK" "$wait" "$hwm" \
        "$W_p50_us" "$W_p99_us" "$check")")
    echo "${rows[-1]}" >&2
}

# ---- homing ---------------------------------------------------------------
# Starts smsc-sim for one line (the sink Kannel's line binds to as well).
start_sink() {
    local dir=$1
    "$SIM" --listen 127.0.0.1:0 --port-file "$dir/sim.port" --control "$tmp/sim.ctl" \
        --system-id kannel --password kannelpw >"$dir/sim.out" 2>&1 &
    pids+=("$!")
    wait_for "$dir/sim.out" "listening port=" 10
}

# Waits (at most 120 s) until the sink has received `want` messages; prints the count.
drain_to_sink() {
    local want=$1 i n
    for ((i = 0; i < 1200; i++)); do
        n=$(sim_accepted)
        [ "$n" -ge "$want" ] && break
        sleep 0.1
    done
    sleep 1
    sim_accepted
}

# homing_line json|kannel|smpp: the last is sendsms with an SMPP bind to smsc-sim.
homing_line() {
    local which=$1 dir=$tmp/homing-$1 pid port t0 t1 w0 w1 hwm n check bind="" at_end=""
    mkdir -p "$dir"
    if [ "$which" = smpp ]; then
        start_sink "$dir"
        # Kannel's defaults: a window of 10, no throughput limit (tps at its maximum), no receipts without dlr-mask.
        bind="smpp = ( { name = \"sim\"; host = \"127.0.0.1\"; port = $(<"$dir/sim.port");
  system_id = \"kannel\"; password = \"kannelpw\"; window = 10; tps = 100000; receipts = false; } );
routes = ( { match = \"+\"; via = [ \"sim\" ]; strategy = \"failover\"; } );"
    fi
    cat >"$dir/homing.conf" <<EOF
# bench/queue.sh: messages queue, and with a bind go on to smsc-sim.
database = "$dir/homing.db";
http = { listen = "127.0.0.1:0"; token = "$TOKEN"; };
log = { level = "info"; };
kannel_compat = { users = ( { username = "$KUSER"; password = "$KPASS"; } ); };
$bind
EOF
    "$HOMING" run -c "$dir/homing.conf" >"$dir/homing.log" 2>&1 &
    pid=$!
    pids+=("$pid")
    wait_for "$dir/homing.log" " ready" 10
    [ "$which" != smpp ] || wait_for "$dir/homing.log" "bind=sim bound" 10
    port=$(sed -n 's/.*http listening on .* port=\([0-9]*\).*/\1/p' "$dir/homing.log" | head -1)
    [ -n "$port" ] || die "no http port in $dir/homing.log"

    t0=$(cpu_ticks "$pid")
    w0=$(wait_ms "$pid")
    if [ "$which" = json ]; then
        run_wrk "http://127.0.0.1:$port" json "$TOKEN"
    else
        run_wrk "http://127.0.0.1:$port" kannel "$KUSER" "$KPASS"
    fi
    t1=$(cpu_ticks "$pid")
    w1=$(wait_ms "$pid")
    hwm=$(hwm_kib "$pid")
    rss_detail "homing $which" "$pid"
    if [ "$which" = smpp ]; then
        # CPU until the sink has everything: sending what was accepted counts too.
        at_end=$(sim_accepted)
        n=$(drain_to_sink "$W_accepted")
        t1=$(cpu_ticks "$pid")
        stop_all
        if [ "$n" -ge "$W_accepted" ] && [ "$n" -le $((W_accepted + CONNS)) ]; then
            check="ok: $n at the sink ($at_end when the load ended)"
        else
            check="LOST: $n at the sink for $W_accepted accepted"
        fi
        row homing "GET /cgi-bin/sendsms + SMPP" $((t1 - t0)) $((w1 - w0)) "$hwm" "$check"
        return
    fi
    stop_all

    n=$(sqlite3 "$dir/homing.db" 'SELECT count(*) FROM messages')
    if [ "$n" -ge "$W_accepted" ] && [ "$n" -le $((W_accepted + CONNS)) ]; then
        check="ok: $n in DB"
    else
        check="LOST: $n in DB for $W_accepted accepted"
    fi
    if [ "$which" = json ]; then
        row homing "POST /v1/messages" $((t1 - t0)) $((w1 - w0)) "$hwm" "$check"
    else
        row homing "GET /cgi-bin/sendsms" $((t1 - t0)) $((w1 - w0)) "$hwm" "$check"
    fi
}

# ---- Kannel ---------------------------------------------------------------
kannel_line() {
    local dir=$tmp/kannel sim_port admin_port box_port http_port bb sb t0 t1 w0 w1 hwm i n check
    mkdir -p "$dir"
    start_sink "$dir"
    sim_port=$(<"$dir/sim.port")
    admin_port=$(free_port)
    box_port=$(free_port)
    http_port=$(free_port)
    cat >"$dir/kannel.conf" <<EOF
# bench/queue.sh: one SMPP bind to smsc-sim, one sendsms user.
group = core
admin-port = $admin_port
admin-password = bench
smsbox-port = $box_port
box-allow-ip = 127.0.0.1
log-level = 2
log-file = "$dir/bearerbox.log"
store-type = file
store-location = "$dir/kannel.store"

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = $sim_port
receive-port = 0
transceiver-mode = true
smsc-username = kannel
smsc-password = kannelpw
system-type = ""

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = $http_port
log-level = 2
log-file = "$dir/smsbox.log"

group = sendsms-user
username = $KUSER
password = $KPASS
max-messages = 1
EOF
    bearerbox -v 2 "$dir/kannel.conf" >"$dir/bearerbox.out" 2>&1 &
    bb=$!
    pids+=("$bb")
    # Wait for the SMPP bind.
    for ((i = 0; ; i++)); do
        [ "$i" -lt 150 ] || die "Kannel did not bind to smsc-sim in 15 s (see $dir)"
        if curl -fs "http://127.0.0.1:$admin_port/status.txt?password=bench" 2>/dev/null |
            grep -q 'SMPP:.*(online'; then break; fi
        sleep 0.1
    done
    smsbox -v 2 "$dir/kannel.conf" >"$dir/smsbox.out" 2>&1 &
    sb=$!
    pids+=("$sb")
    for ((i = 0; ; i++)); do
        [ "$i" -lt 150 ] || die "smsbox did not come up in 15 s (see $dir)"
        if curl -fs "http://127.0.0.1:$admin_port/status.txt?password=bench" 2>/dev/null |
            grep -q 'smsbox:.*on-line' &&
            curl -s -o /dev/null "http://127.0.0.1:$http_port/" 2>/dev/null; then break; fi
        sleep 0.1
    done

    t0=$(( $(cpu_ticks "$bb") + $(cpu_ticks "$sb") ))
    w0=$(( $(wait_ms "$bb") + $(wait_ms "$sb") ))
    run_wrk "http://127.0.0.1:$http_port" kannel "$KUSER" "$KPASS"
    t1=$(( $(cpu_ticks "$bb") + $(cpu_ticks "$sb") ))
    w1=$(( $(wait_ms "$bb") + $(wait_ms "$sb") ))
    hwm=$(( $(hwm_kib "$bb") + $(hwm_kib "$sb") ))
    rss_detail bearerbox "$bb"
    rss_detail smsbox "$sb"
    local at_end
    at_end=$(sim_accepted)
    # Let bearerbox drain its queue to the sink (at most 60 s).
    for ((i = 0; i < 600; i++)); do
        n=$(sim_accepted)
        [ "$n" -ge "$W_accepted" ] && break
        sleep 0.1
    done
    sleep 1
    n=$(sim_accepted)
    t1=$(( $(cpu_ticks "$bb") + $(cpu_ticks "$sb") )) # until drained, as homing's bind line
    stop_all
    if [ "$n" -ge "$W_accepted" ] && [ "$n" -le $((W_accepted + CONNS)) ]; then
        check="ok: $n at the sink ($at_end when the load ended)"
    else
        check="LOST: $n at the sink for $W_accepted accepted"
    fi
    row "Kannel 1.4.5" "GET /cgi-bin/sendsms" $((t1 - t0)) $((w1 - w0)) "$hwm" "$check"
}

# ---- homing send ----------------------------------------------------------
send_line() {
    local dir=$tmp/send i start end n
    mkdir -p "$dir"
    printf 'database = "%s/homing.db";\n' "$dir" >"$dir/homing.conf"
    "$HOMING" send -c "$dir/homing.conf" "+353870000000" "warm-up" >/dev/null # creates the schema
    start=$(date +%s%N)
    for ((i = 1; i <= N_SEND; i++)); do
        "$HOMING" send -c "$dir/homing.conf" "+35388$(printf '%07d' "$i")" "bench send $i" >/dev/null
    done
    end=$(date +%s%N)
    n=$(sqlite3 "$dir/homing.db" 'SELECT count(*) FROM messages')
    perl -e 'my ($n, $ns, $db) = @ARGV; my $s = $ns / 1e9;
        printf "| homing send | %d sequential calls | %.2f s | %.0f msgs/s | %.2f ms/msg | %s |\n",
            $n, $s, $n / $s, $s * 1000 / $n, $db == $n + 1 ? "ok: $db in DB" : "LOST: $db in DB";' \
        "$N_SEND" "$((end - start))" "$n"
}

echo "bench/queue: wrk ${THREADS} threads x ${CONNS} connections, keep-alive, ${DURATION} s per line;" \
    "$(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "homing: WAL, group commit, each batch's WAL fdatasynced before its 202s (the sync synchronous=FULL makes, by the syncer thread); lines 1-2 with no bind (acceptance only), line 3 with an SMPP bind to smsc-sim"
[ "$KANNEL" = 1 ] && echo "Kannel: $(bearerbox --version 2>&1 | sed -n "s/.*version \`\([^']*\)'.*/\1/p" | head -1), store-type file, SMPP bind to smsc-sim"
echo

homing_line json
homing_line kannel
homing_line smpp
if [ "$KANNEL" = 1 ]; then kannel_line; fi

echo
echo "| server | path | requests/s | accepted/s | accepted | CPU s | CPU s / 1000 msgs | CPU wait s | peak RSS MiB | p50 ms | p99 ms | nothing lost |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
printf '%s\n' "${rows[@]}"

if [ "$KANNEL" = 1 ]; then
    # homing's sendsms line with its bind against Kannel's: the same load, path and sink.
    perl -e '
        sub f { my @c = split /\s*\|\s*/, $_[0]; return @c[4, 7, 9]; }   # accepted/s, cpu/1000, rss
        my ($ha, $hc, $hr) = f($ARGV[0]); my ($ka, $kc, $kr) = f($ARGV[1]);
        printf "\nhoming / Kannel on /cgi-bin/sendsms: msgs/s x%.2f (target >= 2), " .
               "CPU per message x%.2f (target <= 0.5), peak RSS x%.2f (target <= 0.25)\n",
               $ha / $ka, $kc ? $hc / $kc : 0, $hr / $kr;' "${rows[2]}" "${rows[3]}"
fi

echo
echo "| command | calls | time | rate | per message | nothing lost |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
send_line
