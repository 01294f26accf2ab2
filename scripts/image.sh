#!/usr/bin/env bash
# Build the operator image without a container daemon (buildah, chroot isolation):
# the release-profile binary, the root filesystem of scripts/image-rootfs.sh, and the Dockerfile's
# last stage (from `FROM scratch` on), so a `docker build` and this give the same layout, user,
# entrypoint and command. Installs buildah with apt-get when it is missing and we are root.
#
#   scripts/image.sh            # -> localhost/webhook-bridge:<Cargo.toml version>; `buildah images`
#   IMAGE=name:tag scripts/image.sh
#
# Prints the image name on stdout (the last line), everything else on stderr.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
image="${IMAGE:-localhost/webhook-bridge:$version}"
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"

if ! command -v buildah >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing buildah (apt-get)" >&2
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends buildah >&2
  else
    echo "image.sh: buildah is not installed (Debian: apt-get install buildah)" >&2
    exit 1
  fi
fi

echo "==> cargo build --release --bin webhook-bridge" >&2
cargo build --locked --release --bin webhook-bridge >&2
binary="${CARGO_TARGET_DIR:-$root/target}/release/webhook-bridge"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "==> root filesystem (scripts/image-rootfs.sh)" >&2
# The package lists of this machine's apt sources (a fresh machine may have none yet).
if ! apt-get download --print-uris libc6 >/dev/null 2>&1; then
  apt-get update -q >&2
fi
"$root/scripts/image-rootfs.sh" "$work/context/rootfs" "$binary"
# The Dockerfile's last stage, verbatim: its `COPY --from=rootfs /rootfs /` reads the build
# context named rootfs, i.e. $work/context.
sed -n '/^FROM scratch/,$p' Dockerfile > "$work/Containerfile"
grep -q '^COPY --from=rootfs /rootfs /$' "$work/Containerfile" || {
  echo "image.sh: the Dockerfile's last stage no longer starts at FROM scratch with COPY --from=rootfs /rootfs /" >&2
  exit 1
}
echo "==> buildah bud -> $image" >&2
mkdir -p "$work/empty"
buildah bud --layers=false --build-context "rootfs=$work/context" --build-arg "VERSION=$version" \
  -f "$work/Containerfile" -t "$image" "$work/empty" >&2
echo "==> $image: root filesystem $(du -sh "$work/context/rootfs" | cut -f1) uncompressed" >&2
echo "$image"
