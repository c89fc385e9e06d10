#!/usr/bin/env bash
# Distributed vs single-device search on the flagship scenarios, and the warm start:
# the runs behind the tables of docs/distribution.md.
#
#   scripts/distribution.sh [OUT]          # default OUT: runs/distribution
#
# Environment (all optional):
#   DISTRINAS  the binary (default: target/release/distrinas, built by
#              `cargo build --release`)
#   SCENARIOS  scenario files (default: scenarios/quickstart.ron scenarios/camera-mnist.ron)
#   SEEDS      seeds (default: 1 2 3 4 5)
#   EXTRA      extra `search` options for every run, e.g. "--generations 2 --population 8"
#              for a smoke run (tests/integration/distribution.rs does this)
#
# For each scenario S (file stem) and seed N it writes OUT/S/distributed-N and
# OUT/S/single-N (equal evaluations: same population and generations), then
# `compare` of the ten runs into OUT/S/compare (compare.md holds the tables). The warm
# start (first scenario, every seed): OUT/S/warm-N starts the distributed search from
# the single-device run's front (same seed, so the same train/validation split), and
# OUT/S/warm-compare-N times it against the cold start (distributed-N) with
# `--target-from`.
set -euo pipefail
out=${1:-runs/distribution}
bin=${DISTRINAS:-target/release/distrinas}
scenarios=${SCENARIOS:-scenarios/quickstart.ron scenarios/camera-mnist.ron}
seeds=${SEEDS:-1 2 3 4 5}
extra=${EXTRA:-}
first=""
for sc in $scenarios; do
  name=$(basename "$sc" .ron)
  [ -n "$first" ] || first=$name
  for seed in $seeds; do
    # shellcheck disable=SC2086 # EXTRA is a list of options
    "$bin" search "$sc" --seed "$seed" --out "$out/$name/distributed-$seed" $extra --json > /dev/null
    # shellcheck disable=SC2086
    "$bin" search "$sc" --seed "$seed" --single-device --out "$out/$name/single-$seed" $extra --json > /dev/null
  done
  dirs=()
  for seed in $seeds; do dirs+=("$out/$name/distributed-$seed"); done
  for seed in $seeds; do dirs+=("$out/$name/single-$seed"); done
  "$bin" compare "${dirs[@]}" --out "$out/$name/compare" > /dev/null
  echo "$name: $out/$name/compare/compare.md" >&2
done
sc=$(echo "$scenarios" | awk '{print $1}')
for seed in $seeds; do
  # shellcheck disable=SC2086
  "$bin" search "$sc" --seed "$seed" --warm-start "$out/$first/single-$seed" --out "$out/$first/warm-$seed" $extra --json > /dev/null
  "$bin" compare "$out/$first/distributed-$seed" "$out/$first/warm-$seed" \
    --target-from "$out/$first/distributed-$seed" --out "$out/$first/warm-compare-$seed" > /dev/null
done
echo "warm start: $out/$first/warm-compare-*/compare.md" >&2
