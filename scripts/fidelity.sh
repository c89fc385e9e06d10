#!/usr/bin/env bash
# The same search with and without the surrogate (and with its two models), over
# seeds: the runs behind the tables of docs/fidelity.md.
#
#   scripts/fidelity.sh [OUT]          # default OUT: runs/fidelity
#
# Environment (all optional):
#   DISTRINAS  the binary (default: target/release/distrinas, built by
#              `cargo build --release`)
#   SCENARIOS  scenario files (default: scenarios/quickstart.ron)
#   SEEDS      seeds (default: 1 2 3 4 5)
#   MODELS     surrogate models besides the plain search (default: ridge linear)
#   EXTRA      extra `search` options for every run (default: --final-epochs 0; the
#              final training is the same work with or without the surrogate)
#
# For each scenario S (file stem), seed N and model M it writes OUT/S/plain-N and
# OUT/S/M-N, then `compare` of all of them into OUT/S/compare (compare.md holds the
# tables: hypervolume on one normalisation, trainings, trainings and seconds to the
# target hypervolume, hypervolume at the quickest run's time, rank correlation).
set -euo pipefail
out=${1:-runs/fidelity}
bin=${DISTRINAS:-target/release/distrinas}
scenarios=${SCENARIOS:-scenarios/quickstart.ron}
seeds=${SEEDS:-1 2 3 4 5}
models=${MODELS:-ridge linear}
extra=${EXTRA:---final-epochs 0}
for sc in $scenarios; do
  name=$(basename "$sc" .ron)
  dirs=()
  for seed in $seeds; do
    # shellcheck disable=SC2086 # EXTRA is a list of options
    "$bin" search "$sc" --seed "$seed" --out "$out/$name/plain-$seed" --force $extra --json > /dev/null
    dirs+=("$out/$name/plain-$seed")
    for m in $models; do
      # shellcheck disable=SC2086
      "$bin" search "$sc" --seed "$seed" --surrogate-model "$m" --out "$out/$name/$m-$seed" --force $extra --json > /dev/null
      dirs+=("$out/$name/$m-$seed")
    done
  done
  "$bin" compare "${dirs[@]}" --out "$out/$name/compare" > /dev/null
  echo "$name: $out/$name/compare/compare.md" >&2
done
