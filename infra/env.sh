# Source me: `source infra/env.sh` exports the endpoints of the servers that infra/up.sh starts.
# Values already set in the environment win (e.g. a real mongod in MONGODB_URI).
# shellcheck shell=bash
export KAFKA_PORT=${KAFKA_PORT:-19092}
export KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-19093}
export FERRETDB_PORT=${FERRETDB_PORT:-27117}
export KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}
export MONGODB_URI=${MONGODB_URI:-mongodb://127.0.0.1:$FERRETDB_PORT/}
