#!/usr/bin/env bash
# Usage: bench/http-vs-cli.sh [ROUNDS] (default 7; after `npm run bench` or `node bench/generate.ts
# --profile default --out bench/data/default` has made the data). Needs curl, bc, tar.
# Alternates the CLI and POST /compact (multipart upload, tar response) on the bench's default data
# and prints each round, the medians and POST / CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
DATA=bench/data/default
PORT=18089
STORAGE=$(mktemp -d)
PORT=$PORT HOST=127.0.0.1 STORAGE_ROOT=$STORAGE node_modules/.bin/node --import ./src/compile-cache.js src/main.ts > /tmp/http-bench-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf $STORAGE /tmp/http-bench-out' EXIT
for i in $(seq 1 50); do curl -sf localhost:$PORT/readyz >/dev/null && break; sleep 0.2; done
args=()
for f in $DATA/seg-*.parquet; do args+=(-F "file=@$f"); done
clis=()
https=()
for round in $(seq 1 "$ROUNDS"); do
  rm -rf /tmp/http-bench-out; mkdir -p /tmp/http-bench-out
  s=$(date +%s.%N); node_modules/.bin/node bin/metric-compactor.js compact -q -o /tmp/http-bench-out $DATA/seg-*.parquet; e=$(date +%s.%N)
  cli=$(echo "$e - $s" | bc)
  s=$(date +%s.%N); curl -sf "${args[@]}" localhost:$PORT/compact -o /tmp/http-bench-out/out.tar; e=$(date +%s.%N)
  http=$(echo "$e - $s" | bc)
  entries=$(tar -tf /tmp/http-bench-out/out.tar | wc -l)
  clis+=("$cli"); https+=("$http")
  printf 'round %d: cli %.2fs  http %.2fs  tar entries %d\n' "$round" "$cli" "$http" "$entries"
done
median () { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
mc=$(median "${clis[@]}"); mh=$(median "${https[@]}")
printf 'median: cli %.2fs  http %.2fs  POST/CLI %.2f\n' "$mc" "$mh" "$(echo "$mh / $mc" | bc -l)"
