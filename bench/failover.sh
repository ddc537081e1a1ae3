#!/usr/bin/env bash
# Failover under load, as BENCHMARKS.md records it: three release replicas of
# the bundled models on loopback, one `stratus bench` client over all three
# (unary Forecast of naive, 8 callers, 10 s). First a run with nothing
# killed, then the same run in which replica 1 is killed with SIGKILL at 3 s
# and replica 2 drained with SIGTERM at 6 s. Prints both reports: calls,
# errors, p99, calls per replica and retries.
#
#   bench/failover.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
cargo build --release --quiet
stratus=target/release/stratus
pids=()

start_replicas() {
  pids=()
  urls=""
  for port in 50091 50092 50093; do
    target/release/stratus-server --plugins target/release --listen "127.0.0.1:$port" \
      --drain-timeout 5 >/dev/null 2>&1 &
    pids+=($!)
    urls="${urls:+$urls,}http://127.0.0.1:$port"
    for _ in $(seq 1000); do
      [ "$("$stratus" --server "http://127.0.0.1:$port" health 2>/dev/null)" = "SERVING" ] && break
      sleep 0.01
    done
  done
}

stop_replicas() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_replicas EXIT

bench() {
  "$stratus" --server "$urls" bench --rpc forecast --model naive --concurrency 8 \
    --duration "$seconds"
}

echo "== no failure: three replicas, $seconds s"
start_replicas
bench
stop_replicas

echo
echo "== replica 1 killed (SIGKILL) at 3 s, replica 2 drained (SIGTERM) at 6 s"
start_replicas
( sleep 3; kill -KILL "${pids[0]}"; sleep 3; kill -TERM "${pids[1]}" ) &
killer=$!
bench
wait "$killer"
