#!/usr/bin/env bash
# Installs everything, then runs every test: type-check, lint, unit, loopback and end-to-end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh chromium
npm test
