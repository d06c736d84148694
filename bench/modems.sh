#!/usr/bin/env bash
# bench/modems.sh: outbound throughput of homing over N simulated GSM modems.
#
#   bench/modems.sh [N ...]          default N = 1 2 4 8
#
# For each N: tools/modem-sim with N modems, each answering AT+CMGS after a
# 2 s latency (so one modem can send at most 30 SMS a minute); a homing config
# with those N modems (sends_per_minute = 60, so pacing is not the limit) and
# one route "+" via all of them; N x 30 x MINUTES messages enqueued with
# `homing send` BEFORE `homing run` starts, so the queue is full when the
# modems come up. The figure comes from the simulator's submit log (the time
# each +CMGS was answered): messages per minute against the ideal N x 30.
# Every message must arrive exactly once (count and distinct texts = M).
#
# Environment:
#   STRATEGIES="least-busy round-robin"   route strategies to run, each per N
#   MINUTES=1                             traffic per run at the ideal rate
#   LATENCY_MS=2000                       simulated send latency
#   KEEP=1                                keep the temporary folders
#
# Needs bash, perl (core modules only) and make. Figures go in
# docs/benchmarks.md; nothing asserts on them, and `make test` does not run it.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
STRATEGIES=${STRATEGIES:-"least-busy round-robin"}
MINUTES=${MINUTES:-1}
LATENCY_MS=${LATENCY_MS:-2000}
KEEP=${KEEP:-0}
if [ $# -gt 0 ]; then counts=("$@"); else counts=(1 2 4 8); fi
for n in "${counts[@]}"; do
    case $n in
        ''|*[!0-9]*) echo "bench/modems.sh: N must be a number from 1 to 16, not '$n'" >&2; exit 2 ;;
    esac
    if [ "$n" -lt 1 ] || [ "$n" -gt 16 ]; then
        echo "bench/modems.sh: N must be from 1 to 16 (modem-sim's limit), not $n" >&2; exit 2
    fi
done

make --no-print-directory "$BUILD/homing" "$BUILD/modem-sim" >&2
HOMING=$PWD/$BUILD/homing
SIM=$PWD/$BUILD/modem-sim
per_modem_ideal=$((60000 / LATENCY_MS))

sim_pid=""
homing_pid=""
tmp=""
stop_all() {
    if [ -n "$homing_pid" ]; then
        kill -TERM "$homing_pid" 2>/dev/null || true
        wait "$homing_pid" 2>/dev/null || true
        homing_pid=""
    fi
    if [ -n "$sim_pid" ]; then
        kill -TERM "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
        sim_pid=""
    fi
}
cleanup() {
    stop_all
    if [ -n "$tmp" ] && [ "$KEEP" != 1 ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to $3 seconds for the fixed string $2 in file $1.
wait_for() {
    local file=$1 text=$2 secs=$3 i
    for ((i = 0; i < secs * 10; i++)); do
        if [ -f "$file" ] && grep -qF -- "$text" "$file"; then return 0; fi
        sleep 0.1
    done
    echo "bench/modems.sh: no '$text' in $file after ${secs}s" >&2
    return 1
}

# One line to modem-sim's control socket; prints the answer, fails on "error".
ctl() {
    perl -MIO::Socket::UNIX -e '
        my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0])
            or die "control socket $ARGV[0]: $!\n";
        print $s "$ARGV[1]\n";
        my $a = <$s> // ""; print $a; exit($a =~ /^ok/ ? 0 : 1);' "$tmp/ctl" "$*"
}

# Reads the submit log; prints "count distinct seconds overall_rate sum_rate modems"
# where overall_rate = (count - 1) / elapsed minutes between the first and the
# last submit, and sum_rate adds up each modem's own (count_m - 1) / span_m.
analyse() {
    perl -MJSON::PP -MTime::Local=timegm -e '
        my (%texts, %per, $n, $first, $last);
        sub t { my ($y,$mo,$d,$h,$mi,$s,$ms) = $_[0] =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z$/
                    or die "bad time $_[0]\n";
                return timegm($s, $mi, $h, $d, $mo - 1, $y) + $ms / 1000; }
        while (<>) {
            my $j = decode_json($_); my $t = t($j->{time});
            $n++; $texts{$j->{text}}++;
            $first = $t if !defined $first || $t < $first;
            $last = $t if !defined $last || $t > $last;
            my $p = $per{$j->{modem}} //= { n => 0, first => $t, last => $t };
            $p->{n}++; $p->{first} = $t if $t < $p->{first}; $p->{last} = $t if $t > $p->{last};
        }
        $n or die "no submits logged\n";
        my $el = $last - $first;
        my $sum = 0;
        for (values %per) { $sum += ($_->{n} - 1) * 60 / ($_->{last} - $_->{first}) if $_->{n} > 1; }
        my $mods = join ",", map { "$_=$per{$_}{n}" } sort { substr($a,1) <=> substr($b,1) } keys %per;
        printf "%d %d %.1f %.1f %.1f %s\n", $n, scalar(keys %texts), $el,
            $el > 0 ? ($n - 1) * 60 / $el : 0, $sum, $mods;' "$1"
}

run_one() {
    local n=$1 strategy=$2 i
    local m=$((n * per_modem_ideal * MINUTES))
    tmp=$(mktemp -d /tmp/homing-bench.XXXXXX)
    local conf=$tmp/homing.conf sublog=$tmp/submits.jsonl

    local sim_args=() mods="" via=""
    for ((i = 1; i <= n; i++)); do
        sim_args+=(--modem "m$i:$tmp/m$i")
        mods+="  { name = \"m$i\"; port = \"$tmp/m$i\"; sends_per_minute = 60; },"$'\n'
        via+="${via:+, }\"m$i\""
    done
    cat >"$conf" <<EOF
# bench/modems.sh: $n modems, route "+" via all of them ($strategy).
database = "$tmp/homing.db";
log = { level = "info"; };
modems = (
${mods%,$'\n'}
);
routes = ( { match = "+"; via = [ $via ]; strategy = "$strategy"; } );
EOF

    # Queue first: the modems come up to a full queue.
    for ((i = 1; i <= m; i++)); do
        "$HOMING" send -c "$conf" "+35387$(printf '%07d' "$i")" "bench n=$n $strategy msg $i" >/dev/null
    done

    "$SIM" --control "$tmp/ctl" --log "$sublog" "${sim_args[@]}" >"$tmp/sim.out" 2>&1 &
    sim_pid=$!
    wait_for "$tmp/sim.out" "modem-sim ready" 10
    for ((i = 1; i <= n; i++)); do
        ctl "modem m$i latency $LATENCY_MS" >/dev/null
    done

    "$HOMING" run -c "$conf" >"$tmp/homing.log" 2>&1 &
    homing_pid=$!
    for ((i = 1; i <= n; i++)); do
        wait_for "$tmp/homing.log" "modem=m$i ready" 30
    done

    # Wait for M submits (give up at three times the ideal duration plus 30 s).
    local limit=$(( (m * LATENCY_MS / n / 1000) * 3 + 30 )) waited=0 got=0
    while :; do
        got=$( [ -f "$sublog" ] && wc -l <"$sublog" || echo 0 )
        [ "$got" -ge "$m" ] && break
        if [ "$waited" -ge $((limit * 10)) ]; then
            echo "bench/modems.sh: only $got of $m submits after ${limit}s (see $tmp)" >&2
            KEEP=1
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    sleep 3 # a late duplicate would show up here
    stop_all

    local count distinct secs rate sum per
    read -r count distinct secs rate sum per < <(analyse "$sublog")
    local ideal=$((n * per_modem_ideal))
    local check=ok
    if [ "$count" -ne "$m" ] || [ "$distinct" -ne "$m" ]; then
        check="LOST/DUPLICATED (count=$count distinct=$distinct of $m)"
    fi
    printf '| %d | %s | %d | %.1f | %.1f | %d | %.1f%% | %.1f%% | %s |\n' \
        "$n" "$strategy" "$count" "$secs" "$rate" "$ideal" \
        "$(perl -e "print $rate * 100 / $ideal")" "$(perl -e "print $sum * 100 / $ideal")" "$check"
    echo "    per modem: $per" >&2
    if [ "$KEEP" = 1 ]; then echo "    kept: $tmp" >&2; else rm -rf "$tmp"; fi
    tmp=""
}

echo "bench/modems: ${LATENCY_MS} ms send latency, ideal $per_modem_ideal msgs/min per modem, $MINUTES min of traffic per run"
echo
echo "| N | strategy | messages | seconds | msgs/min | ideal | % of ideal | % (per-modem sum) | exactly once |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
for n in "${counts[@]}"; do
    for s in $STRATEGIES; do
        run_one "$n" "$s"
    done
done
