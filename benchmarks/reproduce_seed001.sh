#!/usr/bin/env bash
# Seed 001 at a CPU budget (docs/reproductions.md): Table 1 (the 12 cGAN cells: shallow/deep x k in {1,2,3} x Adam
# beta1 {0.5, 0.9}, full MNIST), Table 3 (every discriminator on the samples of the shallow k=2 beta1=0.9
# generator: job 3) and the augmentation figure (Fig. 9/24/25) of the seed's three generators. A benchmark, not a test:
#   EPOCHS=2 benchmarks/reproduce_seed001.sh            (the seed trained 15 epochs; on a GPU add EXTRA=trainer=gpu)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
EPOCHS=${EPOCHS:-2}
OUT=${OUT:-multirun/reproduce-seed001-${EPOCHS}ep}
EXTRA=${EXTRA:-}
timed() { local start=$SECONDS; "$@"; echo "[reproduce] $(( SECONDS - start )) s: $*" | tee -a "$OUT/timings.txt"; }
mkdir -p "$OUT"
timed $PY -m gan_sweeps -m experiment=seed001_grid model=cgan trainer.max_epochs="$EPOCHS" $EXTRA \
    hydra.sweep.dir="$OUT/table1"
timed $PY -m gan_sweeps.report "$OUT/table1" --rows k,optim.beta1 --cols model.depth \
    --metric eval/cond_acc,eval/conf_correct,eval/conf_incorrect
timed $PY -m gan_sweeps.studies cross-discriminator "$OUT/table1" --fixed 3 --out "$OUT/table3"
# Fig. 9's three generators (seed 001 l.185): the worst without mode collapse (shallow k=3 beta1=0.9: job 5), the one
# whose inception score matched the real test accuracy (deep k=1 beta1=0.5: job 6), the best (deep k=2 beta1=0.9: 9)
timed $PY -m gan_sweeps.studies augmentation "$OUT/table1/5" "$OUT/table1/6" "$OUT/table1/9" --ratios 0,20,50,80,100 \
    --out "$OUT/augmentation"
