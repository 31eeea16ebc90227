#!/usr/bin/env bash
# Start FerretDB v1.24.2 (SQLite backend) embedded in ./main.go on 127.0.0.1 (idempotent).
#   FERRETDB_PORT (27117)  INFRA_DATA_DIR (<repo>/.infra-data)  FERRETDB_LOG_LEVEL (warn)
#   FERRETDB_START_TIMEOUT (30 s)
#   WORKLOAD_CP_CACHE (~/.cache/workload-cp): binary cache outside the repo, keyed by go.mod+go.sum+main.go
# The first build (no Go build cache) takes about a minute on 2 cores.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=ferretdb
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

PORT=${FERRETDB_PORT:-27117}
TIMEOUT=${FERRETDB_START_TIMEOUT:-30}
DATA="$INFRA_DATA_DIR/ferretdb"
PIDFILE="$DATA/ferretdb.pid"
OUT="$DATA/ferretdb.log"
BIN="$HERE/bin/ferretdb-runner"
MATCH="--sqlite-url=file:$DATA/sqlite/"   # identifies our server's command line

mkdir -p "$DATA/sqlite"   # the SQLite directory must exist before start
exec 9>"$DATA/.start.lock"
flock 9

# ---- already running?
if pid=$(pid_alive "$PIDFILE" "$MATCH") || { pid=$(find_pid "$MATCH") && echo "$pid" >"$PIDFILE"; }; then
  if tcp_open "$PORT"; then
    log "already running and healthy (pid $pid) on 127.0.0.1:$PORT"; exit 0
  fi
  die "pid $pid is alive but 127.0.0.1:$PORT does not accept connections; run $HERE/stop.sh"
fi
tcp_open "$PORT" && die "port $PORT is taken by another process (not our pid file $PIDFILE)"

# ---- binary: in-repo bin/ <- $WORKLOAD_CP_CACHE/ferretdb-runner-<hash> <- go build
KEY=$(hash_files "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" "$HERE/patches/sqlite-metadata.go")
CACHED="$WORKLOAD_CP_CACHE/ferretdb-runner-$KEY"
if [[ ! -x $BIN || "$(cat "$HERE/bin/.key" 2>/dev/null)" != "$KEY" ]]; then
  if [[ ! -x $CACHED ]]; then
    command -v go >/dev/null || die "go not found (Go >= 1.24 required)"
    log "building ferretdb-runner (cache key $KEY; first build takes ~1 min)..."
    t=$(now_ms); mkdir -p "$WORKLOAD_CP_CACHE"; tmp="$CACHED.tmp.$$"
    # patches/: files of FerretDB replaced at build time, in a vendored copy (files under
    # GOMODCACHE cannot be overlaid); see infra/README.md.
    work="$tmp.src"; rm -rf "$work"; mkdir -p "$work"
    cp "$HERE/go.mod" "$HERE/go.sum" "$HERE/main.go" "$work/"
    (cd "$work" && go mod vendor &&
      cp "$HERE/patches/sqlite-metadata.go" vendor/github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata/metadata.go &&
      CGO_ENABLED=0 go build -mod=vendor -buildvcs=false -trimpath -o "$tmp" .) >&2 ||
      { rm -rf "$tmp" "$work"; die "go build failed"; }
    rm -rf "$work"
    mv -f "$tmp" "$CACHED"
    log "built in $(secs_since "$t") s"
  fi
  mkdir -p "$HERE/bin"
  ln -f "$CACHED" "$BIN.tmp.$$" 2>/dev/null || cp -f "$CACHED" "$BIN.tmp.$$"
  mv -f "$BIN.tmp.$$" "$BIN"
  echo "$KEY" >"$HERE/bin/.key"
fi

# ---- launch + readiness: the READY line (printed once the socket is bound) AND a TCP connect
START=$(now_ms)
: >"$OUT"
# synchronous(normal): WAL stays consistent after a crash; only the last commits before a power
# loss could go. Right for a test server, and it makes each write several times cheaper.
nohup "$BIN" --listen-addr="127.0.0.1:$PORT" --handler=sqlite --sqlite-url="file:$DATA/sqlite/?_pragma=synchronous(normal)" \
  --log-level="${FERRETDB_LOG_LEVEL:-warn}" >>"$OUT" 2>&1 </dev/null 9>&- &
pid=$!
echo "$pid" >"$PIDFILE"
deadline=$(( $(now_ms) + TIMEOUT * 1000 ))
while (( $(now_ms) < deadline )); do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$PIDFILE"; tail -n 50 "$OUT" >&2; die "ferretdb exited during start-up (log: $OUT)"
  fi
  if grep -q "^READY" "$OUT" && tcp_open "$PORT"; then
    log "ready on 127.0.0.1:$PORT (pid $pid) in $(secs_since "$START") s; data $DATA"
    exit 0
  fi
  sleep 0.1
done
tail -n 50 "$OUT" >&2
die "not ready after ${TIMEOUT}s (pid $pid still running; log: $OUT)"
