#!/usr/bin/env bash
# Installs what the real node of the local test cluster runs on, from Debian packages only:
#   - containerd, runc, containernetworking-plugins, catatonit, busybox-static: downloaded with
#     `apt-get download` and unpacked with `dpkg -x` into a project-owned folder
#       ${ZRH_CACHE_DIR:-$HOME/.cache/zfs-runner-hooks}/node/<key>/root
#     (nothing of them is installed system-wide, no service is started);
#   - debootstrap, umoci, skopeo (image building, test/images/build.sh): `apt-get install`,
#     because they must be on PATH;
#   - the CSI plugin registrar (test/node/registrar, Go, through the module proxy) into
#     <root>/usr/local/bin/zrh-csi-registrar, rebuilt when its sources change.
# <key> is a hash of this script, so changing the package list re-downloads. A second run only
# checks and takes well under a second. Prints the node root folder as the last line of stdout.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${ZRH_CACHE_DIR:-$HOME/.cache/zfs-runner-hooks}"
KEY="$(sha256sum <"$HERE/install.sh" | cut -c1-16)"
NODE="$CACHE_DIR/node/$KEY"
ROOT="$NODE/root"

UNPACKED=(containerd runc containernetworking-plugins catatonit busybox-static)
ON_PATH=(debootstrap umoci skopeo)

log() { printf '[node-install] %s\n' "$*" >&2; }

missing_on_path() {
  local t
  for t in "${ON_PATH[@]}"; do command -v "$t" >/dev/null || echo "$t"; done
}

REG_SRC="$HERE/registrar"
REG_KEY="$(cat "$REG_SRC/go.mod" "$REG_SRC/go.sum" "$REG_SRC"/*.go | sha256sum | cut -c1-16)"
REG_BIN="$ROOT/usr/local/bin/zrh-csi-registrar"
registrar_built() { [[ -x "$REG_BIN" && "$(cat "$REG_BIN.key" 2>/dev/null)" == "$REG_KEY" ]]; }

if [[ -f "$NODE/.done" && -z "$(missing_on_path)" ]] && registrar_built; then
  echo "$ROOT"
  exit 0
fi

[[ $(id -u) -eq 0 ]] || { log "must run as root (apt-get, and the node needs root anyway)"; exit 1; }
export DEBIAN_FRONTEND=noninteractive

apt_updated=0
apt_update_once() {
  if [[ $apt_updated -eq 0 ]]; then
    log "apt-get update"
    apt-get update -qq >&2
    apt_updated=1
  fi
}

if [[ -n "$(missing_on_path)" ]]; then
  apt_update_once
  log "apt-get install ${ON_PATH[*]}"
  apt-get install -y -qq --no-install-recommends "${ON_PATH[@]}" >&2
fi

if [[ ! -f "$NODE/.done" ]]; then
  apt_update_once
  rm -rf "$NODE"
  mkdir -p "$NODE/debs" "$ROOT"
  log "apt-get download ${UNPACKED[*]}"
  (cd "$NODE/debs" && apt-get download -qq -o APT::Sandbox::User=root "${UNPACKED[@]}" >&2)
  for deb in "$NODE"/debs/*.deb; do
    dpkg -x "$deb" "$ROOT"
    log "unpacked $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
  done
  # Every tool the node scripts use, checked once here so a broken package fails early.
  for t in usr/bin/containerd usr/bin/containerd-shim-runc-v2 usr/bin/ctr usr/sbin/runc \
           usr/lib/cni/bridge usr/lib/cni/host-local usr/lib/cni/loopback \
           usr/bin/catatonit bin/busybox; do
    [[ -x "$ROOT/$t" ]] || { log "expected $t in the unpacked packages"; exit 1; }
  done
  rm -rf "$NODE/debs"
  touch "$NODE/.done"
fi

if ! registrar_built; then
  command -v go >/dev/null || { log "'go' not found: needed to build test/node/registrar"; exit 1; }
  log "building the CSI plugin registrar"
  mkdir -p "${REG_BIN%/*}"
  (cd "$REG_SRC" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" \
    go build -trimpath -ldflags "-s -w" -o "$REG_BIN" .)
  echo "$REG_KEY" >"$REG_BIN.key"
fi

# Old keys (a previous version of this script) are removed.
for d in "$CACHE_DIR"/node/*/; do
  [[ "$d" == "$NODE/" ]] || rm -rf "$d"
done

echo "$ROOT"
