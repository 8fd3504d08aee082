# zrh.local/busybox:1 with attack scripts against the copy-mode copy-back (the hook bringing a
# step's file-command folder back to the runner), for test/integration/hook/hostile-copy.test.ts.
# Each /hostile/<attack>.sh runs as a step in the job container and leaves behind what the next
# copy-back would carry to the runner; /hostile/clean.sh removes it again. /hostile/bin comes first
# on PATH and is empty: an attack that needs the hook's `tar -c` to lie puts a `tar` there.
IMAGE_TAG=zrh.local/hostile-copy:1
IMAGE_BASE=busybox
IMAGE_CMD=/bin/sh
IMAGE_ENV=PATH=/hostile/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

image_layer() { # image_layer <layer dir>
  local r="$1"
  mkdir -p "$r/hostile/bin"
  chmod 1777 "$r/hostile/bin"

  # The folder the hook copies back: where the runner's file commands are in the job container.
  cat >"$r/hostile/common.sh" <<'SCRIPT'
fc="$(dirname "${GITHUB_OUTPUT:?no GITHUB_OUTPUT}")"
SCRIPT

  # Step 1 of the symlink attack: plant `x -> <runner-side folder>` in the file-command folder.
  cat >"$r/hostile/plant-symlink.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/common.sh
ln -s "${1:?target}" "$fc/x"
echo "hostile: planted $fc/x -> $1"
SCRIPT

  # Step 2: write `x/externals/node20/bin/node`, which lands in the runner's externals if `x` is a
  # link on the runner's side. Reports first how `x` arrived in the pod (a link, never the
  # contents of the runner's folder it points at).
  cat >"$r/hostile/write-through.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/common.sh
if [ -L "$fc/x" ]; then echo "hostile: x arrived as a link to $(readlink "$fc/x")"; fi
if [ -d "$fc/x" ]; then echo "hostile: x has $(ls -A "$fc/x" | wc -l) entries in the pod"; fi
rm -rf "$fc/x"
mkdir -p "$fc/x/externals/node20/bin"
printf '#!/bin/sh\necho pwned by the job\n' >"$fc/x/externals/node20/bin/node"
chmod 0755 "$fc/x/externals/node20/bin/node"
echo "hostile: wrote $fc/x/externals/node20/bin/node"
SCRIPT

  cat >"$r/hostile/fifo.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/common.sh
mkfifo "$fc/fifo"
echo "hostile: made FIFO $fc/fifo"
SCRIPT

  cat >"$r/hostile/hardlink.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/common.sh
echo linked >"$fc/hl-a"
ln "$fc/hl-a" "$fc/hl-b"
echo "hostile: hard-linked $fc/hl-b to $fc/hl-a"
SCRIPT

  # A member outside the returned folder: the job's own `tar` adds `_temp/_github_home` (with a
  # .bashrc for the runner) to the hook's `tar -c` of the file commands, once.
  cat >"$r/hostile/outside.sh" <<'SCRIPT'
#!/bin/sh
echo 'echo pwned by the job' >/github/home/.bashrc
cat >/hostile/bin/tar <<'TAR'
#!/bin/sh
case "$1" in -c*) rm -f /hostile/bin/tar; exec /bin/tar "$@" _temp/_github_home;; esac
exec /bin/tar "$@"
TAR
chmod 0755 /hostile/bin/tar
echo "hostile: the next tar -c also sends _temp/_github_home"
SCRIPT

  # A file far over the copy-back's size limit (sparse: no disk used), which tar streams as zeros.
  cat >"$r/hostile/huge.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/common.sh
dd if=/dev/zero of="$fc/huge" bs=1M count=0 seek="${1:-7168}" 2>/dev/null
echo "hostile: $fc/huge is $(stat -c %s "$fc/huge") bytes"
SCRIPT

  cat >"$r/hostile/clean.sh" <<'SCRIPT'
#!/bin/sh
. /hostile/common.sh
rm -rf "$fc/x" "$fc/fifo" "$fc/hl-a" "$fc/hl-b" "$fc/huge" /hostile/bin/tar
echo "hostile: cleaned up"
SCRIPT
  chmod 0755 "$r"/hostile/*.sh
}
