#!/bin/bash
# The CLI at an earlier commit against the working tree, alternated (old, new, old, new ...) on the
# bench data sets: wall seconds of each run and the medians. For a change that must not cost speed.
#
#   bash bench/ab.sh REV [ROUNDS] [PROFILES]   # ROUNDS per profile (5); PROFILES e.g. "default@10000,wide@10000"
#                                              # (default, rollup and wide); data from `npm run bench` (bench/data/)
set -euo pipefail
REV=${1:?usage: bench/ab.sh REV [ROUNDS]}
ROUNDS=${2:-5}
HERE=$(cd "$(dirname "$0")/.." && pwd)
OLD=$(mktemp -d /tmp/metric-compactor-ab-XXXXXX)
trap 'git -C "$HERE" worktree remove --force "$OLD" >/dev/null 2>&1 || rm -rf "$OLD"' EXIT
git -C "$HERE" worktree add -q --detach "$OLD" "$REV"
ln -s "$HERE/node_modules" "$OLD/node_modules"
NODE="$HERE/node_modules/.bin/node"
[ -x "$NODE" ] || NODE=node
RESULTS=$(mktemp)
PROFILES=${3:-default@10000,default@60000,wide@10000}
for profile in ${PROFILES//,/ }; do
  set -- ${profile/@/ }
  for _ in $(seq 1 "$ROUNDS"); do
    for side in old new; do
      dir=$HERE; [ "$side" = old ] && dir=$OLD
      out=$(mktemp -d)
      start=$(date +%s.%N)
      (cd "$dir" && "$NODE" bin/metric-compactor.js compact -q --frequency-ms "$2" -o "$out" "$HERE"/bench/data/"$1"/*.parquet)
      end=$(date +%s.%N)
      rm -rf "$out"
      echo "$1@$2 $side $(echo "$end - $start" | bc)" | tee -a "$RESULTS"
    done
  done
done
"$NODE" -e '
const runs = {}
for (const line of require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n")) {
  const [profile, side, s] = line.split(" ")
  ;((runs[profile] ??= { old: [], new: [] })[side]).push(Number(s))
}
const median = a => { const s = [...a].sort((x, y) => x - y); return s[s.length >> 1] }
for (const [profile, { old, new: now }] of Object.entries(runs)) {
  console.log(`${profile}: old ${median(old).toFixed(2)} s, new ${median(now).toFixed(2)} s, new/old ${(median(now) / median(old)).toFixed(3)}`)
}' "$RESULTS"
rm -f "$RESULTS"
