#!/usr/bin/env bash
# Does it learn? The whole experiment of the README's "Does it learn?" section, in one command:
#
#   scripts/learn.sh [RUN_DIR] [extra options for every stage ...]
#
# 1. test   the untrained SmolLM2-135M-Instruct on the held-out test cases     -> RUN/base
# 2. fit    supervised warm-up on training-split conversations, then GRPO        -> RUN/fit
# 3. test   the warmed-up adapter (GRPO's gain is then its own line)            -> RUN/warm
# 4. test   the GRPO-trained adapter                                             -> RUN/trained
# 5. test   base and trained on cases of 12 diagnoses never trained on           -> RUN/unseen_*
# 6. a summary table (scripts/learn_summary.py) and report pages: trained vs base, warm vs base
#
# Extra options go to every stage, e.g. a pilot: scripts/learn.sh runs/pilot --trainer.max_steps 10
# or a local model folder: --model.policy.model /path/to/SmolLM2-135M-Instruct
# 37 minutes on 2 CPU cores, measured (README "Does it learn?").
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:-runs/learn}
shift || true
if [ -e "$RUN" ]; then
  echo "learn.sh: $RUN exists; give another RUN_DIR or remove it" >&2
  exit 2
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python}
CONFIG=(--config configs/smollm2-learn.yaml)
UNSEEN=(--config configs/smollm2-unseen-diagnoses.yaml)
QUIET=(--trainer.enable_progress_bar=false)
start=$(date +%s)
stage() { echo "== $1 ($(( $(date +%s) - start )) s)"; }

stage "1/5 base on held-out cases"
$PY -m grpodx test "${CONFIG[@]}" --trainer.default_root_dir "$RUN/base" "$@"
stage "2/5 warm-up + GRPO"
$PY -m grpodx fit "${CONFIG[@]}" --trainer.default_root_dir "$RUN/fit" "$@"
ADAPTERS="$RUN/fit/lightning_logs/version_0/adapters"
stage "3/5 after warm-up"
$PY -m grpodx test "${CONFIG[@]}" --model.policy.adapter_path "$ADAPTERS/warmup" --trainer.default_root_dir "$RUN/warm" "$@"
stage "4/5 after GRPO"
$PY -m grpodx test "${CONFIG[@]}" --model.policy.adapter_path "$ADAPTERS/final" --trainer.default_root_dir "$RUN/trained" "$@"
stage "5/5 held-out diagnoses: base and trained"
$PY -m grpodx test "${CONFIG[@]}" "${UNSEEN[@]}" --trainer.default_root_dir "$RUN/unseen_base" "$@"
$PY -m grpodx test "${CONFIG[@]}" "${UNSEEN[@]}" --model.policy.adapter_path "$ADAPTERS/final" --trainer.default_root_dir "$RUN/unseen_trained" "$@"
stage "done"
$PY scripts/learn_summary.py "$RUN" | tee "$RUN/summary.md"
$PY -m grpodx report "$RUN/trained" --compare "$RUN/base" --curves "$RUN/fit" --out "$RUN/trained_vs_base.html"
$PY -m grpodx report "$RUN/warm" --compare "$RUN/base" --out "$RUN/warm_vs_base.html"
$PY -m grpodx report "$RUN/trained" --compare "$RUN/warm" --curves "$RUN/fit" --out "$RUN/trained_vs_warm.html"
