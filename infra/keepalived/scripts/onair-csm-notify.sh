#!/bin/sh
# keepalived notify script for an OnAir CSM host: tell this host's CSM the role VRRP gave it.
#
#   onair-csm-notify.sh --action promote|demote --url URL [--event NAME] [--env-file FILE]
#                       [--state-file FILE] [--log FILE] [--attempts N] [--call-timeout S] -- ONAIR...
#
# Runs `ONAIR... csm-ctl <action> --url URL --timeout-ms … --reason "keepalived EVENT"` (ONAIR... is
# the command that runs `onair`, e.g. /usr/bin/node /opt/onair/bin/onair.js) with
# ONAIR_CSM_CLUSTER_SECRET read from --env-file (only that line: the file is the CSM's systemd
# EnvironmentFile and may hold JSON values a shell would mangle). keepalived starts notify scripts without waiting for them, so transitions can overlap: each
# call writes itself to --state-file as the latest wanted role, calls run one at a time (flock), and a
# call that a later transition has superseded gives up. A failed call is tried again, 1 s apart, up to
# --attempts times while it is still the latest. Every call and outcome goes to --log.
set -u
action='' url='' event='' env_file='' state_file=/run/onair/keepalived-role log_file='' attempts=5 call_timeout=5
usage() {
  echo "usage: onair-csm-notify.sh --action promote|demote --url URL [--event NAME] [--env-file FILE] [--state-file FILE] [--log FILE] [--attempts N] [--call-timeout S] -- ONAIR..." >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case $1 in
    --action) action=${2:-}; shift 2 || usage ;;
    --url) url=${2:-}; shift 2 || usage ;;
    --event) event=${2:-}; shift 2 || usage ;;
    --env-file) env_file=${2:-}; shift 2 || usage ;;
    --state-file) state_file=${2:-}; shift 2 || usage ;;
    --log) log_file=${2:-}; shift 2 || usage ;;
    --attempts) attempts=${2:-}; shift 2 || usage ;;
    --call-timeout) call_timeout=${2:-}; shift 2 || usage ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
case $action in promote | demote) ;; *) usage ;; esac
[ -n "$url" ] && [ $# -gt 0 ] || usage

log() {
  line="$(date '+%Y-%m-%dT%H:%M:%S.%N%z') pid=$$ event=${event:-?} action=$action $*"
  if [ -n "$log_file" ]; then
    mkdir -p "$(dirname "$log_file")" 2>/dev/null
    printf '%s\n' "$line" >>"$log_file"
  else
    printf '%s\n' "$line" >&2
  fi
}

if [ -n "$env_file" ] && [ -r "$env_file" ]; then
  secret=$(sed -n 's/^[[:space:]]*\(export[[:space:]][[:space:]]*\)\{0,1\}ONAIR_CSM_CLUSTER_SECRET=//p' "$env_file" | tail -n 1)
  case $secret in
    \"*\") secret=${secret#\"}; secret=${secret%\"} ;;
    \'*\') secret=${secret#\'}; secret=${secret%\'} ;;
  esac
  if [ -n "$secret" ]; then ONAIR_CSM_CLUSTER_SECRET=$secret; export ONAIR_CSM_CLUSTER_SECRET; fi
fi

mkdir -p "$(dirname "$state_file")"
me="$(date +%s%N) $$ $action"
printf '%s\n' "$me" >"$state_file.$$" && mv -f "$state_file.$$" "$state_file"
log "called"

if command -v flock >/dev/null 2>&1; then
  exec 9>>"$state_file.lock"
  flock -w $((attempts * (call_timeout + 1) + 5)) 9 || log "lock not taken in time; going on"
fi
# csm-ctl bounds its own call; `timeout` (coreutils) is the backstop should it hang anyway
if command -v timeout >/dev/null 2>&1; then limit="timeout -s KILL $((call_timeout + 2))"; else limit=''; fi

tries=0
while :; do
  latest=$(cat "$state_file" 2>/dev/null)
  if [ "$latest" != "$me" ]; then
    log "superseded by a later transition ($latest)"
    exit 0
  fi
  tries=$((tries + 1))
  if out=$($limit "$@" csm-ctl "$action" --url "$url" --timeout-ms $((call_timeout * 1000)) --reason "keepalived ${event:-notify}" 2>&1); then
    log "ok (try $tries): $(printf '%s' "$out" | tr '\n' ' ')"
    exit 0
  fi
  log "failed (try $tries of $attempts): $(printf '%s' "$out" | tr '\n' ' ')"
  [ "$tries" -ge "$attempts" ] && exit 1
  sleep 1
done
