#!/usr/bin/env bash
# Builds every binary of the local test cluster from pinned versions (test/cluster/versions.env)
# through the Go module proxy, and caches them outside the repository:
#   ${ZRH_CACHE_DIR:-$HOME/.cache/zfs-runner-hooks}/bin/<key>/
# where <key> is a hash of versions.env and this script. Only missing binaries are built, so a
# second run takes seconds. Prints the binary directory as the last line of stdout.
#
# Each upstream project gets its own generated wrapper module (under the cache's build/ dir), which
# mirrors the upstream go.mod's replace directives (local "./staging/..." style replaces become
# replaces by the published module at the pinned version).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HERE/versions.env"

CACHE_DIR="${ZRH_CACHE_DIR:-$HOME/.cache/zfs-runner-hooks}"
KEY="$(cat "$HERE/versions.env" "$HERE/build.sh" | sha256sum | cut -c1-16)"
BIN="$CACHE_DIR/bin/$KEY"
WORK="$CACHE_DIR/build/$KEY"
mkdir -p "$BIN" "$WORK"

export CGO_ENABLED=0
export GOFLAGS="-mod=mod -buildvcs=false"
export GOTOOLCHAIN=local
T0=$(date +%s)

log() { printf '[build %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }

command -v go >/dev/null || { echo "build.sh: 'go' not found (need Go >= $GO_MIN_VERSION)" >&2; exit 1; }

# missing <bin>... -> prints the binaries not yet in $BIN
missing() { local b; for b in "$@"; do [[ -x "$BIN/$b" ]] || echo "$b"; done; }

# gomod_path <module@version> -> path of that version's go.mod in the module cache
gomod_path() {
  go mod download -json "$1" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p'
}

# mirror_replaces <upstream go.mod> <version for local replaces>
# Prints replace directives for the wrapper: "X => ./local/dir" becomes "X => X <version>",
# "X => Y vN" is copied, placeholders like ./FORBIDDEN_DEPENDENCY are dropped.
mirror_replaces() {
  awk -v localver="$2" '
    /^replace[ \t]*\($/ { inblock = 1; next }
    inblock && /^\)/ { inblock = 0; next }
    /^replace[ \t]/ || inblock {
      line = $0; sub(/^replace[ \t]+/, "", line); sub(/\/\/.*/, "", line)
      n = split(line, f, /[ \t]+/)
      # fields: [""] old [oldver] => new [newver]
      j = 0; for (i = 1; i <= n; i++) if (f[i] != "") g[++j] = f[i]
      arrow = 0; for (i = 1; i <= j; i++) if (g[i] == "=>") arrow = i
      if (!arrow) next
      old = g[1]; new = g[arrow + 1]; newver = (arrow + 2 <= j) ? g[arrow + 2] : ""
      if (new ~ /FORBIDDEN/) next
      if (new ~ /^\.\.?\//) print "replace " old " => " old " " localver
      else print "replace " old " => " new " " newver
    }' "$1"
}

# build_group <name> <wrapper-dir> <ldflags> <pkg>... ; the wrapper's go.mod must exist.
# Runs "go get $GET" (package@pinned-version, fills go.sum), then one "go build" for all packages.
build_group() {
  local name="$1" dir="$2" ldflags="$3"; shift 3
  local start; start=$(date +%s)
  log "$name: resolving modules"
  (cd "$dir" && go get $GET >"$dir/get.log" 2>&1) || { cat "$dir/get.log" >&2; log "$name: go get failed"; return 1; }
  log "$name: compiling $(printf '%s ' "${@##*/}")(progress: number of packages compiled)"
  if ! (cd "$dir" && go build -v -trimpath -ldflags "-s -w $ldflags" -o "$BIN/" "$@" 2>&1) | progress "$name"; then
    log "$name: go build failed"; return 1
  fi
  log "$name: done in $(( $(date +%s) - start ))s"
}

# progress <name>: counts the package names "go build -v" prints, shows every 200th; passes
# anything else (compiler messages) through to stderr.
progress() {
  local n=0 line
  while IFS= read -r line; do
    case "$line" in
      *" "*|*:*) echo "$line" >&2 ;;
      *) n=$((n + 1)); if (( n % 200 == 0 )); then log "$1: $n packages ($line)"; fi ;;
    esac
  done
  return 0
}

new_wrapper() { # new_wrapper <dir> <module name>
  rm -rf "$1"; mkdir -p "$1"
  printf 'module %s\n\ngo %s\n\ngodebug default=go1.26\n\n' "$2" "$GO_MIN_VERSION" >"$1/go.mod"
}

# ---------------------------------------------------------------------------------------------
# etcd
if [[ -n "$(missing etcd)" ]]; then
  d="$WORK/etcd"; new_wrapper "$d" zrh.local/etcd
  mkdir -p "$d/cmd/etcd"
  cat >"$d/cmd/etcd/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  { echo "require go.etcd.io/etcd/server/v3 $ETCD_VERSION"
    mirror_replaces "$(gomod_path "go.etcd.io/etcd/server/v3@$ETCD_VERSION")" "$ETCD_VERSION"; } >>"$d/go.mod"
  GET="go.etcd.io/etcd/server/v3/etcdmain@$ETCD_VERSION"
  build_group etcd "$d" "" ./cmd/etcd
fi

# ---------------------------------------------------------------------------------------------
# Kubernetes (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kubectl)
K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
if [[ -n "$(missing "${K8S_BINS[@]}")" ]]; then
  d="$WORK/kubernetes"; new_wrapper "$d" zrh.local/kubernetes
  { echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    mirror_replaces "$(gomod_path "k8s.io/kubernetes@$KUBERNETES_VERSION")" "$KUBERNETES_STAGING_VERSION"; } >>"$d/go.mod"
  v="${KUBERNETES_VERSION#v}"; major="${v%%.*}"; minor="${v#*.}"; minor="${minor%%.*}"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  ld=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=$date -X $p.gitCommit=0000000000000000000000000000000000000000"
  done
  pkgs=(); GET=""
  for b in "${K8S_BINS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); GET+=" k8s.io/kubernetes/cmd/$b@$KUBERNETES_VERSION"; done
  build_group kubernetes "$d" "$ld" "${pkgs[@]}"
fi

# ---------------------------------------------------------------------------------------------
# external-snapshotter: snapshot-controller, csi-snapshotter, and the VolumeSnapshot CRDs
if [[ -n "$(missing snapshot-controller csi-snapshotter)" || ! -s "$BIN/crd/volumesnapshots.yaml" ]]; then
  m=github.com/kubernetes-csi/external-snapshotter/v8
  d="$WORK/external-snapshotter"; new_wrapper "$d" zrh.local/external-snapshotter
  { echo "require $m $EXTERNAL_SNAPSHOTTER_VERSION"
    # The only local replace is client/v8 => ./client: the published client module of that version.
    mirror_replaces "$(gomod_path "$m@$EXTERNAL_SNAPSHOTTER_VERSION")" "$EXTERNAL_SNAPSHOTTER_CLIENT_VERSION"; } >>"$d/go.mod"
  if [[ -n "$(missing snapshot-controller csi-snapshotter)" ]]; then
    GET="$m/cmd/snapshot-controller@$EXTERNAL_SNAPSHOTTER_VERSION $m/cmd/csi-snapshotter@$EXTERNAL_SNAPSHOTTER_VERSION"
    build_group external-snapshotter "$d" "-X main.version=$EXTERNAL_SNAPSHOTTER_VERSION" \
      "$m/cmd/snapshot-controller" "$m/cmd/csi-snapshotter"
  fi
  cdir="$(go mod download -json "github.com/kubernetes-csi/external-snapshotter/client/v8@$EXTERNAL_SNAPSHOTTER_CLIENT_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  crd="$cdir/config/crd"
  [[ -d "$crd" ]] || crd="$(go mod download -json "$m@$EXTERNAL_SNAPSHOTTER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/client/config/crd"
  mkdir -p "$BIN/crd"
  tmp="$BIN/crd/.tmp.yaml"; : >"$tmp"
  # The group snapshot CRDs too: without them snapshot-controller waits 30 s at start-up before
  # disabling that (GA, default-on) feature.
  for f in snapshot.storage.k8s.io_volumesnapshotclasses.yaml snapshot.storage.k8s.io_volumesnapshotcontents.yaml \
    snapshot.storage.k8s.io_volumesnapshots.yaml groupsnapshot.storage.k8s.io_volumegroupsnapshotclasses.yaml \
    groupsnapshot.storage.k8s.io_volumegroupsnapshotcontents.yaml groupsnapshot.storage.k8s.io_volumegroupsnapshots.yaml; do
    [[ -s "$crd/$f" ]] || { log "CRD file $crd/$f not found"; exit 1; }
    { echo "---"; cat "$crd/$f"; } >>"$tmp"
  done
  mv "$tmp" "$BIN/crd/volumesnapshots.yaml"
  log "VolumeSnapshot CRDs copied from $crd"
fi

# ---------------------------------------------------------------------------------------------
# external-provisioner: csi-provisioner
if [[ -n "$(missing csi-provisioner)" ]]; then
  m=github.com/kubernetes-csi/external-provisioner/v6
  d="$WORK/external-provisioner"; new_wrapper "$d" zrh.local/external-provisioner
  { echo "require $m $EXTERNAL_PROVISIONER_VERSION"
    mirror_replaces "$(gomod_path "$m@$EXTERNAL_PROVISIONER_VERSION")" "$EXTERNAL_PROVISIONER_VERSION"; } >>"$d/go.mod"
  GET="$m/cmd/csi-provisioner@$EXTERNAL_PROVISIONER_VERSION"
  build_group external-provisioner "$d" "-X main.version=$EXTERNAL_PROVISIONER_VERSION" "$m/cmd/csi-provisioner"
fi

# ---------------------------------------------------------------------------------------------
# kwok
if [[ -n "$(missing kwok)" ]]; then
  d="$WORK/kwok"; new_wrapper "$d" zrh.local/kwok
  { echo "require sigs.k8s.io/kwok $KWOK_VERSION"
    mirror_replaces "$(gomod_path "sigs.k8s.io/kwok@$KWOK_VERSION")" "$KWOK_VERSION"; } >>"$d/go.mod"
  GET="sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  build_group kwok "$d" "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok
fi
# The kwok binary needs its stages as configuration: the same defaults kwokctl uses (node
# initialize + heartbeat, pod ready/complete/delete), from the pinned kwok module.
if [[ ! -s "$BIN/kwok-stages.yaml" ]]; then
  kdir="$(go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/kustomize/stage"
  tmp="$BIN/.kwok-stages.tmp"; : >"$tmp"
  for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml pod/fast/pod-ready.yaml \
    pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -s "$kdir/$f" ]] || { log "kwok stage $kdir/$f not found"; exit 1; }
    { echo "---"; cat "$kdir/$f"; } >>"$tmp"
  done
  mv "$tmp" "$BIN/kwok-stages.yaml"
  log "kwok stages copied from $kdir"
fi

# ---------------------------------------------------------------------------------------------
# The project's own host-path CSI driver (sources in test/cluster/csi-hostpath, own go.mod).
hp_src_hash="$(cd "$HERE/csi-hostpath" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)"
if [[ ! -x "$BIN/csi-hostpath" || "$(cat "$BIN/.csi-hostpath.src" 2>/dev/null)" != "$hp_src_hash" ]]; then
  log "csi-hostpath: compiling"
  (cd "$HERE/csi-hostpath" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "$BIN/csi-hostpath" .)
  echo "$hp_src_hash" >"$BIN/.csi-hostpath.src"
fi

log "all binaries present in $BIN"
echo "$BIN"
