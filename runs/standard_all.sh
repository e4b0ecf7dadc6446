#!/usr/bin/env bash
# The standard budget, re-run with populations, for the four music sets, one after another.
set -e
. .venv/bin/activate
for d in jsb nottingham musedata piano-midi; do
  python -m gru_lib reproduce --dataset $d --budget standard --data ../shared/data/music \
      --out runs/standard/$d --threads 1 --no-progress > runs/standard/$d.log 2>&1
done
