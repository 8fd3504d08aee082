# A small image with sh, tar, env, tail, ... (busybox-static from Debian).
IMAGE_TAG=zrh.local/busybox:1
IMAGE_CMD=/bin/sh
IMAGE_ENV=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

image_layer() { # image_layer <layer dir>
  local r="$1" app
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/home" "$r/proc" "$r/sys" "$r/dev" "$r/var/tmp"
  chmod 1777 "$r/tmp" "$r/var/tmp"
  install -m 0755 "$NODE_ROOT/bin/busybox" "$r/bin/busybox"
  for app in $("$NODE_ROOT/bin/busybox" --list); do
    [[ "$app" == busybox ]] || ln -s busybox "$r/bin/$app"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
}
