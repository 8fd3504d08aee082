#!/usr/bin/env bash
# Runs every check: type-check, unit tests, and the integration suites against a local
# Kubernetes cluster (control plane, kwok nodes and one real node) that this script builds
# (cached) and that the integration suites start and stop themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "==> type-check"
pnpm run typecheck

echo "==> format and lint (Biome)"
pnpm run lint

echo "==> driver tests of the ZFS-LocalPV look-alike storage (Go)"
(cd test/cluster/csi-zfslike && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" go test -count=1 ./...)

echo "==> unit and integration tests"
results="$(mktemp -d)/vitest.json"
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
if [ -f "$results" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  ' "$results"
fi
exit "$status"
