#!/bin/sh
# The operator image's root filesystem, made from Debian packages: libc6 and libgcc-s1 (what the
# release binary links: `ldd` shows libc, libm, libgcc_s and the loader) and ca-certificates (the
# trust store the AWS SDK's rustls reads), plus the binary, a passwd/group naming user 65532, and
# nsswitch.conf. No shell, no apt, no dpkg: nothing in it runs but the binary.
#
#   scripts/image-rootfs.sh DEST BINARY
#
# One script for both builds, so they give the same layout: the Dockerfile's `rootfs` stage runs it
# in debian:bookworm-slim, scripts/image.sh runs it on a bookworm host. Either way the packages come
# from the apt sources of the machine running it (`apt-get download`, the architecture
# `dpkg --print-architecture` names) and are unpacked with `dpkg-deb -x`, no maintainer scripts.
# (Not mmdebstrap: its dependency closure of ca-certificates brings openssl, debconf and perl, and
# it needs privileges a `docker build` step does not have.)
set -eu
dest="${1:?usage: image-rootfs.sh DEST BINARY}"
binary="${2:?usage: image-rootfs.sh DEST BINARY}"
packages="libc6 libgcc-s1 ca-certificates"

[ -x "$binary" ] || { echo "image-rootfs.sh: $binary is not an executable" >&2; exit 1; }
if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
  echo "image-rootfs.sh: $dest is not empty" >&2
  exit 1
fi
mkdir -p "$dest"
debs="$(mktemp -d)"
trap 'rm -rf "$debs"' EXIT
# As root, apt's download sandbox user (_apt) cannot write to a mktemp directory: let it.
chmod 0755 "$debs"
(cd "$debs" && apt-get download -q $packages >/dev/null 2>&1) || (cd "$debs" && apt-get download $packages)

mkdir -p "$dest/var/lib/dpkg/status.d"
for p in $packages; do
  deb="$(ls "$debs/${p}_"*.deb)"
  dpkg-deb -x "$deb" "$dest"
  # What SBOM and vulnerability scanners (syft, trivy) read in distroless-style images: one
  # control stanza per package. (The Installed-Size/Depends fields are the package's own.)
  { dpkg-deb -f "$deb"; echo "Status: install ok installed"; } > "$dest/var/lib/dpkg/status.d/$p"
  dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ' >&2
  echo >&2
done

# ca-certificates' postinst, done here: a fresh install trusts every certificate it ships
# (/etc/ca-certificates.conf lists them all) and update-ca-certificates concatenates them, each
# ending in a newline, into the bundle. Only the bundle is kept (no per-certificate links):
# rustls-native-certs and OpenSSL both read /etc/ssl/certs/ca-certificates.crt.
conf="$dest/etc/ca-certificates.conf"
echo "# Every certificate ca-certificates ships is trusted (its postinst's default)." > "$conf"
(cd "$dest/usr/share/ca-certificates" && find . -type f -name '*.crt' | sed 's|^\./||' | LC_ALL=C sort) >> "$conf"
bundle="$dest/etc/ssl/certs/ca-certificates.crt"
mkdir -p "$dest/etc/ssl/certs"
: > "$bundle"
grep -v '^#' "$conf" | while read -r cert; do
  sed -e '$a\' "$dest/usr/share/ca-certificates/$cert" >> "$bundle"
done
chmod 0644 "$bundle"
[ "$(grep -c 'BEGIN CERTIFICATE' "$bundle")" -gt 100 ] || { echo "image-rootfs.sh: CA bundle too small" >&2; exit 1; }
# A script to regenerate the bundle, with no shell to run it: not shipped.
rm -f "$dest/usr/sbin/update-ca-certificates"
rmdir "$dest/usr/sbin" 2>/dev/null || true

# User 65532 (distroless's "nonroot"): the image's USER, and the chart's runAsUser.
mkdir -p "$dest/etc" "$dest/tmp" "$dest/usr/local/bin"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n' > "$dest/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$dest/etc/group"
# glibc's getaddrinfo: /etc/hosts first, then DNS (/etc/resolv.conf, which the runtime mounts).
# The files and dns services are built into libc.so.6 since glibc 2.34: no NSS module to load.
printf 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\n' > "$dest/etc/nsswitch.conf"
chmod 0644 "$dest/etc/passwd" "$dest/etc/group" "$dest/etc/nsswitch.conf"
chmod 1777 "$dest/tmp"
install -m 0755 "$binary" "$dest/usr/local/bin/webhook-bridge"

# No shell, whatever the packages brought.
for sh in bin/sh bin/bash bin/dash usr/bin/sh usr/bin/bash usr/bin/dash; do
  if [ -e "$dest/$sh" ]; then echo "image-rootfs.sh: $sh in the image" >&2; exit 1; fi
done
