#!/usr/bin/env bash
# Issue 13's join benchmark: 3 RingKV nodes (N=3, QUORUM, --sync periodic:1000) on loopback hold KEYS keys of 100-byte
# values; a 4th node joins and streams its ranges while a latency probe (GETs and SETs, one at a time on 4
# connections) runs. Reported in the same run: join seconds, record bytes streamed against the ideal (the data set
# times N/(n+1)), streaming MB/s against a plain copy of as many bytes of the sources' table files on the same disk
# (dd with fsync), and the probe's p50/p99 during the join against a window of the same length without one.
# Usage: bench/join.sh [ringkv executable]; KEYS (default 1000000), STREAM_RATE (bytes/s, default 0: unthrottled).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$here/artifacts/ringkv/ringkv}
keys=${KEYS:-1000000}
rate=${STREAM_RATE:-0}
dir=$(mktemp -d /tmp/ringkv-join-bench.XXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
start() {
  "$exe" serve --listen 127.0.0.1:$((7701 + $1)) --peer-listen 127.0.0.1:$((17701 + $1)) --seeds 127.0.0.1:17701 \
    --node-id node$1 --data-dir "$dir/node$1" --sync periodic:1000 --stream-rate "$rate" >> "$dir/node$1.log" 2>&1 &
  pids[$1]=$!
}
normal() { redis-cli -p "$1" KV.RING 2>/dev/null | grep -c '^NORMAL$' || true; }
info() { redis-cli -p "$1" INFO streaming | tr -d '\r' | awk -F: -v k="$2" '$1==k{print $2}'; }
for i in 0 1 2; do start $i; sleep 0.5; done
for _ in $(seq 1 240); do [ "$(normal 7701)" = 3 ] && break; sleep 0.5; done
[ "$(normal 7701)" = 3 ] || { echo "cluster did not form" >&2; exit 1; }

echo "loading $keys keys of 100 bytes at QUORUM ..."
python3 - "$keys" 7701 <<'EOF'
import socket, sys
n, port = int(sys.argv[1]), int(sys.argv[2])
value = b"v" * 100
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
batch = 1000
for start in range(0, n, batch):
    out = bytearray()
    for i in range(start, min(n, start + batch)):
        k = b"key:%08d" % i
        out += b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(k), k, value)
    s.sendall(out)
    for i in range(start, min(n, start + batch)):
        line = f.readline()
        if not line.startswith(b"+OK"):
            sys.exit("SET failed: %r" % line)
EOF
sync

# The probe: GET and SET of random loaded keys, one request at a time per connection, latencies in microseconds;
# runs $1 seconds at most, or until the file $3 exists.
probe() { # $1 seconds, $2 output file, $3 stop file
  python3 - "$1" "$2" "$keys" "$3" <<'EOF'
import socket, sys, time, random, threading, os
secs, out, n, stop = float(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
lat = []; lock = threading.Lock(); failed = [0]
def run(port, seed):
    s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb"); mine = []
    end = time.time() + secs; rnd = random.Random(seed); i = 0
    while time.time() < end and not (i % 64 == 0 and os.path.exists(stop)):
        i += 1
        k = b"key:%08d" % rnd.randrange(n)
        if rnd.random() < 0.5:
            cmd = b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k)
        else:
            cmd = b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(k), k, b"w" * 100)
        t = time.perf_counter(); s.sendall(cmd); line = f.readline()
        if line.startswith(b"$") and not line.startswith(b"$-1"): f.readline()
        if line.startswith(b"-"): failed[0] += 1
        mine.append((time.perf_counter() - t) * 1e6)
    with lock: lat.extend(mine)
ts = [threading.Thread(target=run, args=(p, i)) for i, p in enumerate((7701, 7702, 7703, 7701))]
[t.start() for t in ts]; [t.join() for t in ts]
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0
open(out, "w").write("%d %.0f %.0f %d\n" % (len(lat), q(0.50), q(0.99), failed[0]))
EOF
}

window=${WINDOW:-20}
echo "probe without a join, ${window} s ..."
probe "$window" "$dir/probe.idle" "$dir/never"
echo "joining node3 under the probe ..."
probe 3600 "$dir/probe.join" "$dir/stop" & probe_pid=$!
sleep 1
t0=$(date +%s.%N)
start 3
first=""; last=""; seen=0
for _ in $(seq 1 36000); do
  got=$(info 7704 streaming_keys_received 2>/dev/null || true); got=${got:-0}
  if [ "$got" -gt "$seen" ]; then now=$(date +%s.%N); [ -z "$first" ] && first=$now; last=$now; seen=$got; fi
  [ "$(normal 7701)" = 4 ] && [ "$(info 7704 streaming_change)" = none ] && break
  sleep 0.1
done
t1=$(date +%s.%N)
touch "$dir/stop"; wait "$probe_pid" || true
[ "$(normal 7701)" = 4 ] || { echo "node3 did not join" >&2; tail -20 "$dir/node3.log" >&2; exit 1; }
join_s=$(echo "$t1 - $t0" | bc -l)
bytes=$(info 7704 streaming_bytes_received)
recs=$(info 7704 streaming_keys_received)

# The plain copy of as many bytes of the sources' table files, on the same disk, synced.
src="$dir/copy.src"; dst="$dir/copy.dst"
find "$dir/node0" -name '*.sst' -print0 | xargs -0 cat | head -c "$bytes" > "$src"; sync
c0=$(date +%s.%N); dd if="$src" of="$dst" bs=1M conv=fsync status=none; c1=$(date +%s.%N)
copy_s=$(echo "$c1 - $c0" | bc -l)
copied=$(stat -c %s "$dst")

ideal=$(echo "$keys * 3 / 4" | bc -l)
read -r n_idle p50_idle p99_idle f_idle < "$dir/probe.idle"
read -r n_join p50_join p99_join f_join < "$dir/probe.join"
printf 'join of the 4th node: %.1f s, %s records (%.3f of the ideal %s = keys x N/(n+1)), %s bytes\n' "$join_s" "$recs" "$(echo "$recs / $ideal" | bc -l)" "$(printf '%.0f' "$ideal")" "$bytes"
stream_s=$(echo "$last - $first" | bc -l)
printf 'streaming (first to last page seen, polled every 0.1 s): %.1f s, %.1f MB/s\n' "$stream_s" "$(echo "$bytes / $stream_s / 1000000" | bc -l)"
printf 'whole join %.1f MB/s; plain copy (dd, fsync) of %s bytes: %.3f s, %.1f MB/s; streaming ÷ copy %.3f\n' \
  "$(echo "$bytes / $join_s / 1000000" | bc -l)" "$copied" "$copy_s" "$(echo "$copied / $copy_s / 1000000" | bc -l)" \
  "$(echo "($bytes / $stream_s) / ($copied / $copy_s)" | bc -l)"
printf 'probe (GET/SET one at a time, 4 connections): without a join (%s s) p50 %s us p99 %s us (%s requests, %s failed); during the join p50 %s us p99 %s us (%s requests, %s failed); p99 ratio %.2f\n' \
  "$window" "$p50_idle" "$p99_idle" "$n_idle" "$f_idle" "$p50_join" "$p99_join" "$n_join" "$f_join" "$(echo "$p99_join / $p99_idle" | bc -l)"
