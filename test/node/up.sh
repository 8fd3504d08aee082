#!/usr/bin/env bash
# Starts one real node in the running local test cluster ($ZRH_CLUSTER_DIR, see
# test/cluster/README.md): containerd (CRI, runc, CNI bridge, the local test images from
# test/images imported into its k8s.io namespace) and a kubelet registered as node 127.0.0.1 with
# the label zrh.dev/real-node=true. Everything listens on 127.0.0.1 or on unix sockets; state,
# logs and pidfiles are under $ZRH_CLUSTER_DIR (node/, logs/, run/).
#
# Idempotent: a healthy node is left alone; leftovers of a crashed run are removed first
# (test/node/down.sh). Returns once the node is Ready and the images are known to the kubelet.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../cluster/lib.sh
source "$HERE/../cluster/lib.sh"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[[ $(id -u) -eq 0 ]] || { zlog "node: must run as root"; exit 1; }
for f in admin.kubeconfig bin-dir pki/ca.crt pki/ca.key; do
  [[ -s "$DIR/$f" ]] || { zlog "node: no control plane in $DIR (missing $f); run test/cluster/up.sh first"; exit 1; }
done
BIN="$(cat "$DIR/bin-dir")"
[[ -x "$BIN/kubelet" ]] || { zlog "node: $BIN/kubelet missing (run test/cluster/build.sh)"; exit 1; }

node_ready() {
  [[ "$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == True ]]
}
if [[ -f "$NODE_DIR/ready" ]] && pid_of containerd >/dev/null && pid_of kubelet >/dev/null && node_ready; then
  zlog "node $NODE_NAME is already up and Ready"
  exit 0
fi

# ---- leftovers of a previous run ----
bash "$HERE/down.sh"

NODE_ROOT="$(bash "$HERE/install.sh" | tail -n 1)"
IMAGES="$(bash "$HERE/../images/build.sh")"
mkdir -p "$NODE_DIR"/{cni/net.d,cni/ipam,pki,pod-logs} "$CONTAINERD_DIR" "$KUBELET_ROOT" "$DIR/run" "$DIR/logs"
echo "$NODE_ROOT" >"$NODE_DIR/node-root"

on_error() {
  local rc=$?
  zlog "node: up failed (exit $rc); last lines of the node's logs:"
  local f
  for f in "$DIR/logs/containerd.log" "$DIR/logs/kubelet.log" "$DIR/logs/csi-registrar.log"; do
    [[ -e "$f" ]] && { echo "== $f" >&2; tail -n 15 "$f" >&2; }
  done
  exit "$rc"
}
trap on_error ERR

wait_for() { # wait_for <what> <timeout s> <command...>
  local what="$1" deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) < deadline )) || { zlog "node: timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}

start() { # start <name> <command...>: own session, log in logs/<name>.log, pidfile in run/
  local name="$1"; shift
  setsid "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 &
  echo $! >"$DIR/run/$name.pid"
}

# ---- containerd ----
cat >"$CONTAINERD_DIR/config.toml" <<EOF
version = 2
root = "$CONTAINERD_DIR/root"
state = "$CONTAINERD_DIR/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$CONTAINERD_SOCK"
[ttrpc]
  address = "$CONTAINERD_DIR/containerd.sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CONTAINERD_DIR/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "zrh.local/pause:1"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # Root lacks CAP_SYS_RESOURCE here: runc must not try to lower a container's OOM score.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$NODE_ROOT/usr/sbin/runc"
        Root = "$CONTAINERD_DIR/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$NODE_ROOT/usr/lib/cni"
    conf_dir = "$NODE_DIR/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
EOF
cat >"$NODE_DIR/cni/net.d/10-zrh.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "zrh",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": false,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$POD_SUBNET" }]],
        "dataDir": "$NODE_DIR/cni/ipam"
      }
    }
  ]
}
EOF
# containerd finds its shim (containerd-shim-runc-v2) on PATH.
PATH="$NODE_ROOT/usr/bin:$NODE_ROOT/usr/sbin:$PATH" start containerd \
  "$NODE_ROOT/usr/bin/containerd" --config "$CONTAINERD_DIR/config.toml"
wait_for "containerd socket" 30 ctr_node version
zlog "node: containerd $("$NODE_ROOT/usr/bin/containerd" --version | awk '{print $3}') on $CONTAINERD_SOCK"

# ---- images (OCI archives from test/images/build.sh) ----
while read -r tag archive; do
  [[ -n "$tag" ]] || continue
  ctr_node images import --snapshotter overlayfs "$archive" >>"$DIR/logs/containerd-import.log" 2>&1
  ctr_node images ls -q | grep -qxF "$tag" || { zlog "node: importing $archive did not create $tag"; exit 1; }
done <<<"$IMAGES"
zlog "node: images imported: $(awk '{print $1}' <<<"$IMAGES" | tr '\n' ' ')"

# ---- certificates and kubeconfig of the kubelet ----
PKI="$DIR/pki"
NPKI="$NODE_DIR/pki"
nodecert() { # nodecert <name> <subject> <extensions>
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$NPKI/$1.key" \
    -out "$NPKI/$1.csr" -subj "$2" 2>>"$DIR/logs/openssl.log" >/dev/null
  printf '%s\n' "$3" >"$NPKI/$1.ext"
  openssl x509 -req -in "$NPKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 30 -out "$NPKI/$1.crt" -extfile "$NPKI/$1.ext" 2>>"$DIR/logs/openssl.log" >/dev/null
  rm -f "$NPKI/$1.csr"
  chmod 600 "$NPKI/$1.key"
}
nodecert kubelet-client "/O=system:nodes/CN=system:node:$NODE_NAME" \
  $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth'
nodecert kubelet-serving "/O=system:nodes/CN=system:node:$NODE_NAME" \
  $'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost'
cat >"$NODE_DIR/kubelet.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: zrh
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: kubelet
  user:
    client-certificate: $NPKI/kubelet-client.crt
    client-key: $NPKI/kubelet-client.key
contexts:
- name: zrh
  context: {cluster: zrh, user: kubelet}
current-context: zrh
EOF

# ---- cgroups: one parent in every v1 hierarchy, removed by down.sh ----
while read -r h; do
  [[ -d "$h/$NODE_CGROUP" ]] && continue
  mkdir "$h/$NODE_CGROUP"
  if [[ -f "$h/cpuset.cpus" ]]; then
    cat "$h/cpuset.cpus" >"$h/$NODE_CGROUP/cpuset.cpus"
    cat "$h/cpuset.mems" >"$h/$NODE_CGROUP/cpuset.mems"
  fi
done < <(cgroup_hierarchies)

# ---- sysctls the kubelet changes: saved once, restored by down.sh ----
if [[ ! -s "$DIR/node-sysctls.saved" ]]; then
  for s in "${NODE_SYSCTLS[@]}"; do
    v="$(sysctl -n "$s" 2>/dev/null)" && echo "$s=$v"
  done >"$DIR/node-sysctls.saved"
fi
[[ -d /var/log/containers ]] || touch "$DIR/node-created-var-log-containers"

# ---- kubelet ----
echo "nameserver 127.0.0.1" >"$NODE_DIR/resolv.conf"
cat >"$NODE_DIR/kubelet-config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $NPKI/kubelet-serving.crt
tlsPrivateKeyFile: $NPKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# This machine has cgroup v1 only, no systemd as PID 1, and root without CAP_SYS_RESOURCE.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$NODE_CGROUP
cgroupsPerQOS: true
oomScoreAdj: 0
failSwapOn: false
protectKernelDefaults: false
resolvConf: $NODE_DIR/resolv.conf
podLogsDir: $NODE_DIR/pod-logs
staticPodPath: ""
registerNode: true
maxPods: 50
serializeImagePulls: false
# Never delete the locally built images: they cannot be pulled again.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  imagefs.available: 1%
  nodefs.inodesFree: 1%
evictionPressureTransitionPeriod: 10s
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
runtimeRequestTimeout: 2m
volumeStatsAggPeriod: 1h
shutdownGracePeriod: 0s
EOF
start kubelet "$BIN/kubelet" --config "$NODE_DIR/kubelet-config.yaml" \
  --kubeconfig "$NODE_DIR/kubelet.kubeconfig" --root-dir "$KUBELET_ROOT" \
  --cert-dir "$NPKI" --hostname-override "$NODE_NAME" \
  --node-labels zrh.dev/real-node=true --v 2
wait_for "node $NODE_NAME Ready (see $DIR/logs/kubelet.log)" 120 node_ready
zlog "node: kubelet on 127.0.0.1:$KUBELET_PORT, node $NODE_NAME Ready"

# ---- CSI: register the cluster's host-path driver (its node service) with the kubelet ----
start csi-registrar "$NODE_ROOT/usr/local/bin/zrh-csi-registrar" --driver-name "$CSI_DRIVER" \
  --csi-address "$CSI_SOCKET" --registration-socket "$CSI_REGISTRAR_SOCK"
csi_registered() {
  kubectl_admin get csinode "$NODE_NAME" -o jsonpath='{.spec.drivers[*].name}' | grep -qwF "$CSI_DRIVER"
}
wait_for "CSINode $NODE_NAME to list $CSI_DRIVER (see $DIR/logs/csi-registrar.log)" 60 csi_registered
zlog "node: CSI driver $CSI_DRIVER registered with the kubelet"

# The kubelet reports the imported images in the node status once it has listed them.
images_known() {
  local known tag
  known="$(kubectl_admin get node "$NODE_NAME" -o jsonpath='{range .status.images[*]}{.names}{"\n"}{end}')"
  while read -r tag _; do
    [[ -z "$tag" ]] || grep -qF "\"$tag\"" <<<"$known" || return 1
  done <<<"$IMAGES"
}
wait_for "the node to list the local images" 60 images_known

date +%s >"$NODE_DIR/ready"
zlog "node: ready (node $NODE_NAME, label zrh.dev/real-node=true)"
