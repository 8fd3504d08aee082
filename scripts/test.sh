#!/usr/bin/env bash
# Runs every check: type-check, unit tests, and the integration suites against a local
# Kubernetes cluster that this script builds (cached) and starts (and stops) itself.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "==> type-check"
pnpm run typecheck

echo "==> unit and integration tests"
pnpm exec vitest run "$@"
