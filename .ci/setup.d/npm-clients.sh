#!/usr/bin/env bash
# The official Mixpanel JavaScript clients for tests/js (the Node client `mixpanel`, `mixpanel-browser`),
# installed from the npm registry exactly as tests/js/package-lock.json pins them.
set -euo pipefail
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
cd tests/js
npm ci --no-audit --no-fund --loglevel=error
node --version
