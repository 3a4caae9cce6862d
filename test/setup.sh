#!/usr/bin/env bash
# Installs the servers the integration tests start themselves: Debian's redis-server
# (the team tier's tests run their own instance on a free loopback port). Idempotent.
set -euo pipefail
if command -v redis-server >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "test setup: redis-server is missing: sudo apt-get install redis-server" >&2
  exit 1
fi
echo "test setup: apt-get install redis-server"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# Debian starts a system instance on 6379; the tests use their own, so it is stopped if it runs.
(service redis-server stop || pkill -x redis-server || true) >/dev/null 2>&1
