#!/usr/bin/env bash
# Start Kafka and FerretDB in parallel (idempotent) and print the env to use.
# Skips Kafka when KAFKA_BROKERS is already set, FerretDB when MONGODB_URI is already set.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=up
# shellcheck source=lib.sh
source "$HERE/lib.sh"
export INFRA_DATA_DIR WORKLOAD_CP_CACHE

pids=() names=()
if [[ -n ${KAFKA_BROKERS:-} ]]; then
  log "KAFKA_BROKERS is set ($KAFKA_BROKERS): not starting Kafka"
else
  "$HERE/kafka/start.sh" & pids+=($!); names+=(kafka)
fi
if [[ -n ${MONGODB_URI:-} ]]; then
  log "MONGODB_URI is set ($MONGODB_URI): not starting FerretDB"
else
  "$HERE/ferretdb/start.sh" & pids+=($!); names+=(ferretdb)
fi

rc=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { log "${names[$i]} failed to start"; rc=1; }
done
if ((rc)); then
  log "start-up failed; stopping what was started"
  "$HERE/down.sh" || true
  exit 1
fi
echo "KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:${KAFKA_PORT:-19092}} MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:${FERRETDB_PORT:-27117}/}"
