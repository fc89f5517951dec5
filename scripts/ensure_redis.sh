#!/bin/sh
# The scale-out tests start a real Redis (Debian's redis-server) on a loopback port.
# Install it where it is missing; quiet and idempotent (nothing happens when it is there).
# The tests never use a system service: they start their own server on a free port.
set -eu
command -v redis-server >/dev/null 2>&1 && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "redis-server is missing: install it (Debian: apt-get install redis-server)" >&2
    exit 1
fi
echo "installing redis-server (Debian package) for the scale-out tests" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
fi
