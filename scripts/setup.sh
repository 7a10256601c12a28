#!/usr/bin/env bash
# Installs what Portico needs on a fresh Debian machine (as root), then the npm packages, then builds.
# Extra Debian packages may be named as arguments (the tests add chromium for the console's browser tests).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(openssl openssh-server openssh-client postgresql influxdb influxdb-client python3-influxdb build-essential python3 curl "$@")
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "==> npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "==> build"
npm run --silent build
