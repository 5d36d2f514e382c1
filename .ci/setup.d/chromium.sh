#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright drives it with executable_path; browsers cannot be
# downloaded by `playwright install` here).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --version 2>/dev/null || true
