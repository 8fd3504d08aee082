# Settings and helpers of the real node (test/node/up.sh, down.sh); sourced after
# test/cluster/lib.sh, whose DIR, ports, pid_of, stop_proc, mounts_under and zlog it uses.

NODE_DIR="$DIR/node"
# The kubelet refuses a loopback --node-ip, but takes an IP given as --hostname-override as the
# node's InternalIP without that check. So the node is named 127.0.0.1, and the API server reaches
# the kubelet (exec, logs) on 127.0.0.1 and never on the machine's other addresses.
NODE_NAME=127.0.0.1
KUBELET_PORT=$((ZRH_CLUSTER_PORT_BASE + 50))         # 16450
KUBELET_HEALTHZ_PORT=$((ZRH_CLUSTER_PORT_BASE + 51)) # 16451
CONTAINERD_DIR="$NODE_DIR/containerd"
CONTAINERD_SOCK="$CONTAINERD_DIR/containerd.sock"
KUBELET_ROOT="$NODE_DIR/kubelet"
# Names on the machine derive from the port base, so that a second cluster (another dir and port
# base) gets its own bridge, subnet and cgroup.
NODE_INDEX=$(( (ZRH_CLUSTER_PORT_BASE / 100) % 256 ))   # 164 for the default port base
# The pods' network: a bridge without an address or a default route, so pods can talk to each
# other on it and to nothing else (no NAT, no forwarding).
NODE_BRIDGE="${ZRH_NODE_BRIDGE:-zrh$NODE_INDEX}"
POD_SUBNET="${ZRH_POD_SUBNET:-10.88.$NODE_INDEX.0/24}"
# Parent cgroup (in every cgroup hierarchy) of everything the kubelet starts.
NODE_CGROUP="${ZRH_NODE_CGROUP:-zrh-node-$NODE_INDEX}"
# Sysctls the kubelet sets at start; down.sh puts the saved values back.
NODE_SYSCTLS=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
CSI_REGISTRAR_SOCK="$KUBELET_ROOT/plugins_registry/$CSI_DRIVER-reg.sock"

ctr_node() { "$NODE_ROOT/usr/bin/ctr" --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }

# cgroup_hierarchies: the mounted cgroup hierarchies (v1 ones like /sys/fs/cgroup/memory, and a v2 one).
cgroup_hierarchies() {
  awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/self/mounts | sort -u
}
