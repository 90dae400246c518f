#!/usr/bin/env bash
# Installs what the end-to-end suite needs on this kind of machine (Debian 12, root) and builds
# the one-time cached base image rootfs. Idempotent and fast when everything is already there:
# `.ci/run` calls it before `npm run test:e2e`. See e2e/README.md for the topology.
set -euo pipefail

cache_dir=${E2E_CACHE_DIR:-/var/cache/challenge-deploy-e2e}
base_tar="$cache_dir/base-bookworm.tar"

# podman + runc + docker-compose v1 stand in for a Docker engine; docker-registry for ECR's
# registry; haproxy for the load balancer; awscli for the instances' `aws ecr get-login-password`;
# debootstrap for the base image (nothing can be pulled from the internet here); catatonit is
# podman's init for compose's `init: true`.
# netavark, aardvark-dns and iptables are only recommended or suggested by podman, but compose's
# `ports:` (service/docker-compose.yml publishes 80:8080) needs them inside each instance.
packages=(podman runc buildah netavark aardvark-dns iptables docker-compose docker-registry skopeo
  debootstrap apache2-utils haproxy iproute2 awscli curl openssl catatonit postgresql
  ca-certificates)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "e2e: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q -o DPkg::Lock::Timeout=600
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi

for cmd in docker node; do
  command -v "$cmd" >/dev/null || { echo "e2e: '$cmd' is required on PATH" >&2; exit 1; }
done

# Simulated instances bind-mount their own directory here (in their own mount namespace);
# the host only needs the empty mount point.
mkdir -p /opt/challenge-app

# Base image rootfs: debootstrap minbase bookworm, trimmed, cached as a tarball for `podman import`.
if [[ ! -s "$base_tar" ]]; then
  echo "e2e: building the base image rootfs (one time, about a minute)"
  mkdir -p "$cache_dir"
  work=$(mktemp -d /tmp/ce2e-debootstrap.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
  debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" \
    >"$work/debootstrap.log" 2>&1 || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/lib/apt/lists/* \
    "$work/rootfs"/usr/share/doc/* "$work/rootfs"/usr/share/man/* "$work/rootfs"/usr/share/locale/*
  tar -C "$work/rootfs" -cf "$base_tar.tmp" .
  mv "$base_tar.tmp" "$base_tar"
fi
echo "e2e: dependencies ready (base rootfs: $base_tar)"
