#!/usr/bin/env bash
# Prepares the live-migration testbed, idempotently: QEMU 10 from Debian's
# bookworm-backports unpacked into a private prefix (the system's QEMU 7.2 corrupts
# guest memory in multi-pass TCG migration; the system is left untouched), the
# shared libraries it needs from Debian, a Debian kernel and a busybox initramfs
# running cemon's guest program (mininet/qemu/guest).
#
# Usage: scripts/qemu.sh [PREFIX]   (default /var/cache/cemon/qemu)
# Prints the prefix on success. Needs root (apt-get) and Go.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-${CEMON_QEMU_PREFIX:-/var/cache/cemon/qemu}}
mkdir -p "$prefix"
log() { echo "qemu.sh: $*" >&2; }

libs=(libcapstone4 libpmem1 libfdt1 librdmacm1 libibverbs1 libslirp0 libvdeplug2 libfuse3-3
  libaio1 liburing2 seabios busybox-static cpio)
missing=()
for p in "${libs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

qemu="$prefix/root/usr/bin/qemu-system-x86_64"
if ! "$qemu" --version 2>/dev/null | grep -q 'version 1[0-9]\.'; then
  # A private apt configuration with one source: bookworm-backports from the same
  # mirror the machine's own Debian source names.
  uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || { log "no Debian source found in /etc/apt to derive bookworm-backports from"; exit 1; }
  apt="$prefix/apt"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm-backports main" >"$apt/sources.list"
  opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::Archives=$apt/archives" -o Debug::NoLocking=1
    -o APT::Sandbox::User=root)
  log "fetching QEMU from bookworm-backports"
  apt-get "${opts[@]}" update -qq
  (cd "$apt/archives" && apt-get "${opts[@]}" download qemu-system-x86 qemu-system-common qemu-system-data >/dev/null)
  rm -rf "$prefix/root"
  for d in "$apt"/archives/qemu-system-*.deb; do dpkg-deb -x "$d" "$prefix/root"; done
  rm -rf "$apt/archives"/*.deb
  if ! "$qemu" --version | grep -q 'version 1[0-9]\.'; then
    log "the unpacked QEMU does not run: $(ldd "$qemu" | grep 'not found' | tr '\n' ' ')"
    exit 1
  fi
fi

kernel="$prefix/vmlinuz"
if [ ! -s "$kernel" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
  [ -n "$pkg" ] || { apt-get update -qq; pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}'); }
  log "fetching the guest kernel ($pkg)"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get -o APT::Sandbox::User=root download "$pkg" >/dev/null && dpkg-deb --fsys-tarfile ./*.deb | tar -x -C "$tmp" ./boot)
  cp "$tmp"/boot/vmlinuz-* "$kernel"
  rm -rf "$tmp"
fi

# The initramfs: busybox, /init, and the guest program; rebuilt when the program changes.
initrd="$prefix/guest.cpio.gz"
stamp=$(cat mininet/qemu/guest/*.go | sha256sum | cut -c1-16)
if [ ! -s "$initrd" ] || [ "$(cat "$prefix/guest.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "building the guest initramfs"
  tmp=$(mktemp -d)
  mkdir -p "$tmp"/{bin,proc,sys,dev,tmp}
  cp /bin/busybox "$tmp/bin/busybox"
  for a in sh mount cat sleep echo poweroff; do ln -s busybox "$tmp/bin/$a"; done
  CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$tmp/bin/cemon-guest" ./mininet/qemu/guest
  cat >"$tmp/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
echo "cemon-guest: booted"
exec /bin/cemon-guest
INIT
  chmod +x "$tmp/init"
  (cd "$tmp" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  echo "$stamp" >"$prefix/guest.stamp"
  rm -rf "$tmp"
fi
echo "$prefix"
