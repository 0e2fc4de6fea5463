#!/usr/bin/env bash
# CI under load: runs `.ci/run` as the landing runs it (CI=true, no standard input, a fresh
# clone of the committed HEAD) while CPU-bound workers keep every core busy, several times,
# and records each run's verdict and duration. A verdict that changes under load is a test
# whose outcome depends on timing: a defect.
#
#   make ci-soak                       # 3 runs, one busy worker per core
#   SOAK_RUNS=5 SOAK_WORKERS=4 make ci-soak
#   SOAK_REF=<commit> make ci-soak     # soak that commit instead of HEAD
#   SOAK_SHARED_TARGET=1 make ci-soak  # runs after the first keep the first one's build
#                                      # cache (target/, moved into the next fresh clone)
#
# Results: target/soak/results.txt (one line per run), target/soak/timings.txt (the build,
# the slowest test binaries and each CI step, per run) and target/soak/run-<n>.log. The load
# is local only (busy loops), bounded by the runs, and stopped on exit whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
runs=${SOAK_RUNS:-3}
workers=${SOAK_WORKERS:-$(nproc)}
shared_target=${SOAK_SHARED_TARGET:-0}
out="$root/target/soak"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/offsite-soak.XXXXXX")
load_pids=()

stop_load() {
  for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  load_pids=()
}
cleanup() {
  stop_load
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_load() {
  for _ in $(seq "$workers"); do
    # A busy loop per worker, at normal priority: CI's own processes compete with it.
    ( while :; do :; done ) &
    load_pids+=("$!")
  done
}

commit=$(git rev-parse --short "${SOAK_REF:-HEAD}")
if [ -z "${SOAK_REF:-}" ] && [ -n "$(git status --porcelain)" ]; then
  echo "ci-soak: uncommitted changes are not soaked: testing $commit as committed" >&2
fi
echo "# ci-soak of $commit: $runs runs of CI=true .ci/run on a fresh clone, $workers busy workers on $(nproc) cores ($(date -u +%FT%TZ))" |
  tee "$out/results.txt"
: >"$out/timings.txt"
passed=0
for n in $(seq "$runs"); do
  # One path for every run's clone, so a kept build cache stays valid in the next one.
  clone="$work/checkout"
  git clone --quiet --no-hardlinks "$root" "$clone"
  git -C "$clone" checkout --quiet --detach "$commit"
  if [ "$shared_target" = 1 ] && [ -d "$work/target-kept" ]; then
    mv "$work/target-kept" "$clone/target"
  fi
  # The landing lays a copy of shared/ beside the clone.
  [ -d "$root/../shared" ] && cp -r "$root/../shared" "$work/shared" 2>/dev/null || true
  start_load
  started=$(date +%s)
  if (cd "$clone" && CI=true bash .ci/run </dev/null >"$out/run-$n.log" 2>&1); then
    verdict=passed
    passed=$((passed + 1))
  else
    verdict=FAILED
  fi
  took=$(($(date +%s) - started))
  stop_load
  # Where the run spent its time: the build, each test binary (slowest first), each CI step.
  {
    echo "run $n timings:"
    grep -E 'Finished `dev` profile' "$out/run-$n.log" | sed 's/^ */  build: /'
    awk '/^ *Running /{bin=$2} /^ *Doc-tests /{bin="doc-tests " $2} /^test result:/{for(i=1;i<=NF;i++) if($i=="in"){t=$(i+1); sub(/s$/,"",t); printf "  %8.1f s  %s\n", t, bin}}' \
      "$out/run-$n.log" | sort -rn | head -12
    grep -E "^ci: '.*' took" "$out/run-$n.log" | sed 's/^/  /'
  } >>"$out/timings.txt"
  line="run $n: $verdict in ${took}s ($(grep -E '^chaos: [0-9]+ snapshots' "$out/run-$n.log" | head -1 || true))"
  echo "$line" | tee -a "$out/results.txt"
  if [ "$shared_target" = 1 ] && [ -d "$clone/target" ]; then
    mv "$clone/target" "$work/target-kept"
  fi
  rm -rf "$clone" "$work/shared"
done
echo "ci-soak: $passed/$runs runs passed under load" | tee -a "$out/results.txt"
[ "$passed" = "$runs" ]
