#!/usr/bin/env bash
# Builds the local test images (no registry, no Docker) as OCI archives, from the definitions in
# test/images/defs/*.sh (see README.md), with Debian's umoci and skopeo:
#   ${ZRH_CACHE_DIR:-$HOME/.cache/zfs-runner-hooks}/images/<name>-<key>.tar
# <key> hashes the definition, this script and the base image's key, so only changed images are
# rebuilt and a second run takes about a second. Prints one line per image to stdout:
#   <tag> <archive>
# which test/node/up.sh imports into containerd (namespace k8s.io).
# Usage: build.sh [name...]   (default: every definition)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_DIR="${ZRH_CACHE_DIR:-$HOME/.cache/zfs-runner-hooks}"
OUT="$CACHE_DIR/images"
# Unpacked Debian packages (busybox-static, catatonit) from test/node/install.sh.
NODE_ROOT="$(bash "$HERE/../node/install.sh")"
export NODE_ROOT
mkdir -p "$OUT"

log() { printf '[images] %s\n' "$*" >&2; }

# The Debian mirror apt uses on this machine (override with ZRH_DEBIAN_MIRROR).
debian_mirror() {
  if [[ -n "${ZRH_DEBIAN_MIRROR:-}" ]]; then echo "$ZRH_DEBIAN_MIRROR"; return; fi
  local m
  m="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')"
  [[ -n "$m" ]] || m="$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) { print $i; exit } }')"
  [[ -n "$m" ]] || { log "no Debian mirror found in /etc/apt; set ZRH_DEBIAN_MIRROR"; return 1; }
  echo "$m"
}
export -f debian_mirror log

declare -A KEYS=()

# def_var <name> <var>: a variable of a definition (sourced in a subshell).
def_var() { ( source "$HERE/defs/$1.sh"; eval "echo \"\${$2:-}\"" ); }

image_key() { # image_key <name>
  local name="$1" base
  if [[ -z "${KEYS[$name]:-}" ]]; then
    [[ -f "$HERE/defs/$name.sh" ]] || { log "no definition defs/$name.sh"; exit 1; }
    base="$(def_var "$name" IMAGE_BASE)"
    KEYS[$name]="$( { cat "$HERE/defs/$name.sh" "$HERE/build.sh"; [[ -z "$base" ]] || image_key "$base"; } | sha256sum | cut -c1-16)"
  fi
  echo "${KEYS[$name]}"
}

build_image() { # build_image <name>
  local name="$1" key tag base layout work t0=$SECONDS
  key="$(image_key "$name")"
  layout="$OUT/$name-$key"
  tag="$(def_var "$name" IMAGE_TAG)"
  [[ -n "$tag" && "$tag" != *:latest && "$tag" == *:* ]] || { log "$name: IMAGE_TAG must be name:tag, not latest"; exit 1; }
  if [[ -f "$layout.tar" ]]; then echo "$tag $layout.tar"; return; fi

  base="$(def_var "$name" IMAGE_BASE)"
  work="$(mktemp -d "$OUT/.work-$name-XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  mkdir -p "$work/layer"
  if [[ -n "$base" ]]; then
    build_image "$base" >/dev/null
    cp -a "$OUT/$base-$(image_key "$base")" "$work/oci"
    # The definition can read the base image's files (e.g. /etc/passwd) from $BASE_ROOTFS.
    umoci raw unpack --image "$work/oci:image" "$work/base" >&2
  else
    umoci init --layout "$work/oci" >&2
    umoci new --image "$work/oci:image" >&2
  fi
  log "$name: building $tag"
  (
    set -euo pipefail
    source "$HERE/defs/$name.sh"
    BASE_ROOTFS="$work/base" image_layer "$work/layer"
  ) >&2
  umoci insert --image "$work/oci:image" --history.created_by "test/images/defs/$name.sh" \
    "$work/layer" / >&2
  local args=() v
  v="$(def_var "$name" IMAGE_ENTRYPOINT)"; [[ -z "$v" ]] || for a in $v; do args+=(--config.entrypoint "$a"); done
  v="$(def_var "$name" IMAGE_CMD)"; [[ -z "$v" ]] || for a in $v; do args+=(--config.cmd "$a"); done
  v="$(def_var "$name" IMAGE_USER)"; [[ -z "$v" ]] || args+=(--config.user "$v")
  v="$(def_var "$name" IMAGE_WORKDIR)"; [[ -z "$v" ]] || args+=(--config.workingdir "$v")
  v="$(def_var "$name" IMAGE_ENV)"; [[ -z "$v" ]] || for a in $v; do args+=(--config.env "$a"); done
  umoci config --image "$work/oci:image" --author zfs-runner-hooks \
    --config.label "org.opencontainers.image.ref.name=$tag" "${args[@]}" >&2
  umoci gc --layout "$work/oci" >&2
  rm -f "$layout.tar.tmp"
  skopeo copy --quiet "oci:$work/oci:image" "oci-archive:$layout.tar.tmp:$tag" >&2
  rm -rf "$layout"; mv "$work/oci" "$layout"
  mv "$layout.tar.tmp" "$layout.tar"
  log "$name: $tag built in $((SECONDS - t0))s ($(du -h "$layout.tar" | cut -f1))"
  echo "$tag $layout.tar"
}

if [[ $# -gt 0 ]]; then names=("$@"); else
  names=(); for f in "$HERE"/defs/*.sh; do n="${f##*/}"; names+=("${n%.sh}"); done
fi
keep=()
for n in "${names[@]}"; do
  build_image "$n"
  keep+=("$n-$(image_key "$n")")
done

# Outdated builds of these images are removed (other names are left alone).
if [[ $# -eq 0 ]]; then
  for p in "$OUT"/*-????????????????; do
    [[ -e "$p" ]] || continue
    b="${p##*/}"; [[ " ${keep[*]} " == *" $b "* ]] || { rm -rf "$p" "$p.tar"; log "removed old build $b"; }
  done
fi
