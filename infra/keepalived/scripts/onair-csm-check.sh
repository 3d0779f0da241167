#!/bin/sh
# keepalived track script (vrrp_script) for an OnAir CSM host: is this host's CSM healthy?
#
#   onair-csm-check.sh URL TIMEOUT_SECONDS
#
# Exits 0 when GET URL answers 2xx within TIMEOUT_SECONDS, else 1. URL is the local CSM's /healthz,
# which answers 200 while the CSM is healthy (active or backup) and 503 when it is stalled, closing or
# fenced; it does not fail because Redis alone is away. curl when installed, else node (which every
# CSM host has). Installed root-owned, mode 0755, in a directory only root can write: keepalived's
# enable_script_security refuses to run it otherwise.
set -u
url=${1:?usage: onair-csm-check.sh URL TIMEOUT_SECONDS}
seconds=${2:-2}
if command -v curl >/dev/null 2>&1; then
  exec curl --fail --silent --show-error --output /dev/null --noproxy '*' --max-time "$seconds" "$url"
fi
if command -v node >/dev/null 2>&1; then
  exec node -e '
const [url, seconds] = process.argv.slice(1);
fetch(url, { signal: AbortSignal.timeout(Number(seconds) * 1000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);' "$url" "$seconds"
fi
echo "onair-csm-check: neither curl nor node is installed" >&2
exit 1
