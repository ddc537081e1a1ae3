#!/usr/bin/env bash
# Process isolation's cost, side by side: the same release build serving the
# bundled models in process and then isolated (each library in a plugin host
# process), alternating round by round; unary Forecast as calls/s and as a
# ratio to the health RPC in the same run, and ForecastStream as series/s.
#
#   bench/isolation.sh [ROUNDS] [SECONDS_PER_RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
seconds="${2:-4}"
port=50079
url="http://127.0.0.1:$port"
cargo build --release --quiet
stratus=target/release/stratus

for round in $(seq "$rounds"); do
  for isolation in in-process process; do
    target/release/stratus-server --plugins target/release --isolation "$isolation" \
      --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1000); do
      [ "$("$stratus" --server "$url" health 2>/dev/null)" = "SERVING" ] && break
      sleep 0.01
    done
    for model in naive canalys; do
      "$stratus" --server "$url" bench --duration "$seconds" --rpc forecast --model "$model" --compare-health \
        | awk -v r="$round" -v i="$isolation" -v m="$model" \
          '/^forecast/ {c=$2} /^ratio/ {printf "round %s  %-10s  %-7s unary   %6d calls/s  %s of health\n", r, i, m, c, $2}'
      "$stratus" --server "$url" bench --duration "$seconds" --rpc forecast-stream --model "$model" --concurrency 4 \
        | awk -v r="$round" -v i="$isolation" -v m="$model" \
          '/^forecast/ {printf "round %s  %-10s  %-7s stream  %6d series/s\n", r, i, m, $4}'
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
