#!/usr/bin/env bash
# Issue 12's failure benchmark: a 3-node RingKV cluster (N=3, QUORUM, --sync periodic:1000) on loopback; SET and GET
# throughput and p99 with every node up, then with node2 killed (kill -9: the coordinators keep hints for it), in the
# same run; then node2 restarts and the time for the hints to drain is measured.
# Usage: bench/failures.sh [ringkv executable]; REQUESTS (default 200000), CLIENTS (per node, default 17), PIPELINE (default 16).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$here/artifacts/ringkv/ringkv}
requests=${REQUESTS:-200000}
clients=${CLIENTS:-17}
pipeline=${PIPELINE:-16}
dir=$(mktemp -d /tmp/ringkv-failures-bench.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
start() {
  "$exe" serve --listen 127.0.0.1:$((7601 + $1)) --peer-listen 127.0.0.1:$((17601 + $1)) --seeds 127.0.0.1:17601 \
    --node-id node$1 --data-dir "$dir/node$1" --sync periodic:1000 >> "$dir/node$1.log" 2>&1 &
  pids[$1]=$!
}
normal() { redis-cli -p "$1" KV.RING 2>/dev/null | grep -c '^NORMAL$' || true; }
status_of() { redis-cli -p "$1" KV.RING 2>/dev/null | awk -v id="$2" '$0==id{f=1} f&&prev=="status"{print; exit} {prev=$0}'; }
info() { redis-cli -p "$1" INFO cluster | tr -d '\r' | awk -F: -v k="$2" '$1==k{print $2}'; }
for i in 0 1 2; do start $i; sleep 0.5; done
for _ in $(seq 1 120); do [ "$(normal 7601)" = 3 ] && break; sleep 0.5; done
[ "$(normal 7601)" = 3 ] || { echo "cluster did not form" >&2; exit 1; }

# One redis-benchmark per live node at once (keys spread over 100000), summed; p99 is the worst of them.
run() { # $1 label, $2 test, $3.. ports
  local label=$1 test=$2; shift 2
  local outs=()
  for port in "$@"; do
    redis-benchmark -p "$port" -t "$test" -n "$requests" -c "$clients" -P "$pipeline" -r 100000 -d 100 -q --csv > "$dir/$label.$test.$port.csv" 2>/dev/null &
    outs+=($!)
  done
  wait "${outs[@]}"
  local rps=0 p99=0
  for port in "$@"; do
    local line; line=$(grep -i "\"$test\"" "$dir/$label.$test.$port.csv" | head -1)
    local r; r=$(echo "$line" | cut -d, -f2 | tr -d '"')
    local p; p=$(echo "$line" | cut -d, -f7 | tr -d '"')
    rps=$(echo "$rps + $r" | bc)
    p99=$(echo "if ($p > $p99) $p else $p99" | bc)
  done
  printf '%-22s %-4s %10.0f rps  p99 %6.2f ms\n' "$label" "$test" "$rps" "$p99"
  echo "$rps $p99" > "$dir/$label.$test.result"
}
echo "== all up (3 nodes): clients on every node, then on node0 and node1 only (the peer of the run below)"
run all-up set 7601 7602 7603
run all-up get 7601 7602 7603
run all-up-2 set 7601 7602
run all-up-2 get 7601 7602
echo "== node2 killed (kill -9), clients on node0 and node1"
kill -9 "${pids[2]}"; wait "${pids[2]}" 2>/dev/null || true
for _ in $(seq 1 100); do [ "$(status_of 7601 node2)" = DOWN ] && [ "$(status_of 7602 node2)" = DOWN ] && break; sleep 0.2; done
run one-killed set 7601 7602
run one-killed get 7601 7602
pending=$(( $(info 7601 hints_pending) + $(info 7602 hints_pending) ))
echo "hints pending for node2: $pending"
t0=$(date +%s.%N)
start 2
for _ in $(seq 1 1200); do
  p=$(( $(info 7601 hints_pending) + $(info 7602 hints_pending) ))
  [ "$p" = 0 ] && break
  sleep 0.25
done
t1=$(date +%s.%N)
delivered=$(( $(info 7601 hints_delivered) + $(info 7602 hints_delivered) ))
printf 'node2 restarted: %d hints handed over (%s pending left) in %.1f s from its restart (--hint-rate default 4 MiB/s per node)\n' "$delivered" "$p" "$(echo "$t1 - $t0" | bc)"
for test in set get; do
  read -r up_rps up_p99 < "$dir/all-up.$test.result"
  read -r up2_rps up2_p99 < "$dir/all-up-2.$test.result"
  read -r k_rps k_p99 < "$dir/one-killed.$test.result"
  printf 'ratio %s one-killed / all-up (same two client sets): %.3f throughput, p99 %.2f -> %.2f ms\n' "$test" "$(echo "$k_rps / $up2_rps" | bc -l)" "$up2_p99" "$k_p99"
done
