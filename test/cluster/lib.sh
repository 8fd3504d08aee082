# Shared settings and helpers of up.sh / down.sh (sourced, not executed).
# Everything listens on 127.0.0.1; every port derives from ZRH_CLUSTER_PORT_BASE so that a second
# cluster (another ZRH_CLUSTER_DIR and port base) can run next to the first one.

ZRH_CLUSTER_DIR="${ZRH_CLUSTER_DIR:-/tmp/zrh-cluster}"
ZRH_CLUSTER_PORT_BASE="${ZRH_CLUSTER_PORT_BASE:-16400}"
ZRH_NODE_MODE="${ZRH_NODE_MODE:-kwok}"        # kwok | real (kwok nodes plus one real node: test/node/)
ZRH_KWOK_NODES="${ZRH_KWOK_NODES:-3}"          # fake nodes kwok-node-0..N-1
# Node id the host-path driver reports; in real mode the real node's name (see test/node/lib.sh),
# so that the kubelet's CSINode entry and the driver agree.
if [[ "$ZRH_NODE_MODE" == real ]]; then ZRH_CSI_NODE_ID="${ZRH_CSI_NODE_ID:-127.0.0.1}"; fi
ZRH_CSI_NODE_ID="${ZRH_CSI_NODE_ID:-zrh-node}"

DIR="$ZRH_CLUSTER_DIR"
APISERVER_PORT=$((ZRH_CLUSTER_PORT_BASE + 43))   # 16443
ETCD_CLIENT_PORT=$((ZRH_CLUSTER_PORT_BASE + 79)) # 16479
ETCD_PEER_PORT=$((ZRH_CLUSTER_PORT_BASE + 80))   # 16480
KCM_PORT=$((ZRH_CLUSTER_PORT_BASE + 57))         # 16457
SCHEDULER_PORT=$((ZRH_CLUSTER_PORT_BASE + 59))   # 16459
KWOK_PORT=$((ZRH_CLUSTER_PORT_BASE + 47))        # 16447 (kwok's kubelet-like server)
# Service ClusterIPs are virtual: nothing routes them (no kube-proxy), but the API needs a range.
SERVICE_CIDR="${ZRH_SERVICE_CIDR:-10.96.0.0/16}"

CSI_DRIVER=hostpath.csi.k8s.io
CSI_SOCKET="$DIR/csi/csi.sock"

# Start order; down stops in reverse.
ZRH_PROCS=(etcd kube-apiserver kube-controller-manager kube-scheduler csi-hostpath csi-provisioner
  snapshot-controller csi-snapshotter kwok)

zlog() { printf '[cluster %5.1fs] %s\n' "$(zelapsed)" "$*" >&2; }
zelapsed() { awk -v s="${ZRH_T0:-0}" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - s }'; }
ZRH_T0="${ZRH_T0:-$(date +%s.%N)}"

# pid_of <name>: prints the PID from the pidfile if that process is alive and is ours (its command
# line mentions the state dir), so a PID reused by another program is never touched.
pid_of() {
  local f="$DIR/run/$1.pid" pid
  [[ -s "$f" ]] || return 1
  pid="$(cat "$f")"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$DIR/" || return 1
  echo "$pid"
}

# running <pid>: the process exists and is not a zombie (exited, waiting to be reaped).
running() {
  local state
  state="$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# stop_proc <name>: TERM, wait up to 10 s, then KILL; removes the pidfile.
stop_proc() {
  local name="$1" pid i
  if pid="$(pid_of "$name")"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      zlog "$name (pid $pid) still running 10 s after TERM, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 50; i++)); do running "$pid" || break; sleep 0.1; done
    fi
  fi
  rm -f "$DIR/run/$name.pid"
}

stop_all() {
  local i
  [[ -d "$DIR/run" ]] || return 0
  for ((i = ${#ZRH_PROCS[@]} - 1; i >= 0; i--)); do stop_proc "${ZRH_PROCS[i]}"; done
  # anything else with a pidfile (e.g. processes of a later node mode)
  local f
  for f in "$DIR"/run/*.pid; do [[ -e "$f" ]] && stop_proc "$(basename "$f" .pid)"; done
  return 0
}

# unmount_all: unmounts everything mounted at or below the state dir, deepest first.
unmount_all() {
  local m
  [[ -d "$DIR" ]] || return 0
  while IFS= read -r m; do
    [[ -n "$m" ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || zlog "could not unmount $m"
  done < <(mounts_under "$DIR" | sort -r)
}

# mounts_under <dir>: mount points at or below <dir> (from /proc/self/mountinfo, octal-unescaped).
mounts_under() {
  local d
  d="$(realpath -m "$1")"
  awk '{ print $5 }' /proc/self/mountinfo | while IFS= read -r m; do
    m="$(printf '%b' "${m//\\/\\0}")"
    [[ "$m" == "$d" || "$m" == "$d"/* ]] && echo "$m"
  done
  return 0
}

kubectl_admin() { "$BIN/kubectl" --kubeconfig "$DIR/admin.kubeconfig" "$@"; }
