#!/usr/bin/env bash
# One learning-rate drop for finished recipe runs (runs/extend_with_drops.py), one after the
# other, one torch thread: bash runs/drop_queue.sh NAME... (each runs/recipe/NAME, out NAME-drop).
# A stopped queue goes on where it was when started again (--resume).
cd "$(dirname "$0")/.." || exit 1
. .venv/bin/activate 2>/dev/null
export OMP_NUM_THREADS=1
for name in "$@"; do
  out=runs/recipe/$name-drop
  [ -f "$out/results.json" ] && [ "$(python -c "import json;print('lr_drops' in json.load(open('$out/results.json'))['config'])")" = True ] && continue
  resume=; [ -d "$out" ] && resume=--resume
  echo "$(date -u +%FT%TZ) start $name"
  python runs/extend_with_drops.py "runs/recipe/$name" "$out" --lr-drops 1 \
      --data ../shared/data/music $resume >> "logs/$name-drop.log" 2>&1 || { echo "stopped at $name"; exit 1; }
  echo "$(date -u +%FT%TZ) done $name"
done
