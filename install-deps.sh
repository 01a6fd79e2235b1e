#!/usr/bin/env bash
# install-deps.sh — installs everything brook needs on Debian 12 (run as root,
# or with sudo available). Idempotent: does nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(build-essential meson ninja-build pkg-config python3
      librdkafka-dev librocksdb-dev libglib2.0-dev libjson-glib-dev
      libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev
      clang libclang-rt-14-dev
      kcat python3-kafka python3-confluent-kafka python3-snappy python3-lz4 python3-zstandard)
# Node.js and npm (kafkajs tests): Debian's packages unless a node with npm is
# already there (a nodesource nodejs bundles npm and conflicts with Debian's).
command -v node >/dev/null || PKGS+=(nodejs)
command -v npm >/dev/null || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# kafkajs for the cross-client tests (pinned in tests/clients/package-lock.json)
if [ -f tests/clients/package-lock.json ] && [ ! -d tests/clients/node_modules/kafkajs ]; then
  echo "install-deps: npm ci in tests/clients"
  npm ci --prefix tests/clients --no-audit --no-fund --loglevel=error >/dev/null
fi
