#!/usr/bin/env bash
# One ablation arm of the inquiry experiment (docs/results-inquiry.md), on a finished
# scripts/learn_inquiry.sh run:
#
#   scripts/ablate_inquiry.sh RUN_DIR NAME [options that make the arm ...]
#   e.g. scripts/ablate_inquiry.sh runs/learn-inquiry w_turn_0.02 --model.reward.w_turn 0.02
#
# The arm starts GRPO from the run's own warm-up adapter (RUN/fit/.../adapters/warmup, so every arm
# and the main line share one warm-up and the "after warm-up" evaluation), changes what its options
# say and nothing else, and is tested on the run's held-out patients:
#   RUN/arms/NAME/fit      warm-up adapter -> GRPO (the recipe of configs/cpu.yaml + smollm2-inquiry.yaml)
#   RUN/arms/NAME/trained  the arm's trained adapter on RUN/heldout.jsonl
# scripts/learn_summary.py RUN then prints the arm as its own line, paired against the warm-up,
# with its share of zero-variance groups.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/ablate_inquiry.sh RUN_DIR NAME [options ...]" >&2
  exit 2
fi
RUN=$1 NAME=$2
shift 2
WARM="$RUN/fit/lightning_logs/version_0/adapters/warmup"
if [ ! -f "$WARM/adapter_config.json" ] || [ ! -f "$RUN/heldout.jsonl" ]; then
  echo "ablate_inquiry.sh: $RUN has no warm-up adapter ($WARM) or held-out patients ($RUN/heldout.jsonl): run scripts/learn_inquiry.sh $RUN first" >&2
  exit 2
fi
ARM="$RUN/arms/$NAME"
if [ -e "$ARM" ]; then
  echo "ablate_inquiry.sh: $ARM exists; give another NAME or remove it" >&2
  exit 2
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python}
CONFIG=(--config configs/cpu.yaml --config configs/smollm2-inquiry.yaml)
QUIET=(--trainer.enable_progress_bar=false)
mkdir -p "$ARM"
printf '%s\n' "$@" > "$ARM/options.txt"
start=$(date +%s)
echo "== arm $NAME: GRPO from the warm-up adapter"
$PY -m grpodx fit "${CONFIG[@]}" "${QUIET[@]}" --model.policy.adapter_path "$WARM" --warmup.steps 0 --trainer.default_root_dir "$ARM/fit" "$@"
echo "== arm $NAME: on the held-out patients ($(( $(date +%s) - start )) s)"
$PY -m grpodx test "${CONFIG[@]}" --data.test_cases "jsonl:$RUN/heldout.jsonl" "${QUIET[@]}" \
  --model.policy.adapter_path "$ARM/fit/lightning_logs/version_0/adapters/final" --trainer.default_root_dir "$ARM/trained" "$@"
echo "== arm $NAME: done ($(( $(date +%s) - start )) s)"
