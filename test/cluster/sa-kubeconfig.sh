#!/usr/bin/env bash
# sa-kubeconfig.sh <namespace> <name> <role.yaml> <out.kubeconfig>
# Creates ServiceAccount <name> in <namespace>, the Role from <role.yaml> (applied in <namespace>,
# whatever namespace the file names), a RoleBinding <name>, and writes a kubeconfig authenticating with a TokenRequest
# token of that ServiceAccount (valid ZRH_TOKEN_SECONDS, default 3600). Uses the admin kubeconfig of
# the cluster in $ZRH_CLUSTER_DIR. For the hook's own Role, write the file with `hookRoleYaml` of
# test/cluster/hook-role.ts: it names the heads of the caches the namespace seeds as the ConfigMaps
# the hook may update (deploy/rbac/hook-role.yaml names an example cache).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[[ $# -eq 4 ]] || { echo "usage: $0 <namespace> <name> <role.yaml> <out.kubeconfig>" >&2; exit 2; }
ns="$1" name="$2" role="$3" out="$4"
[[ -f "$DIR/admin.kubeconfig" ]] || { echo "no cluster in $DIR (run test/cluster/up.sh)" >&2; exit 1; }
BIN="$(cat "$DIR/bin-dir")"

kubectl_admin get namespace "$ns" >/dev/null 2>&1 || kubectl_admin create namespace "$ns" >/dev/null
kubectl_admin -n "$ns" create serviceaccount "$name" --dry-run=client -o yaml | kubectl_admin apply -f - >/dev/null
# The shipped Role names the runners' namespace; apply the same rules in <namespace>.
role_doc="$(sed -E '/^  namespace: /d' "$role")"
kubectl_admin -n "$ns" apply -f - <<<"$role_doc" >/dev/null
role_name="$(kubectl_admin -n "$ns" create --dry-run=client -f - -o jsonpath='{.metadata.name}' <<<"$role_doc")"
kubectl_admin -n "$ns" create rolebinding "$name" --role "$role_name" --serviceaccount "$ns:$name" \
  --dry-run=client -o yaml | kubectl_admin apply -f - >/dev/null
token="$(kubectl_admin -n "$ns" create token "$name" --duration "${ZRH_TOKEN_SECONDS:-3600}s")"

umask 077
cat >"$out" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: zrh
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority: $DIR/pki/ca.crt
users:
- name: $ns-$name
  user:
    token: $token
contexts:
- name: zrh
  context: {cluster: zrh, user: $ns-$name, namespace: $ns}
current-context: zrh
YAML
echo "$out"
