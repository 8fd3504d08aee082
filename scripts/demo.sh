#!/usr/bin/env bash
# Runs one full job (prepare_job, steps, a container step, cleanup_job) through the runner
# simulator against the local cluster, printing what the hook did.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
exec pnpm exec tsx --conditions=source test/simulator/demo.ts "$@"
