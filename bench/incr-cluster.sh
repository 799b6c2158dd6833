#!/usr/bin/env bash
# Issue 14's cluster INCR benchmark: starts a 3-node RingKV cluster on loopback (N = 3, QUORUM reads and writes, the
# defaults; --sync periodic:1000 as the single-node runs), and runs bench/incr.sh against node 0 (every INCR a read at
# QUORUM, then the increment applied at node 0's replica and sent to the other two) beside Redis, then stops the nodes.
# Usage: bench/incr-cluster.sh [ringkv executable] [-- incr.sh arguments, e.g. --requests 300000 --repeat 3]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exe=$here/artifacts/ringkv/ringkv
if [ $# -gt 0 ] && [ "$1" != "--" ]; then exe=$1; shift; fi
if [ "${1:-}" = "--" ]; then shift; fi
dir=$(mktemp -d /tmp/ringkv-incr-cluster.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for i in 0 1 2; do
  "$exe" serve --listen 127.0.0.1:$((7601 + i)) --peer-listen 127.0.0.1:$((17601 + i)) --seeds 127.0.0.1:17601 \
    --node-id node$i --data-dir "$dir/node$i" --sync periodic:1000 > "$dir/node$i.log" 2>&1 &
  pids+=($!)
  sleep 0.5
done
for _ in $(seq 1 120); do
  n=$(redis-cli -p 7601 KV.RING 2>/dev/null | grep -c '^NORMAL$' || true)
  [ "$n" = 3 ] && break
  sleep 0.5
done
[ "$n" = 3 ] || { echo "cluster did not form: $(tail -n 3 "$dir"/node*.log)" >&2; exit 1; }
bash "$here/bench/incr.sh" --ringkv 127.0.0.1:7601 "$@"
