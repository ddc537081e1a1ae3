#!/usr/bin/env bash
# Bulk forecasting speed: `stratus forecast --input many.csv --output out.csv`
# (reading the CSV, checking every series, ForecastStream, writing the
# forecasts) against `stratus bench --rpc forecast-stream` (the same RPC
# driven flat out with one series resent, answers counted and dropped), on
# the same series: annual, 20 points, horizon 6, the naive model, a release
# server on loopback. Prints both rates in series per second and their ratio.
#
#   bench/bulk.sh                  # 100,000 series, 3 rounds of each
#   N=20000 ROUNDS=5 bench/bulk.sh
#   SKIP_BUILD=1 bench/bulk.sh     # binaries already built
#
# The bulk rate is measured from process start to exit, so it includes
# reading and checking the CSV file and writing the output; 100,000 series
# (about 1 s) keep the fixed costs (start-up, connecting, the first and
# last streams) small beside the run.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}

if [[ -z ${SKIP_BUILD:-} ]]; then
    cargo build --release --quiet -p stratus-server -p stratus-client -p stratus-naive
fi
stratus=target/release/stratus

work=$(mktemp -d)
server=
cleanup() {
    if [[ -n $server ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/plugins"
cp target/release/libstratus_naive.so "$work/plugins/"
target/release/stratus-server --listen 127.0.0.1:0 --plugins "$work/plugins" \
    >"$work/server.out" 2>"$work/server.log" &
server=$!
address=
for _ in $(seq 1 100); do
    address=$(sed -n 's/^stratus-server listening on //p' "$work/server.out")
    [[ -n $address ]] && break
    sleep 0.1
done
if [[ -z $address ]]; then
    echo "the server did not start; its log:" >&2
    cat "$work/server.log" >&2
    exit 1
fi
url="http://$address"

# The series `stratus bench` sends (client/src/bin/stratus/load.rs): 2000..2019,
# 10 × 1.12^i with a ±3% wiggle; here under N different ids.
awk -v n="$N" 'BEGIN {
    print "series_id,period,value"
    for (s = 0; s < n; s++)
        for (i = 0; i < 20; i++)
            printf "s%06d,%d,%.17g\n", s, 2000 + i, 10 * 1.12 ^ i * (1 + 0.03 * ((i * 7 % 5) - 2) / 2)
}' >"$work/many.csv"

# Interleaved rounds, medians reported: on a 2-core machine one round is
# easily disturbed by anything else running.
bulk_rates=()
bench_rates=()
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round: stratus forecast --input ($N series of 20 points, horizon 6)"
    start=$(date +%s.%N)
    "$stratus" --server "$url" forecast --model naive --horizon 6 \
        --input "$work/many.csv" --output "$work/out.csv" --errors "$work/errors.csv"
    end=$(date +%s.%N)
    rows=$(($(wc -l <"$work/out.csv") - 1))
    if [[ $rows -ne $((N * 6)) ]]; then
        echo "expected $((N * 6)) forecast rows, got $rows" >&2
        exit 1
    fi
    rate=$(awk -v n="$N" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }')
    echo "bulk: $N series in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }') s, process start to exit: $rate series/s"
    bulk_rates+=("$rate")

    echo "== round $round: stratus bench --rpc forecast-stream (same series, $DURATION s)"
    report=$("$stratus" --server "$url" bench --rpc forecast-stream --model naive --points 20 --duration "$DURATION")
    echo "$report"
    rate=$(awk '/^forecaststream/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "items/s") { print $i; exit } }' <<<"$report")
    bench_rates+=("$rate")
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bulk=$(median "${bulk_rates[@]}")
stream=$(median "${bench_rates[@]}")
echo "== result (median of $ROUNDS rounds)"
echo "bulk CLI:        $bulk series/s   (rounds: ${bulk_rates[*]})"
echo "bench (stream):  $stream series/s   (rounds: ${bench_rates[*]})"
awk -v a="$bulk" -v b="$stream" 'BEGIN { printf "ratio: %.1f%% of the bench rate (target: 80%% or more)\n", 100 * a / b }'
