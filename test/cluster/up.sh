#!/usr/bin/env bash
# Starts the local test cluster (see README.md): etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, the VolumeSnapshot CRDs + snapshot-controller, the host-path CSI driver with
# csi-provisioner and csi-snapshotter, the ZFS-LocalPV look-alike driver (csi-zfslike/start.sh) with
# its own, and kwok fake nodes. Everything on 127.0.0.1; state, logs and
# pidfiles in $ZRH_CLUSTER_DIR (default /tmp/zrh-cluster).
#
# Idempotent: a healthy cluster is left alone; leftovers of a crashed run (processes from our own
# pidfiles, mounts under the state dir) are cleaned first. Returns once the API is healthy and a
# VolumeSnapshot of a provisioned volume is readyToUse. Writes $ZRH_CLUSTER_DIR/admin.kubeconfig.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

# Node modes: kwok = only fake nodes (scheduling-only tests); real = additionally one real node
# (containerd + kubelet on 127.0.0.1) started by test/node/up.sh, with the kwok nodes tainted so
# that ordinary pods land on the real node.
NODE_UP="$HERE/../node/up.sh"
NODE_DOWN="$HERE/../node/down.sh"
case "$ZRH_NODE_MODE" in
  kwok) ;;
  real) [[ -f "$NODE_UP" ]] || { echo "up.sh: ZRH_NODE_MODE=real needs $NODE_UP" >&2; exit 2; } ;;
  *) echo "up.sh: ZRH_NODE_MODE must be kwok or real, got '$ZRH_NODE_MODE'" >&2; exit 2 ;;
esac
start_real_node() { [[ "$ZRH_NODE_MODE" != real ]] || bash "$NODE_UP"; }

BIN="${ZRH_BIN_DIR:-}"
if [[ -z "$BIN" ]]; then
  BIN="$(bash "$HERE/build.sh" | tail -n 1)"
fi
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok csi-hostpath \
  csi-provisioner snapshot-controller csi-snapshotter kwok-stages.yaml crd/volumesnapshots.yaml; do
  [[ -e "$BIN/$b" ]] || { echo "up.sh: $BIN/$b missing (run test/cluster/build.sh)" >&2; exit 1; }
done

healthy() {
  [[ -f "$DIR/ready" ]] || return 1
  local p
  for p in "${ZRH_PROCS[@]}"; do pid_of "$p" >/dev/null || return 1; done
  curl -sf --max-time 3 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" --key "$DIR/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null
}

# The ZFS-LocalPV look-alike storage (StorageClass zfs-like) beside csi-hostpath; after the real
# node, whose kubelet it registers with. Starts only what is not running.
start_zfs_like() { bash "$HERE/csi-zfslike/start.sh"; }

if healthy; then
  zlog "cluster in $DIR is already up and healthy (https://127.0.0.1:$APISERVER_PORT)"
  start_real_node
  start_zfs_like
  echo "$DIR/admin.kubeconfig"
  exit 0
fi

# ---- clean up whatever a previous (crashed) run left ----
if [[ -d "$DIR" ]]; then
  zlog "cleaning up previous state in $DIR"
  if [[ -d "$DIR/node" && -f "$NODE_DOWN" ]]; then bash "$NODE_DOWN" || true; fi
  stop_all
  unmount_all
  rm -rf --one-file-system "$DIR"
fi
# Fail fast (instead of talking to someone else's server) when a port is taken.
for port in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" "$SCHEDULER_PORT" "$KWOK_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "up.sh: 127.0.0.1:$port is already in use; choose another ZRH_CLUSTER_PORT_BASE (now $ZRH_CLUSTER_PORT_BASE)" >&2
    exit 1
  fi
done
mkdir -p "$DIR"/{run,logs,pki,kubeconfig,manifests,csi,csi-hostpath}
echo "$BIN" >"$DIR/bin-dir"

on_error() {
  local rc=$?
  zlog "up failed (exit $rc); logs are in $DIR/logs/ — last lines of each:"
  local f
  for f in "$DIR"/logs/*.log; do [[ -e "$f" ]] && { echo "== $f" >&2; tail -n 5 "$f" >&2; }; done
  exit "$rc"
}
trap on_error ERR

# ---- PKI: one CA, a serving cert for the API, client certs per component ----
PKI="$DIR/pki"
ossl() { openssl "$@" 2>>"$DIR/logs/openssl.log"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -subj "/CN=zrh-test-cluster-ca" >/dev/null
# cert <name> <subject> <extensions>
cert() {
  ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$1.key" \
    -out "$PKI/$1.csr" -subj "$2" >/dev/null
  printf '%s\n' "$3" >"$PKI/$1.ext"
  ossl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 30 \
    -out "$PKI/$1.crt" -extfile "$PKI/$1.ext" >/dev/null
  rm -f "$PKI/$1.csr"
}
CLIENT_EXT=$'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth'
cert apiserver "/CN=kube-apiserver" $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local'
cert admin "/O=system:masters/CN=zrh-admin" "$CLIENT_EXT"
cert kube-controller-manager "/CN=system:kube-controller-manager" "$CLIENT_EXT"
cert kube-scheduler "/CN=system:kube-scheduler" "$CLIENT_EXT"
cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$CLIENT_EXT"
# The CSI controllers and kwok are test infrastructure: they get cluster-admin rights.
cert csi-controllers "/O=system:masters/CN=zrh-csi-controllers" "$CLIENT_EXT"
cert kwok "/O=system:masters/CN=zrh-kwok" "$CLIENT_EXT"
ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key"
ossl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
chmod 600 "$PKI"/*.key

# kubeconfig <file> <cert name>
kubeconfig() {
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: zrh
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: zrh
  context: {cluster: zrh, user: $2}
current-context: zrh
EOF
}
for c in admin kube-controller-manager kube-scheduler csi-controllers kwok; do
  kubeconfig "$DIR/kubeconfig/$c.kubeconfig" "$c"
done
cp "$DIR/kubeconfig/admin.kubeconfig" "$DIR/admin.kubeconfig"
zlog "certificates and kubeconfigs written"

# start <name> <binary> <args...>: runs in its own session, logs to logs/<name>.log.
start() {
  local name="$1" bin="$2"; shift 2
  setsid "$BIN/$bin" "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/run/$name.pid"
}

# wait_for <what> <timeout s> <command...>
wait_for() {
  local what="$1" timeout="$2" deadline; shift 2
  deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then
      zlog "timed out after ${timeout}s waiting for $what"
      return 1
    fi
    sleep 0.2
  done
}

# ---- control plane ----
start etcd etcd --name zrh --data-dir "$DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "zrh=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
  --unsafe-no-fsync --log-level warn
wait_for etcd 30 curl -sf "http://127.0.0.1:$ETCD_CLIENT_PORT/health"
zlog "etcd ready on 127.0.0.1:$ETCD_CLIENT_PORT"

start kube-apiserver kube-apiserver \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
  --cert-dir "$DIR/pki/apiserver" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --endpoint-reconciler-type none \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --allow-privileged=true --profiling=false
readyz() {
  curl -sf --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz"
}
wait_for kube-apiserver 90 readyz
zlog "kube-apiserver ready on https://127.0.0.1:$APISERVER_PORT"

start kube-controller-manager kube-controller-manager \
  --kubeconfig "$DIR/kubeconfig/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig "$DIR/kubeconfig/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig "$DIR/kubeconfig/kube-controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$DIR/pki/kcm" \
  --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --controllers '*' --concurrent-gc-syncs 5 --pvclaimbinder-sync-period 2s \
  --node-monitor-grace-period 2m
start kube-scheduler kube-scheduler \
  --kubeconfig "$DIR/kubeconfig/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig "$DIR/kubeconfig/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig "$DIR/kubeconfig/kube-scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --cert-dir "$DIR/pki/scheduler" \
  --leader-elect=false

# ---- snapshot CRDs and cluster objects ----
kubectl_admin apply -f "$BIN/crd/volumesnapshots.yaml" >/dev/null
kubectl_admin wait --for condition=established --timeout=60s \
  crd/volumesnapshots.snapshot.storage.k8s.io crd/volumesnapshotcontents.snapshot.storage.k8s.io \
  crd/volumesnapshotclasses.snapshot.storage.k8s.io >/dev/null
cat >"$DIR/manifests/storage.yaml" <<EOF
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: $CSI_DRIVER
spec:
  attachRequired: false
  podInfoOnMount: true
  fsGroupPolicy: File
  volumeLifecycleModes: [Persistent]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: csi-hostpath
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: $CSI_DRIVER
reclaimPolicy: Delete
volumeBindingMode: Immediate
allowVolumeExpansion: false
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata:
  name: csi-hostpath-snapclass
  annotations:
    snapshot.storage.kubernetes.io/is-default-class: "true"
driver: $CSI_DRIVER
deletionPolicy: Delete
EOF
kubectl_admin apply -f "$DIR/manifests/storage.yaml" >/dev/null
zlog "VolumeSnapshot CRDs, CSIDriver, StorageClass csi-hostpath and VolumeSnapshotClass csi-hostpath-snapclass installed"

# ---- CSI: driver, provisioner, snapshot controller and sidecar ----
CSI_KC="$DIR/kubeconfig/csi-controllers.kubeconfig"
start csi-hostpath csi-hostpath --endpoint "unix://$CSI_SOCKET" --drivername "$CSI_DRIVER" \
  --nodeid "$ZRH_CSI_NODE_ID" --state-dir "$DIR/csi-hostpath"
wait_for "CSI socket" 20 test -S "$CSI_SOCKET"
start csi-provisioner csi-provisioner --csi-address "$CSI_SOCKET" --kubeconfig "$CSI_KC" \
  --leader-election=false --extra-create-metadata --immediate-topology=false --timeout 30s
start snapshot-controller snapshot-controller --kubeconfig "$CSI_KC" --leader-election=false
start csi-snapshotter csi-snapshotter --csi-address "$CSI_SOCKET" --kubeconfig "$CSI_KC" \
  --leader-election=false --extra-create-metadata --timeout 30s

# ---- nodes ----
start_kwok_nodes() {
  local i nodes="" taints=""
  if [[ "$ZRH_NODE_MODE" == real ]]; then
    taints="spec:
  taints:
  - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}"
  fi
  for ((i = 0; i < ZRH_KWOK_NODES; i++)); do
    nodes+="---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: \"0\"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/role: agent
    node-role.kubernetes.io/agent: \"\"
    type: kwok
$taints
status:
  allocatable: {cpu: \"32\", memory: 256Gi, pods: \"110\"}
  capacity: {cpu: \"32\", memory: 256Gi, pods: \"110\"}
"
  done
  printf '%s' "$nodes" >"$DIR/manifests/kwok-nodes.yaml"
  start kwok kwok --config "$BIN/kwok-stages.yaml" --kubeconfig "$DIR/kubeconfig/kwok.kubeconfig" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --node-ip 127.0.0.1 --node-port "$KWOK_PORT" --cidr 10.244.0.1/16 \
    --server-address "127.0.0.1:$KWOK_PORT"
  kubectl_admin apply -f "$DIR/manifests/kwok-nodes.yaml" >/dev/null
}
start_kwok_nodes

# ---- wait until everything works: nodes Ready, default ServiceAccount, a snapshot readyToUse ----
nodes_ready() {
  [[ "$(kubectl_admin get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)" -ge "$ZRH_KWOK_NODES" ]]
}
wait_for "kwok nodes Ready" 60 nodes_ready
zlog "$ZRH_KWOK_NODES kwok nodes Ready"

kubectl_admin create namespace zrh-smoke >/dev/null
cat >"$DIR/manifests/smoke.yaml" <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: smoke, namespace: zrh-smoke}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: csi-hostpath
  resources: {requests: {storage: 1Mi}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: smoke, namespace: zrh-smoke}
spec:
  volumeSnapshotClassName: csi-hostpath-snapclass
  source: {persistentVolumeClaimName: smoke}
EOF
kubectl_admin apply -f "$DIR/manifests/smoke.yaml" >/dev/null
snapshot_ready() {
  [[ "$(kubectl_admin -n zrh-smoke get volumesnapshot smoke -o jsonpath='{.status.readyToUse}')" == true ]]
}
wait_for "smoke VolumeSnapshot readyToUse" 90 snapshot_ready
kubectl_admin delete namespace zrh-smoke --wait=false >/dev/null
wait_for "default ServiceAccount" 30 kubectl_admin -n default get serviceaccount default

start_real_node
start_zfs_like

date +%s >"$DIR/ready"
zlog "cluster ready: API https://127.0.0.1:$APISERVER_PORT, snapshots work (kubeconfig $DIR/admin.kubeconfig)"
echo "$DIR/admin.kubeconfig"
