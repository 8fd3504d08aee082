# zrh.local/busybox:1 with its own ENTRYPOINT (/entrypoint.sh), like a container action's image:
# prints a marker and its arguments, writes them to $GITHUB_OUTPUT (`args=`) and to
# $GITHUB_WORKSPACE/entrypoint-args.txt, and exits with $INPUT_EXIT_CODE (the action input
# `exit_code`, default 0). Its CMD is `from-cmd`, the arguments when a step gives none.
IMAGE_TAG=zrh.local/entrypoint:1
IMAGE_BASE=busybox
IMAGE_ENTRYPOINT=/entrypoint.sh
IMAGE_CMD=from-cmd

image_layer() { # image_layer <layer dir>
  local r="$1"
  cat >"$r/entrypoint.sh" <<'SCRIPT'
#!/bin/sh
echo "zrh-entrypoint: pid $$, $# args"
for a in "$@"; do printf 'zrh-entrypoint: arg [%s]\n' "$a"; done
if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "args=$*" >>"$GITHUB_OUTPUT"; fi
if [ -n "${GITHUB_WORKSPACE:-}" ]; then printf '%s\n' "$@" >"$GITHUB_WORKSPACE/entrypoint-args.txt"; fi
exit "${INPUT_EXIT_CODE:-0}"
SCRIPT
  chmod 0755 "$r/entrypoint.sh"
}
