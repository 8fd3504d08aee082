# zrh.local/busybox:1 with /etc/alpine-release: what the hook's Alpine detection looks for (the
# runner then uses its Alpine node build for JavaScript actions in the job container).
IMAGE_TAG=zrh.local/alpine-release:1
IMAGE_BASE=busybox
IMAGE_CMD=/bin/sh

image_layer() { # image_layer <layer dir>
  local r="$1"
  mkdir -p "$r/etc"
  echo '3.20.3' >"$r/etc/alpine-release"
}
