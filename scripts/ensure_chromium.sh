#!/usr/bin/env bash
# The try-it page's browser test drives Debian's chromium (tests/integration/ecosystem/
# test_page.py). Installed once, quietly, where apt-get can; a no-op once it is there.
set -euo pipefail
command -v chromium >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the browser test (apt-get)..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is missing and apt-get cannot install it here: the browser test will fail" >&2
fi
