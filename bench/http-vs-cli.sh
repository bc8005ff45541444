#!/usr/bin/env bash
# Usage: bench/http-vs-cli.sh (after `npm run bench` has generated bench/data/default). Needs curl, bc, tar.
# Alternates the CLI and POST /compact (multipart upload, tar response) on the bench's default data.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench/data/default
PORT=18089
STORAGE=$(mktemp -d)
PORT=$PORT HOST=127.0.0.1 STORAGE_ROOT=$STORAGE node_modules/.bin/node src/main.ts > /tmp/http-bench-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf $STORAGE /tmp/http-bench-out' EXIT
for i in $(seq 1 50); do curl -sf localhost:$PORT/healthz >/dev/null && break; sleep 0.2; done
args=()
for f in $DATA/seg-*.parquet; do args+=(-F "file=@$f"); done
for round in 1 2 3; do
  rm -rf /tmp/http-bench-out; mkdir -p /tmp/http-bench-out
  s=$(date +%s.%N); node_modules/.bin/node bin/metric-compactor.js compact -q -o /tmp/http-bench-out $DATA/seg-*.parquet; e=$(date +%s.%N)
  cli=$(echo "$e - $s" | bc)
  s=$(date +%s.%N); curl -sf "${args[@]}" localhost:$PORT/compact -o /tmp/http-bench-out/out.tar; e=$(date +%s.%N)
  http=$(echo "$e - $s" | bc)
  entries=$(tar -tf /tmp/http-bench-out/out.tar | wc -l)
  echo "round $round: cli ${cli}s  http ${http}s  tar entries $entries"
done
