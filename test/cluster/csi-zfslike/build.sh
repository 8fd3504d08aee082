#!/usr/bin/env bash
# Builds the ZFS-LocalPV look-alike CSI driver (this folder, own go.mod) into <bin-dir>/csi-zfslike
# when its sources changed (hash in <bin-dir>/.csi-zfslike.src). Called by test/cluster/up.sh, so
# that adding it does not change build.sh's cache key (which would relink every upstream binary).
#   bash test/cluster/csi-zfslike/build.sh <bin-dir>
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:?usage: build.sh <bin-dir>}"
[[ -d "$BIN" ]] || { echo "csi-zfslike/build.sh: $BIN is not a folder" >&2; exit 1; }

src_hash="$(cd "$HERE" && cat go.mod go.sum ./*.go build.sh | sha256sum | cut -c1-16)"
if [[ -x "$BIN/csi-zfslike" && "$(cat "$BIN/.csi-zfslike.src" 2>/dev/null)" == "$src_hash" ]]; then
  exit 0
fi
command -v go >/dev/null || { echo "csi-zfslike/build.sh: 'go' not found" >&2; exit 1; }
echo "[csi-zfslike] compiling into $BIN" >&2
tmp="$BIN/.csi-zfslike.tmp.$$"
# A running driver keeps its old binary: write a new file and rename it over the old one.
(cd "$HERE" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
  go build -trimpath -ldflags "-s -w" -o "$tmp" .) || { rm -f "$tmp"; exit 1; }
mv -f "$tmp" "$BIN/csi-zfslike"
echo "$src_hash" >"$BIN/.csi-zfslike.src"
