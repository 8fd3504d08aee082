#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh machine: pnpm, the workspace's
# packages, and (cached by version) the local cluster's binaries and node runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=12.4.2
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "==> installing pnpm $PNPM_VERSION"
  npm install --global --silent "pnpm@$PNPM_VERSION"
fi

echo "==> installing workspace packages"
pnpm install --frozen-lockfile --reporter=append-only | tail -n 3

echo "==> building packages"
pnpm -r run build

if [ "${ZRH_SKIP_CLUSTER_BUILD:-}" != 1 ]; then
  echo "==> building the local cluster (cached by version)"
  bash test/cluster/build.sh
  echo "==> installing the real node's runtime from Debian packages (cached)"
  bash test/node/install.sh >/dev/null
  echo "==> building the test images (cached)"
  bash test/images/build.sh >/dev/null
fi
