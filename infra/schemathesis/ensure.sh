#!/usr/bin/env bash
# Ensure a Python venv with schemathesis (pinned in requirements.txt) and print its bin/ path.
#   WORKLOAD_CP_CACHE (~/.cache/workload-cp): the venv lives there, keyed by requirements.txt and
#   the python3 it was made with, so every clone on this machine reuses it (like Kafka's jars).
#   infra/schemathesis/.venv (ignored) is a symlink to it, for people running it by hand.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=schemathesis
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

command -v python3 >/dev/null || die "python3 not found (apt-get install -y python3 python3-venv)"
PY=$(command -v python3)
# A venv is tied to the interpreter it was made with: its version is part of the key.
KEY=$( { cat "$HERE/requirements.txt"; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-16)
VENV="$WORKLOAD_CP_CACHE/schemathesis-venv-$KEY"
mkdir -p "$WORKLOAD_CP_CACHE"
exec 9>"$WORKLOAD_CP_CACHE/.schemathesis-venv.lock"
flock 9   # concurrent clones build one venv

if [[ ! -f "$VENV/.key" ]]; then
  log "building the venv (cache key $KEY) with $PY..."
  t=$(now_ms)
  # Built in place under its final name: a venv's scripts name their own absolute path.
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$HERE/requirements.txt" >&2
  echo "$KEY" >"$VENV/.key"
  log "venv built in $(secs_since "$t") s"
fi
ln -sfn "$VENV" "$HERE/.venv"
echo "$VENV/bin"
