# A Debian 12 image that looks like a CI job image: debootstrap minbase (coreutils, tar, gzip,
# bash, apt) plus procps, from the Debian mirror apt uses on this machine.
IMAGE_TAG=zrh.local/debian:12-1
IMAGE_CMD=/bin/bash
IMAGE_ENV="PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8"

image_layer() { # image_layer <layer dir>
  local r="$1"
  debootstrap --variant=minbase --include=procps bookworm "$r" "$(debian_mirror)" >/dev/null
  # What a container image leaves out: device nodes (the runtime makes them), caches, logs.
  rm -rf "$r"/dev/* "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
    "$r"/var/log/* "$r"/tmp/* "$r"/debootstrap
  : >"$r/etc/machine-id"
}
