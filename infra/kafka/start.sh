#!/usr/bin/env bash
# Start a single-node KRaft Kafka broker on 127.0.0.1 (idempotent).
#   KAFKA_PORT (19092)  KAFKA_CONTROLLER_PORT (19093)  INFRA_DATA_DIR (<repo>/.infra-data)
#   KAFKA_NUM_PARTITIONS (3)  KAFKA_START_TIMEOUT (90 s)  KAFKA_JVM_OPTS (override heap/GC flags)
#   WORKLOAD_CP_CACHE (~/.cache/workload-cp): jar cache outside the repo, keyed by pom.xml
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG_TAG=kafka
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

PORT=${KAFKA_PORT:-19092}
CPORT=${KAFKA_CONTROLLER_PORT:-19093}
NUM_PARTITIONS=${KAFKA_NUM_PARTITIONS:-3}
TIMEOUT=${KAFKA_START_TIMEOUT:-90}
DATA="$INFRA_DATA_DIR/kafka"
PIDFILE="$DATA/kafka.pid"
OUT="$DATA/logs/kafka.out"
LIBS="$HERE/target/libs"
MATCH="kafka.Kafka $DATA/server.properties"   # identifies our broker's command line
# default cluster id of Kafka's docker image; any base64 UUID works
CLUSTER_ID=${KAFKA_CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}
command -v java >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"

mkdir -p "$DATA/logs"
exec 9>"$DATA/.start.lock"
flock 9   # serialise concurrent start.sh runs on the same data dir

# ---- already running?
if pid=$(pid_alive "$PIDFILE" "$MATCH") || { pid=$(find_pid "$MATCH") && echo "$pid" >"$PIDFILE"; }; then
  if tcp_open "$PORT"; then
    log "already running and healthy (pid $pid) on 127.0.0.1:$PORT"; exit 0
  fi
  die "pid $pid is alive but 127.0.0.1:$PORT does not accept connections; run $HERE/stop.sh"
fi
tcp_open "$PORT" && die "port $PORT is taken by another process (not our pid file $PIDFILE)"
tcp_open "$CPORT" && die "controller port $CPORT is taken by another process"

# ---- classpath: $WORKLOAD_CP_CACHE/kafka-libs-<hash(pom.xml)> <- mvn; mirrored to in-repo target/libs
KEY=$(hash_files "$HERE/pom.xml")
CACHED="$WORKLOAD_CP_CACHE/kafka-libs-$KEY"
mkdir -p "$WORKLOAD_CP_CACHE"
if [[ ! -f "$CACHED/.key" ]]; then
  if [[ "$(cat "$LIBS/.key" 2>/dev/null)" == "$KEY" ]]; then
    copy_tree "$LIBS" "$CACHED"
  else
    command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
    log "fetching jars with Maven (cache key $KEY)..."
    t=$(now_ms); tmp="$CACHED.tmp.$$"; rm -rf "$tmp"
    mvn -q -B -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" >&2
    echo "$KEY" >"$tmp/.key"
    if ! mv -T "$tmp" "$CACHED" 2>/dev/null; then rm -rf "$tmp"; fi  # lost a race: keep the winner
    log "jars fetched in $(secs_since "$t") s"
  fi
fi
[[ "$(cat "$LIBS/.key" 2>/dev/null)" == "$KEY" ]] || copy_tree "$CACHED" "$LIBS"
# Run from the cache path: it is the same in every clone on this machine, so the AppCDS archive
# below stays valid for all of them. Explicit sorted list => stable order (CDS checks it).
CP=$(printf '%s:' "$CACHED"/*.jar); CP=${CP%:}

# ---- AppCDS (class-data sharing) archive: halves JVM start-up. The first run records it
# (-XX:ArchiveClassesAtExit, written when the broker exits); stop.sh publishes it only after a
# clean exit, because a truncated archive crashes the JVM. KAFKA_CDS=0 disables.
CDS=()
if [[ ${KAFKA_CDS:-1} != 0 ]]; then
  JAVA_REAL=$(readlink -f "$(command -v java)")
  JSA="$WORKLOAD_CP_CACHE/kafka-cds-$KEY-$(echo "$JAVA_REAL $(stat -c %s-%Y "$JAVA_REAL")" | sha256sum | cut -c1-8).jsa"
  if [[ -s $JSA ]]; then
    CDS=(-XX:SharedArchiveFile="$JSA" -Xlog:cds=off -Xlog:cds+dynamic=off)
  else
    if [[ -f $DATA/cds.pending ]]; then read -r old _ <"$DATA/cds.pending" || true; rm -f "${old:-/nonexistent}"; fi
    CDS=(-XX:ArchiveClassesAtExit="$JSA.pending.$$" -Xlog:cds=off -Xlog:cds+dynamic=off)
    echo "$JSA.pending.$$ $JSA" >"$DATA/cds.pending"
  fi
fi

# ---- config + one-time storage format (static quorum => NO --standalone)
sed -e "s#@DATA@#$DATA#g" -e "s#@PORT@#$PORT#g" -e "s#@CONTROLLER_PORT@#$CPORT#g" \
    -e "s#@NUM_PARTITIONS@#$NUM_PARTITIONS#g" "$HERE/server.properties" >"$DATA/server.properties"
LOGOPTS=(-Dlog4j2.configurationFile="$HERE/log4j2.yaml" -Dkafka.logs.dir="$DATA/logs"
         -XX:ErrorFile="$DATA/logs/hs_err_pid%p.log")
# small heap, serial GC, C1 only: fastest start-up on 2 cores; throughput is irrelevant for tests
read -r -a JVM <<<"${KAFKA_JVM_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k -XX:ReservedCodeCacheSize=64m -Djava.awt.headless=true}"

START=$(now_ms)
if [[ ! -f "$DATA/kraft-logs/meta.properties" ]]; then
  FMT_CDS=(); [[ ${CDS[0]:-} == -XX:SharedArchiveFile=* ]] && FMT_CDS=("${CDS[@]}")
  java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 "${FMT_CDS[@]}" "${LOGOPTS[@]}" -cp "$CP" \
       kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$DATA/server.properties" --ignore-formatted \
       >"$DATA/logs/format.out" 2>&1 || { cat "$DATA/logs/format.out" >&2; die "storage format failed"; }
fi

# ---- launch
: >"$OUT"
nohup java "${JVM[@]}" "${CDS[@]}" "${LOGOPTS[@]}" -cp "$CP" kafka.Kafka "$DATA/server.properties" \
  >>"$OUT" 2>&1 </dev/null 9>&- &
echo $! >"$PIDFILE"
pid=$!

# ---- readiness: "Kafka Server started" in the log AND the PLAINTEXT port accepts connections
deadline=$(( $(now_ms) + TIMEOUT * 1000 ))
while (( $(now_ms) < deadline )); do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$PIDFILE"
    if [[ ${CDS[0]:-} == -XX:SharedArchiveFile=* ]]; then   # unusable archive? drop it, retry without
      log "broker exited during start-up with CDS archive $JSA: removing it and retrying"
      rm -f "$JSA"; exec 9>&-; KAFKA_CDS=0 exec "$0" "$@"
    fi
    tail -n 50 "$OUT" >&2; die "broker exited during start-up (log: $OUT)"
  fi
  if grep -q "Kafka Server started" "$OUT" && tcp_open "$PORT"; then
    log "ready on 127.0.0.1:$PORT (pid $pid) in $(secs_since "$START") s; data $DATA"
    exit 0
  fi
  sleep 0.2
done
tail -n 50 "$OUT" >&2
die "not ready after ${TIMEOUT}s (pid $pid still running; log: $OUT)"
