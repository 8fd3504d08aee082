# zrh.local/busybox:1 with scripts under /hostile/ that attack the hook's response file and job
# state from a step (test/integration/hook/hostile-state.test.ts). Each script acts on the
# response file of the hook call running the step (the one `*.json` in
# /__w/_temp/_runner_hook_responses, which volume mode mounts into the job pod), starts its
# background part with setsid and no stdio (so the step's exec ends), and prints
# `hostile: no response file` and exits 0 when there is none (copy mode).
#   fifo.sh [reader]        swap a FIFO in; a writer feeds the runner $HOSTILE_FORGED (or {}); `reader`:
#                           hold the FIFO open for reading (and writing) for a few seconds too
#   symlink.sh <path>       swap in a symbolic link to <path> (a runner-side file)
#   hardlink.sh <path>      swap in a hard link to <path> (a runner file under /__w)
#   forge.sh <pod> <secret> once the hook has written its response, rewrite it with the state
#                           forged: jobPod <pod>, secrets [<secret>], workspace.mode copy,
#                           clone.policy.promote true (the seal kept); then mark it `forgedBy`
#   save.sh                 once the hook has written its response, keep a copy in /tmp/saved.json
#   replay.sh               once the hook has written its response, replace it with /tmp/saved.json
IMAGE_TAG=zrh.local/hostile-state:1
IMAGE_BASE=busybox

image_layer() { # image_layer <layer dir>
  local r="$1"
  mkdir -p "$r/hostile"
  cat >"$r/hostile/lib.sh" <<'SCRIPT'
# The response file of the running hook call, or exit 0 when the job pod cannot see one.
RESPONSES=/__w/_temp/_runner_hook_responses
response_file() {
  for f in "$RESPONSES"/*.json; do
    if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; return 0; fi
  done
  echo "hostile: no response file under $RESPONSES" >&2
  exit 0
}
# Runs "$@" in the background, detached from the step (its own session, no stdio).
detach() { setsid "$@" </dev/null >/dev/null 2>&1 & }
# Waits (up to 60 s) until the hook has written the response file $1.
wait_written() {
  n=0
  while [ ! -s "$1" ]; do n=$((n + 1)); [ "$n" -lt 3000 ] || exit 1; usleep 20000; done
}
SCRIPT
  cat >"$r/hostile/fifo.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/lib.sh
f=$(response_file)
rm -f "$f"
mkfifo -m 0666 "$f"
echo "hostile: $f is now a FIFO"
# Feeds whoever reads it next (the runner) a forged response; blocks until then.
detach sh -c 'printf "%s" "$2" > "$1"' feed "$f" "${HOSTILE_FORGED:-{\}}"
if [ "$1" = reader ]; then
  # Reader and writer at once for 5 s, then one empty write for a reader that comes later.
  detach sh -c 'exec 3<>"$1"; sleep 5; exec 3>&-; : > "$1"' hold "$f"
  echo "hostile: holding $f open for reading"
fi
SCRIPT
  cat >"$r/hostile/symlink.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/lib.sh
f=$(response_file)
ln -sfn "$1" "$f"
echo "hostile: $f is now a symbolic link to $1"
SCRIPT
  cat >"$r/hostile/hardlink.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/lib.sh
f=$(response_file)
ln -f "$1" "$f"
echo "hostile: $f is now a hard link to $1"
SCRIPT
  cat >"$r/hostile/forge.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/lib.sh
f=$(response_file)
detach sh -c '
  . /hostile/lib.sh
  wait_written "$1"
  sed -e "s/\"jobPod\":\"[^\"]*\"/\"jobPod\":\"$2\"/" \
      -e "s/\"secrets\":\[[^]]*\]/\"secrets\":[\"$3\"]/" \
      -e "s/\"mode\":\"volume\"/\"mode\":\"copy\"/" \
      -e "s/{\"state\":{/{\"forgedBy\":\"hostile\",\"state\":{\"clone\":{\"policy\":{\"promote\":true}},/" \
      "$1" > /tmp/forged.json
  cat /tmp/forged.json > "$1"
' forge "$f" "$1" "$2"
echo "hostile: will forge the state in $f"
SCRIPT
  cat >"$r/hostile/save.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/lib.sh
f=$(response_file)
detach sh -c '. /hostile/lib.sh; wait_written "$1"; cp "$1" /tmp/saved.json' save "$f"
echo "hostile: will keep a copy of $f"
SCRIPT
  cat >"$r/hostile/replay.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/lib.sh
f=$(response_file)
[ -s /tmp/saved.json ] || { echo "hostile: nothing saved" >&2; exit 1; }
detach sh -c '
  . /hostile/lib.sh
  wait_written "$1"
  sed -e "s/^{/{\"forgedBy\":\"hostile\",/" /tmp/saved.json > /tmp/replayed.json
  cat /tmp/replayed.json > "$1"
' replay "$f"
echo "hostile: will replay the saved state into $f"
SCRIPT
  chmod 0755 "$r"/hostile/*.sh
  chmod 0644 "$r/hostile/lib.sh"
}
