#!/usr/bin/env bash
# Before/after on one machine: for each ringkv executable given, a fresh node (--sync periodic:1000) measured by
# ../shared/bench/peers.sh beside Redis and Garnet in the same run. Usage: bench/peers-ab.sh OLD_RINGKV NEW_RINGKV
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
for exe in "$@"; do
  dir=$(mktemp -d /tmp/ringkv-peers-ab.XXXX); port=$((7900 + RANDOM % 50))
  "$exe" serve --data-dir "$dir" --listen 127.0.0.1:$port --sync periodic:1000 > "$dir.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do redis-cli -p $port ping > /dev/null 2>&1 && break; sleep 0.1; done
  echo "=== $exe ($("$exe" --version 2>&1 | head -1))"
  bash "$here/../shared/bench/peers.sh" --requests 500000 --repeat 3 --ringkv 127.0.0.1:$port
  kill $pid; wait $pid 2>/dev/null; rm -rf "$dir" "$dir.log"
done
