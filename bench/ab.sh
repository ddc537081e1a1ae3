#!/usr/bin/env bash
# Unary Forecast throughput of this checkout against an earlier revision,
# side by side: each server runs with its own build of naive and canalys,
# the two alternate round by round, and every figure is the ratio to the
# health RPC in the same run (the machine's noise cancels, the server's cost
# remains). Use it to show a change is "no worse".
#
#   bench/ab.sh REVISION [ROUNDS] [SECONDS_PER_RUN]
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: bench/ab.sh REVISION [ROUNDS] [SECONDS]}"
rounds="${2:-3}"
seconds="${3:-4}"
port=50078
url="http://127.0.0.1:$port"

work=$(mktemp -d)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/tree" "$rev" >/dev/null
(cd "$work/tree" && CARGO_TARGET_DIR="$work/target" cargo build --release --quiet \
  -p stratus-server -p stratus-naive -p stratus-canalys)
cargo build --release --quiet
mkdir -p "$work/old" "$work/new"
cp "$work"/target/release/libstratus_{naive,canalys}.so "$work/old/"
cp target/release/libstratus_{naive,canalys}.so "$work/new/"
stratus=target/release/stratus

for round in $(seq "$rounds"); do
  for side in old new; do
    if [ "$side" = old ]; then server="$work/target/release/stratus-server"; else server=target/release/stratus-server; fi
    "$server" --plugins "$work/$side" --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1000); do  # at most 10 s
      [ "$("$stratus" --server "$url" health 2>/dev/null)" = "SERVING" ] && break
      sleep 0.01
    done
    for model in naive canalys; do
      ratio=$("$stratus" --server "$url" bench --duration "$seconds" --rpc forecast --model "$model" --compare-health \
        | awk '/^forecast/ {calls=$2} /^ratio/ {print $2 " of health (" calls " calls/s)"}')
      echo "round $round  ${side/old/$rev}  $model  $ratio"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
