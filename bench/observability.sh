#!/usr/bin/env bash
# What metrics and traces cost, side by side: the same release server with
# both off, then with --metrics-listen and --otlp-endpoint (exported to a
# local OTLP sink that drops them, Prometheus scraped every second) at each
# trace sample ratio given, alternating round by round. Unary Forecast of
# naive, as calls/s and as a ratio to the health RPC in the same run.
#
#   bench/observability.sh [ROUNDS] [SECONDS_PER_RUN] [RATIO...]   (ratios: default 0.01 1)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
seconds="${2:-5}"
shift 2 2>/dev/null || shift $#
ratios=("${@:-}")
[ -z "${ratios[0]}" ] && ratios=(0.01 1)
port=50081
url="http://127.0.0.1:$port"
cargo build --release --quiet
cargo build --release --quiet -p stratus-e2e --bin otlp-sink
stratus=target/release/stratus

target/release/otlp-sink 127.0.0.1:4399 >/tmp/otlp-sink.out &
sink=$!
trap 'kill $sink 2>/dev/null || true' EXIT

for round in $(seq "$rounds"); do
  for mode in off "${ratios[@]}"; do
    extra=()
    if [ "$mode" != off ]; then
      extra=(--metrics-listen 127.0.0.1:9481 --otlp-endpoint http://127.0.0.1:4399
        --trace-sample-ratio "$mode")
    fi
    target/release/stratus-server --plugins target/release --listen "127.0.0.1:$port" \
      "${extra[@]}" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1000); do
      [ "$("$stratus" --server "$url" health 2>/dev/null)" = "SERVING" ] && break
      sleep 0.01
    done
    scraper=""
    if [ "$mode" != off ]; then
      ( while sleep 1; do curl -s http://127.0.0.1:9481/metrics >/dev/null || true; done ) &
      scraper=$!
    fi
    "$stratus" --server "$url" bench --duration "$seconds" --rpc forecast --model naive --compare-health \
      | awk -v r="$round" -v m="$mode" \
        '/^forecast/ {c=$2} /^ratio/ {printf "round %s  metrics+traces %-4s  naive unary %7d calls/s  %s of health\n", r, m, c, $2}'
    [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
tail -1 /tmp/otlp-sink.out
