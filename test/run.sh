#!/usr/bin/env bash
# The whole test suite (README: `npm ci && npm test`). Installs the Debian packages the tests need
# when they are missing, builds, then runs every test with node's test runner. In CI (CI=true) a
# piece that cannot be installed fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# package → a binary that proves it is installed
declare -A needed=([redis-server]=redis-server [iproute2]=ip [chromium]=chromium [keepalived]=keepalived)
missing=()
for pkg in "${!needed[@]}"; do command -v "${needed[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing ${missing[*]} from Debian's packages"
  if [ "$(id -u)" -ne 0 ]; then echo "test: need root to apt-get install ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for pkg in "${!needed[@]}"; do
  command -v "${needed[$pkg]}" >/dev/null 2>&1 || { echo "test: ${needed[$pkg]} (package $pkg) is missing" >&2; exit 1; }
done

npm run build --silent
# Two files at a time: the multi-process tests start real CSMs, units and redis-servers.
mapfile -t files < <(find dist/test -name '*.test.js' | sort)
exec node --enable-source-maps --test --test-concurrency=2 --test-timeout=180000 "${files[@]}"
