#!/usr/bin/env bash
# The chaos test of issue 12 for as long as you like: real nodes on loopback under a write-once workload while a seeded
# schedule kills -9, SIGSTOPs and cuts nodes; then heal, a repair pass on every node and the checks. It runs the same
# test CI runs (tests/RingKV.System.Tests, ChaosTests) with RINGKV_CHAOS_* set, and prints the same figures:
# operations (ok/fail/unknown), faults by kind, acknowledged writes lost, stale reads, time to converge.
#   bash bench/chaos.sh [--minutes M] [--seed S] [--nodes 5] [--clients 4] [--output DIR] [--sloppy] [--pipeline P] [--skip-repair]
# Exits non-zero when a check fails; the seed is printed (RINGKV_SEED=...) and replays the faults and client choices.
# The history (CSV), final reads and every node's log are kept in DIR (default artifacts/chaos/<time>). --sloppy runs
# the nodes without --strict-quorum (hinted handoff at work): stale reads are then counted, not failed. --pipeline P:
# each client sends P operations at once on one connection (1 by default).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=5
output=
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes=$2; shift 2 ;;
    --seed) export RINGKV_SEED=$2; shift 2 ;;
    --nodes) export RINGKV_CHAOS_NODES=$2; shift 2 ;;
    --clients) export RINGKV_CHAOS_CLIENTS=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --pipeline) export RINGKV_CHAOS_PIPELINE=$2; shift 2 ;;
    --sloppy) export RINGKV_CHAOS_QUORUM=sloppy; shift ;;
    --skip-repair) export RINGKV_CHAOS_SKIP_REPAIR=1; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
export RINGKV_CHAOS_MINUTES=$minutes
export RINGKV_CHAOS_OUTPUT=$(realpath -m "${output:-artifacts/chaos/$(date -u +%Y%m%dT%H%M%SZ)}")
unset RINGKV_CHAOS_SECONDS
dotnet build tests/RingKV.System.Tests -c Release 2>&1 | tail -3
cd tests/RingKV.System.Tests
exec dotnet bin/Release/net10.0/RingKV.System.Tests.dll -class RingKV.System.Tests.ChaosTests -noColor
