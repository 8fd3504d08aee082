#!/usr/bin/env bash
# Stops every process up.sh started (by PID from its pidfiles: TERM, then KILL after 10 s),
# unmounts anything below the state dir and removes the state dir ($ZRH_CLUSTER_DIR).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

if [[ ! -d "$DIR" ]]; then
  zlog "nothing to do: $DIR does not exist"
  exit 0
fi
# A real node (ZRH_NODE_MODE=real) has its own teardown: containers, shims, cgroups, bridge, sysctls.
if [[ -d "$DIR/node" && -f "$HERE/../node/down.sh" ]]; then bash "$HERE/../node/down.sh" || true; fi
stop_all
unmount_all
if [[ -n "$(mounts_under "$DIR")" ]]; then
  zlog "still mounted below $DIR, not removing it:"; mounts_under "$DIR" >&2
  exit 1
fi
rm -rf --one-file-system "$DIR"
zlog "cluster in $DIR stopped and removed"
