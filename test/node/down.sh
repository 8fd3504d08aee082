#!/usr/bin/env bash
# Stops the real node started by test/node/up.sh and removes what it created, also after a crash:
# the kubelet (by PID), every container and pod sandbox in containerd's k8s.io namespace, then
# containerd and any shim still serving its socket (by PID), any process left in the node's
# cgroups, mounts below $ZRH_CLUSTER_DIR/node (volumes, network namespaces, overlay snapshots),
# the pods' bridge, the node's cgroups, the kubelet's log symlinks in /var/log/containers, and
# puts back the sysctls the kubelet changed. The control plane is left alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../cluster/lib.sh
source "$HERE/../cluster/lib.sh"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

NODE_ROOT="$(cat "$NODE_DIR/node-root" 2>/dev/null || true)"

# pids_mentioning <text>: processes whose command line contains <text> (our state dir paths).
pids_mentioning() {
  grep -lsaF -f <(printf '%s\n' "$1") /proc/[0-9]*/cmdline 2>/dev/null | awk -F/ -v self=$$ '$3 != self { print $3 }'
  return 0
}

# cgroup_pids: processes in the node's cgroups (every hierarchy).
cgroup_pids() {
  local h
  while read -r h; do
    [[ -d "$h/$NODE_CGROUP" ]] && find "$h/$NODE_CGROUP" -name cgroup.procs -exec cat {} + 2>/dev/null
  done < <(cgroup_hierarchies)
  return 0
}

stop_proc csi-registrar
stop_proc kubelet

# Containers and sandboxes, while containerd still runs.
if [[ -n "$NODE_ROOT" ]] && pid_of containerd >/dev/null && ctr_node version >/dev/null 2>&1; then
  n=0
  for id in $(ctr_node containers ls -q 2>/dev/null); do
    ctr_node tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
    ctr_node tasks delete --force "$id" >/dev/null 2>&1 || true
    ctr_node containers delete "$id" >/dev/null 2>&1 || true
    n=$((n + 1))
  done
  (( n == 0 )) || zlog "node: removed $n containers"
fi
stop_proc containerd

# Shims of a containerd that died, then whatever still runs in the node's cgroups.
for pid in $(pids_mentioning "$CONTAINERD_SOCK"); do
  zlog "node: stopping leftover shim (pid $pid)"
  kill -KILL "$pid" 2>/dev/null || true
done
for ((i = 0; i < 50; i++)); do
  pids="$(cgroup_pids | sort -u)"
  [[ -n "$pids" ]] || break
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null || true
  sleep 0.1
done

# Mounts (CSI bind mounts, projected volumes, overlay rootfs, network namespaces).
if [[ -d "$NODE_DIR" ]]; then
  while IFS= read -r m; do
    [[ -n "$m" ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || zlog "node: could not unmount $m"
  done < <(mounts_under "$NODE_DIR" | sort -r)
fi

# The pods' bridge (veths go away with their network namespaces).
if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
  ip link delete "$NODE_BRIDGE" && zlog "node: removed bridge $NODE_BRIDGE"
fi

# Cgroups, deepest first (a cgroup whose last process is still exiting is busy for a moment).
for ((i = 0; i < 50; i++)); do
  left=0
  while read -r h; do
    [[ -d "$h/$NODE_CGROUP" ]] || continue
    find "$h/$NODE_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null || left=1
  done < <(cgroup_hierarchies)
  (( left == 0 )) && break
  sleep 0.1
done
(( left == 0 )) || zlog "node: could not remove every cgroup named $NODE_CGROUP: $(cgroup_pids | wc -l) processes left"

# The kubelet's symlinks to our container logs.
if [[ -d /var/log/containers ]]; then
  for l in /var/log/containers/*; do
    [[ -L "$l" && "$(readlink "$l")" == "$DIR"/* ]] && rm -f "$l"
  done
  if [[ -f "$DIR/node-created-var-log-containers" ]]; then
    rmdir /var/log/containers 2>/dev/null || true
  fi
fi
rm -f "$DIR/node-created-var-log-containers"

# Sysctls, as they were before the first kubelet start.
if [[ -s "$DIR/node-sysctls.saved" ]]; then
  while IFS= read -r kv; do sysctl -q -w "$kv" >/dev/null 2>&1 || zlog "node: could not restore $kv"; done <"$DIR/node-sysctls.saved"
  rm -f "$DIR/node-sysctls.saved"
fi

if [[ -d "$NODE_DIR" ]]; then
  if [[ -n "$(mounts_under "$NODE_DIR")" ]]; then
    zlog "node: still mounted below $NODE_DIR, not removing it:"; mounts_under "$NODE_DIR" >&2
    exit 1
  fi
  rm -rf --one-file-system "$NODE_DIR"
  zlog "node: stopped and removed"
fi
