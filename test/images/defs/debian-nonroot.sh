# zrh.local/debian:12-1 with a non-root default user (uid/gid 1001, like a runner's job user).
IMAGE_TAG=zrh.local/debian-nonroot:12-1
IMAGE_BASE=debian
IMAGE_USER=1001:1001
IMAGE_WORKDIR=/home/runner
IMAGE_ENV=HOME=/home/runner

image_layer() { # image_layer <layer dir>; the base image's files are in $BASE_ROOTFS
  local r="$1"
  mkdir -p "$r/etc" "$r/home/runner"
  cp -a "$BASE_ROOTFS/etc/passwd" "$BASE_ROOTFS/etc/group" "$BASE_ROOTFS/etc/shadow" "$r/etc/"
  echo 'runner:x:1001:1001:runner:/home/runner:/bin/bash' >>"$r/etc/passwd"
  echo 'runner:x:1001:' >>"$r/etc/group"
  echo 'runner:!:19000::::::' >>"$r/etc/shadow"
  chown 1001:1001 "$r/home/runner"
}
