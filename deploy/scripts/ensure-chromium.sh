#!/usr/bin/env bash
# Debian's Chromium (Playwright drives /usr/bin/chromium; downloading a browser is not possible here).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "Installing Chromium from Debian…"
as_root apt-get update -qq >/dev/null || true
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromium --version
