# Shared helpers for infra/*/start.sh and stop.sh. Source it; do not execute it.
# shellcheck shell=bash

INFRA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$INFRA_DIR/.." && pwd)
INFRA_DATA_DIR=${INFRA_DATA_DIR:-$REPO_ROOT/.infra-data}
WORKLOAD_CP_CACHE=${WORKLOAD_CP_CACHE:-$HOME/.cache/workload-cp}

log() { printf '[%s] %s\n' "${LOG_TAG:-infra}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# now_ms: wall clock in milliseconds
now_ms() { date +%s%3N; }
# secs_since START_MS -> "12.3"
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%d' $((d / 1000)) $(((d % 1000) / 100)); }

# hash_files FILE... -> short sha256 over the files' contents (cache key)
hash_files() { cat "$@" | sha256sum | cut -c1-16; }

# tcp_open PORT -> 0 when something accepts on 127.0.0.1:PORT
tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# cmdline_of PID -> the process's command line, arguments separated by spaces (pure bash)
cmdline_of() {
  local -a a=()
  { mapfile -d "" -t a <"/proc/$1/cmdline"; } 2>/dev/null || return 0
  echo "${a[*]}"
}

# pid_alive PIDFILE MATCH -> prints the pid and returns 0 when the pid file names a live process
# whose command line contains MATCH; removes a stale pid file (dead pid or recycled by another
# program) and returns 1.
pid_alive() {
  local pidfile=$1 match=$2 pid
  [[ -s $pidfile ]] || return 1
  pid=$(tr -dc '0-9' <"$pidfile")
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && [[ "$(cmdline_of "$pid")" == *"$match"* ]]; then
    echo "$pid"; return 0
  fi
  rm -f "$pidfile"; return 1
}

# find_pid MATCH -> pid of a live process whose command line contains MATCH (a data-dir specific
# string), used to re-adopt a server whose pid file was lost or overwritten.
find_pid() {
  local match=$1 f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    if [[ "$(cmdline_of "$pid")" == *"$match"* ]]; then echo "$pid"; return 0; fi
  done
  return 1
}

# stop_pid PIDFILE MATCH NAME [GRACE_SECONDS=30]: TERM, wait, KILL after the grace period.
stop_pid() {
  local pidfile=$1 match=$2 name=$3 grace=${4:-30} pid start i
  STOP_PID_KILLED=0 STOP_PID_STOPPED=0
  if ! pid=$(pid_alive "$pidfile" "$match") && ! pid=$(find_pid "$match"); then
    log "$name is not running"; return 0
  fi
  start=$(now_ms)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) still running after ${grace}s: sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    STOP_PID_KILLED=1
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pidfile"; STOP_PID_STOPPED=1
  log "$name stopped (pid $pid, $(secs_since "$start") s)"
}

# populate_from_cache SRC_IN_REPO CACHE_ENTRY: make SRC_IN_REPO a copy of CACHE_ENTRY
# (hard links when on the same file system, else a plain copy).
copy_tree() {
  local from=$1 to=$2
  rm -rf "$to.tmp.$$"; mkdir -p "$(dirname "$to")"
  cp -al "$from" "$to.tmp.$$" 2>/dev/null || { rm -rf "$to.tmp.$$"; cp -a "$from" "$to.tmp.$$"; }
  rm -rf "$to"; mv "$to.tmp.$$" "$to"
}
