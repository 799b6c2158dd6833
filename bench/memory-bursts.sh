#!/usr/bin/env bash
# Memory bursts against the published node (issue 15): RSS before, peak and after 30 s idle for one 100 MB
# MSET, one 300 MB MSET sent twice, and 500 pipelined GETs of a 1 MiB value from a client that never reads,
# each on a fresh node with --memory-mb 512 (by default). Prints CSV on stdout (see bench/memory-bursts.py).
#   bash bench/memory-bursts.sh [--binary PATH] [--memory-mb N] [--idle-s S] [--scenario NAME]... [--serve-arg ARG]...
# Without --binary it publishes src/RingKV.Cli to artifacts/ringkv first (when artifacts/ringkv/ringkv is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ " $* " != *" --binary "* && ! -x artifacts/ringkv/ringkv ]]; then
  echo "memory-bursts: publishing src/RingKV.Cli to artifacts/ringkv" >&2
  dotnet publish src/RingKV.Cli -c Release -o artifacts/ringkv >&2
fi
exec python3 bench/memory-bursts.py "$@"
