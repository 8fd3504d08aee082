#!/usr/bin/env bash
# Runs the hook and cache benchmarks one after the other against the bench cluster (ZRH_BENCH_CLUSTER_DIR,
# default /tmp/zrh-bench; ZRH_BENCH_PORT_BASE, default 22400) and prints a summary table.
# Builds the hook bundle first. The cluster stays up between benchmarks and is stopped at the end
# unless ZRH_CLUSTER_KEEP=1. Figures come from this one run; nothing is asserted.
#
#   bash bench/run-all.sh
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
cd "$ROOT"
export ZRH_BENCH_CLUSTER_DIR="${ZRH_BENCH_CLUSTER_DIR:-/tmp/zrh-bench}"
export ZRH_BENCH_PORT_BASE="${ZRH_BENCH_PORT_BASE:-22400}"
keep="${ZRH_CLUSTER_KEEP:-}"
results="$(mktemp /tmp/zrh-bench-results.XXXXXX)"
export ZRH_BENCH_RESULTS="$results"

pnpm --filter @zfs-runner-hooks/k8s-hook build >/dev/null || { echo "run-all: building the hook failed" >&2; exit 1; }

failed=()
# kwok mode first (cold start, concurrency), then the real node (steps, cache overhead).
for bench in hook-cold-start hook-concurrency hook-steps zfs-clone-gc-planner zfs-clone-prepare-overhead; do
  if ! ZRH_CLUSTER_KEEP=1 timeout 1800 pnpm exec tsx --conditions=source "bench/$bench.ts"; then
    failed+=("$bench")
  fi
done

if [[ -z "$keep" || "$keep" == 0 ]]; then
  ZRH_CLUSTER_DIR="$ZRH_BENCH_CLUSTER_DIR" ZRH_CLUSTER_PORT_BASE="$ZRH_BENCH_PORT_BASE" bash test/cluster/down.sh >/dev/null 2>&1
fi

echo
echo "== Summary ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end)"
node -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const rows = [["benchmark", "figure", "value", "target", ""], ...lines.map((f) => [f.bench, f.figure, f.value, f.target, f.ok === null ? "" : f.ok ? "ok" : "MISSED"])];
const width = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(width[i])).join("  ").trimEnd());
' "$results"
rm -f "$results"
if ((${#failed[@]})); then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
