# The pod sandbox ("pause") image: catatonit in pause mode, from Debian's catatonit package.
IMAGE_TAG=zrh.local/pause:1
IMAGE_ENTRYPOINT="/catatonit -P"
IMAGE_USER=65535:65535

image_layer() { # image_layer <layer dir>
  install -m 0755 "$NODE_ROOT/usr/bin/catatonit" "$1/catatonit"
}
