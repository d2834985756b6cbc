#!/usr/bin/env bash
# Runs in the Dockerfile's build stage. Assembles a distroless-style root filesystem in ROOTFS for
# the given binaries: the dynamic loader, glibc, libstdc++ and every other shared library `ldd`
# lists, CA certificates, passwd/group with the `nonroot` user 65532, os-release, and a
# dpkg status entry plus copyright file for each Debian package a file came from (the layout
# distroless uses, so image scanners such as Trivy see the package versions). No shell, no
# package manager, nothing else; the Dockerfile copies each image's own binary on top.
#
# Usage: docker/stage-runtime.sh ROOTFS BINARY...
set -euo pipefail

if (($# < 2)); then
  echo "usage: $0 ROOTFS BINARY..." >&2
  exit 2
fi
rootfs=$1
shift

libdir=usr/lib/x86_64-linux-gnu
install -d -m 0755 "$rootfs"/{etc,"$libdir",usr/lib64,usr/local/bin,var/lib/dpkg/status.d}
install -d -m 0755 "$rootfs"/etc/ssl/certs "$rootfs"/usr/share/doc
install -d -m 1777 "$rootfs"/tmp
install -d -m 0700 -o 65532 -g 65532 "$rootfs"/home/nonroot
install -d -m 0700 "$rootfs"/root
# Debian 12's merged /usr: /lib and /lib64 are links into /usr, where PT_INTERP and ld.so look.
ln -sfn usr/lib "$rootfs/lib"
ln -sfn usr/lib64 "$rootfs/lib64"

declare -A packages=()

# The Debian package owning PATH (tries the /usr and non-/usr spellings dpkg may have recorded).
owner() {
  local candidate
  for candidate in "$@" "${@/#\/usr\//\/}" "${@/#\//\/usr\/}"; do
    if dpkg-query -S "$candidate" >/dev/null 2>&1; then
      dpkg-query -S "$candidate" 2>/dev/null | head -n1 | cut -d: -f1
      return
    fi
  done
  echo "stage-runtime: no Debian package owns $1" >&2
  return 1
}

for binary in "$@"; do
  # ldd lines: "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and the loader line
  # "/lib64/ld-linux-x86-64.so.2 (0x...)"; linux-vdso has no file.
  while read -r lib; do
    real=$(readlink -f "$lib")
    if [[ $lib == */ld-linux-* ]]; then
      cp "$real" "$rootfs/$libdir/ld-linux-x86-64.so.2"
      ln -sfn "../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" "$rootfs/usr/lib64/ld-linux-x86-64.so.2"
    else
      cp "$real" "$rootfs/$libdir/$(basename "$lib")"
    fi
    pkg=$(owner "$lib" "$real")
    packages[$pkg]=1
  done < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
done

cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
packages[ca-certificates]=1
cp /usr/lib/os-release "$rootfs/etc/os-release"
packages[base-files]=1

cat >"$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nonroot:x:65532:
EOF
# Name lookups (Redis host names) from /etc/hosts first, then DNS; both are built into glibc 2.36.
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

for pkg in "${!packages[@]}"; do
  dpkg-query -s "$pkg" >"$rootfs/var/lib/dpkg/status.d/$pkg"
  if [[ -f /usr/share/doc/$pkg/copyright ]]; then
    install -D -m 0644 "/usr/share/doc/$pkg/copyright" "$rootfs/usr/share/doc/$pkg/copyright"
  fi
done

echo "stage-runtime: $(find "$rootfs/$libdir" -type f | wc -l) libraries from packages:" \
  "$(printf '%s\n' "${!packages[@]}" | sort | tr '\n' ' ')"
du -sh "$rootfs"
