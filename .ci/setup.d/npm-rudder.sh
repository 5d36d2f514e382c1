#!/usr/bin/env bash
# RudderStack's JavaScript SDKs for the data-plane tests (tests/dataplane/): @rudderstack/analytics-js (run in
# Chromium) and @rudderstack/rudder-sdk-node, pinned by tests/rudder_sdks/package-lock.json.
set -euo pipefail
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
cd tests/rudder_sdks
if [ ! -d node_modules/@rudderstack/analytics-js ] || [ ! -d node_modules/@rudderstack/rudder-sdk-node ]; then
  npm ci --no-audit --no-fund --ignore-scripts
fi
