#!/usr/bin/env bash
# RPC benchmarks of a release build, side by side in one run: start a server
# with the bundled models, time its readiness, drive each RPC with
# `stratus bench` (health floor first, then the RPC), cross-check with h2load
# when it is installed (Debian: nghttp2-client), and report the server's peak
# resident memory. Figures go to stdout; BENCHMARKS.md holds the latest.
#
#   bench/rpc.sh [SECONDS_PER_RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-5}"
port=50077
url="http://127.0.0.1:$port"

cargo build --release --quiet
cargo build --release --quiet -p stratus-server --example bare_tonic
stratus=target/release/stratus

log=$(mktemp)
started=$(date +%s%N)
target/release/stratus-server --plugins target/release --listen "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$log"' EXIT
until [ "$("$stratus" --server "$url" health 2>/dev/null)" = "SERVING" ]; do sleep 0.005; done
echo "ready (health SERVING) $(( ($(date +%s%N) - started) / 1000000 )) ms after start"

bench() { "$stratus" --server "$url" bench --duration "$seconds" --server-pid "$server" "$@"; echo; }
for model in naive canalys mckinsey; do
  bench --rpc forecast --model "$model" --compare-health
done
bench --rpc risk --model bubble --compare-health
for model in naive canalys; do
  bench --rpc forecast-stream --model "$model" --concurrency 4
done

if command -v h2load >/dev/null; then
  body=$(mktemp -d)
  h2() {  # label, body, path: 4 connections x 16 streams, like stratus bench's 64 callers
    h2load -D "$seconds" -c 4 -m 16 -t 1 -H 'content-type: application/grpc' -H 'te: trailers' \
      -d "$body/$2.bin" "$url$3" | awk -v n="$1" '/^finished/ {print "h2load " n ": " $4 " req/s"} /^status codes/ {print "  " $0}'
  }
  "$stratus" --server "$url" bench --rpc health --write-body "$body/health.bin" >/dev/null
  for model in naive canalys; do
    "$stratus" --server "$url" bench --rpc forecast --model "$model" --write-body "$body/$model.bin" >/dev/null
  done
  h2 health health /grpc.health.v1.Health/Check
  h2 "Forecast naive" naive /stratus.v1.ForecastService/Forecast
  h2 "Forecast canalys" canalys /stratus.v1.ForecastService/Forecast
  # The same load on bare tonic: health, and a Forecast that only clones a
  # prepared response of the naive answer's size (server/examples/bare_tonic.rs).
  target/release/examples/bare_tonic "127.0.0.1:$((port + 1))" >/dev/null &
  bare=$!
  sleep 0.5
  url="http://127.0.0.1:$((port + 1))"
  h2 "bare tonic health" health /grpc.health.v1.Health/Check
  h2 "bare tonic Forecast (prepared answer)" naive /stratus.v1.ForecastService/Forecast
  kill $bare
  url="http://127.0.0.1:$port"
  rm -r "$body"
else
  echo "h2load not installed (apt-get install nghttp2-client): no independent cross-check"
fi

grep -E 'VmHWM|VmRSS' "/proc/$server/status" | sed 's/^/server /'
# h2load counts HTTP statuses only; gRPC errors travel in trailers, and the
# server logs every refused or failed call, so count those.
echo "calls the server refused or failed during the run: $(grep -cE 'rpc (refused|failed)' "$log" || true)"
