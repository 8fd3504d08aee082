#!/usr/bin/env bash
# Starts the ZFS-LocalPV look-alike storage next to a running test cluster ($ZRH_CLUSTER_DIR), and
# only what is not running yet (idempotent; up.sh calls it on every start):
#   - the driver csi-zfslike (CSI driver zfs.csi.openebs.io, socket $DIR/csi/zfslike.sock, state in
#     $DIR/csi-zfslike/, state.json there) with its own csi-provisioner and csi-snapshotter;
#   - CSIDriver zfs.csi.openebs.io, StorageClass zfs-like (allowedTopologies openebs.io/nodeid =
#     the CSI node id) and VolumeSnapshotClass zfs-like-snapclass (the default of its driver; the
#     StorageClass is not a default);
#   - with the real node up: a registrar that registers the driver with its kubelet, which then
#     labels the node openebs.io/nodeid=<node id> (as zfs-localpv's node agent does).
# Processes get pidfiles in run/ and logs in logs/ like the others, so down.sh stops them.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node_id_given="${ZRH_CSI_NODE_ID:-}"
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"
# With the real node up, the node id is its name (as for csi-hostpath in ZRH_NODE_MODE=real), also
# when this script runs on its own without ZRH_NODE_MODE.
if [[ -z "$node_id_given" && -s "$DIR/node/node-root" ]]; then ZRH_CSI_NODE_ID=127.0.0.1; fi

[[ -s "$DIR/bin-dir" && -s "$DIR/admin.kubeconfig" ]] || { zlog "zfs-like: no cluster in $DIR"; exit 1; }
BIN="$(cat "$DIR/bin-dir")"
ZFSLIKE_DRIVER=zfs.csi.openebs.io
ZFSLIKE_SOCKET="$DIR/csi/zfslike.sock"
ZFSLIKE_STATE="$DIR/csi-zfslike"
ZFSLIKE_REG_SOCK="$DIR/node/kubelet/plugins_registry/$ZFSLIKE_DRIVER-reg.sock"
CSI_KC="$DIR/kubeconfig/csi-controllers.kubeconfig"

bash "$HERE/build.sh" "$BIN"

# start <name> <executable> <args...>: own session, logs/<name>.log, run/<name>.pid
start() {
  local name="$1" exe="$2"; shift 2
  setsid "$exe" "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/run/$name.pid"
}
wait_for() { # wait_for <what> <timeout s> <command...>
  local what="$1" deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || { zlog "zfs-like: timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}

mkdir -p "$DIR/csi" "$DIR/run" "$DIR/logs" "$DIR/manifests" "$ZFSLIKE_STATE"

if [[ ! -f "$ZFSLIKE_STATE/.objects-2" ]]; then
  cat >"$DIR/manifests/zfs-like.yaml" <<YAML
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: $ZFSLIKE_DRIVER
spec:
  attachRequired: false
  podInfoOnMount: false
  fsGroupPolicy: File
  volumeLifecycleModes: [Persistent]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: zfs-like
provisioner: $ZFSLIKE_DRIVER
parameters:
  poolname: zfspv-pool
  fstype: zfs
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: false
allowedTopologies:
- matchLabelExpressions:
  - key: openebs.io/nodeid
    values: ["$ZRH_CSI_NODE_ID"]
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: zfs-like-snapclass
  annotations:
    # The default for its driver (csi-hostpath-snapclass stays the default of csi-hostpath), as
    # ZFS-LocalPV installations usually have one: a VolumeSnapshot without a class gets it.
    snapshot.storage.kubernetes.io/is-default-class: "true"
driver: $ZFSLIKE_DRIVER
deletionPolicy: Delete
YAML
  kubectl_admin apply -f "$DIR/manifests/zfs-like.yaml" >/dev/null
  touch "$ZFSLIKE_STATE/.objects-2"
  zlog "zfs-like: CSIDriver $ZFSLIKE_DRIVER, StorageClass zfs-like, VolumeSnapshotClass zfs-like-snapclass installed"
fi

if ! pid_of csi-zfslike >/dev/null; then
  # The sidecars exit once their driver's connection is lost: start them afresh with it.
  stop_proc csi-provisioner-zfslike
  stop_proc csi-snapshotter-zfslike
  rm -f "$ZFSLIKE_SOCKET"
  start csi-zfslike "$BIN/csi-zfslike" --endpoint "unix://$ZFSLIKE_SOCKET" --drivername "$ZFSLIKE_DRIVER" \
    --nodeid "$ZRH_CSI_NODE_ID" --state-dir "$ZFSLIKE_STATE"
  wait_for "the zfs-like CSI socket (see $DIR/logs/csi-zfslike.log)" 20 test -S "$ZFSLIKE_SOCKET"
  zlog "zfs-like: driver started (node $ZRH_CSI_NODE_ID)"
fi
if ! pid_of csi-provisioner-zfslike >/dev/null; then
  start csi-provisioner-zfslike "$BIN/csi-provisioner" --csi-address "$ZFSLIKE_SOCKET" --kubeconfig "$CSI_KC" \
    --leader-election=false --extra-create-metadata --timeout 30s
fi
if ! pid_of csi-snapshotter-zfslike >/dev/null; then
  start csi-snapshotter-zfslike "$BIN/csi-snapshotter" --csi-address "$ZFSLIKE_SOCKET" --kubeconfig "$CSI_KC" \
    --leader-election=false --extra-create-metadata --timeout 30s
fi

# The real node (test/node/up.sh): register the driver's node service with its kubelet.
NODE_ROOT="$(cat "$DIR/node/node-root" 2>/dev/null || true)"
if [[ -n "$NODE_ROOT" ]] && pid_of kubelet >/dev/null; then
  if ! pid_of csi-registrar-zfslike >/dev/null || [[ ! -S "$ZFSLIKE_REG_SOCK" ]]; then
    stop_proc csi-registrar-zfslike
    start csi-registrar-zfslike "$NODE_ROOT/usr/local/bin/zrh-csi-registrar" --driver-name "$ZFSLIKE_DRIVER" \
      --csi-address "$ZFSLIKE_SOCKET" --registration-socket "$ZFSLIKE_REG_SOCK"
  fi
  node_labelled() {
    [[ "$(kubectl_admin get node "$ZRH_CSI_NODE_ID" -o jsonpath='{.metadata.labels.openebs\.io/nodeid}')" == "$ZRH_CSI_NODE_ID" ]]
  }
  wait_for "node $ZRH_CSI_NODE_ID to carry openebs.io/nodeid (see $DIR/logs/csi-registrar-zfslike.log)" 60 node_labelled
  zlog "zfs-like: registered with the kubelet of node $ZRH_CSI_NODE_ID"
fi
