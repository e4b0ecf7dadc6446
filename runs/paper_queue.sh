#!/usr/bin/env bash
# The long runs of issues 14 and 17 (the paper's full protocol on every set), as a queue that
# survives the end of a session. Start it once per core:
#
#     nohup bash runs/paper_queue.sh > logs/queue-a.log 2>&1 &
#     nohup bash runs/paper_queue.sh > logs/queue-b.log 2>&1 &
#
# Each copy takes the next job nobody holds (flock: a lock dies with its process, so a session
# that ends hard leaves nothing claimed), runs it with --resume (always: a new folder starts,
# a folder another copy is filling is joined, candidates continue from their last.pt), and marks it done in runs/queue-done/ (commit that folder with the run folders).
# A set's last job ("assemble") waits for its per-model jobs, then scores the winners and
# writes one results.json for all its models; runs/install_results.py copies that into
# data/results/. SIGTERM stops a copy cleanly (the running job saves its candidates).
# The whole script is one { ...; exit; } block: bash reads it in full before running it, so
# editing this file while copies run cannot change what they execute.
{
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate
export OMP_NUM_THREADS=1
mkdir -p runs/queue-done runs/.locks logs

# name | dataset | models | out | extra options   (one job per model, then the set's assemble job)
# From MuseData on, "--set prune=True" stops the candidates that cannot catch their population's
# leader (TrainConfig.prune; `python runs/replay_pruning.py` replays it on the finished
# populations whose every member is committed, Nottingham's three and JSB's minGRU-2 and
# minLSTM-2: no winner changes, the last member stops at epoch 258-479 instead of 500, 58-73%
# of the member-epochs). An assemble job carries the
# same options as its set's jobs, so results.json's command is the one that trained them.
# recipe-batch16-chunks: the paper protocol with the standard budget's batching (chunks of
# <= 100 steps, batches of 16) instead of whole pieces one at a time (issue 14's recipe study);
# recipe-noise-*: the weight noise's std, a third and twice the paper's 0.075, read at epoch 15.
# recipe-*fit-floor: how low a 46-unit GRU's TRAINING NLL goes when everything serves fitting
# (no weight noise, no early stopping, the linear decay, RMS floor 4e-5, batches of 8 whole
# pieces): is the paper's training NLL within reach of a model of Table 1's size at all?
# recipe-*fit-noise: the same, with the paper's weight noise kept (does long training with
# the regulariser move both numbers towards the paper's?); recipe-fit-noise-rms: that, with the
# paper recipe's RMS floor 0.01 instead of 4e-5.
# recipe-tanh-60k, recipe-lstm-60k: the capacity probe of recipe/gru-60k for the other two
# models (60,000 recurrent parameters, the paper recipe, each model's three leading rates);
# recipe-tanh-60k-slow: two rates below the smallest, which won the tanh-RNN's probe.
# recipe-{jsb,piano-midi}-{gru,lstm,tanh}-60k: the same capacity probe on the two sets where
# Table 1's sizes already beat the paper: do three times the parameters take the gated units
# below the best other published plain recurrent nets (JSB 8.43, Piano-midi 7.46)?
# recipe-musedata-{lstm,tanh}-60k: MuseData's row at 60K beside recipe/gru-60k-converged.
# recipe-gru-200k: Nottingham's GRU at 200,000 recurrent parameters (about 10 times Table 1's),
# the two leading rates of its 60K probe: does more capacity reach the paper's test NLL (3.23)
# or Bai et al.'s LSTM (3.29), where 60K stopped at 3.35?
# recipe-musedata-gru-200k: the same on MuseData, at the rate of its 60K run (gru-60k-converged).
# recipe-lstm-200k: Nottingham's LSTM at 200,000, the two leading rates of its 60K probe.
# recipe-piano-midi-gru-200k: Piano-midi's GRU at 200,000, the two leading rates of its 60K probe.
# recipe-piano-midi-gru-60k-noise-weights: the paper's weight noise on every weight matrix, the
# output layer's too (noise_on=weights; the authors' layers noise W and U only): Piano-midi
# overfits (train 7.36, valid 8.35 at 60K), and more noise on W and U (0.15) changed nothing.
# recipe-jsb-gru-200k: JSB's GRU at 200,000 (its 60K probe, 8.40, is the one below the floor:
# does it go further?); recipe-musedata-lstm-200k: MuseData's LSTM at 200,000, the two leading
# rates of its 60K probe, beside the GRU's 200K row.
# A dataset field "recipe-SET" runs a recipe variant on SET instead of Nottingham.
JOBS="
nottingham-lstm|nottingham|lstm|runs/nottingham-paper
nottingham-tanh|nottingham|tanh|runs/nottingham-paper
nottingham|nottingham|gru,lstm,tanh|runs/nottingham-paper
recipe-lr-decay|recipe|gru|runs/recipe/nottingham-gru-lr-decay|--lrs 2.8069837153073707e-4,5.861824389231328e-4,1.2289828703722077e-3 --set lr_decay_to=0.01
musedata-gru|musedata|gru|runs/musedata-paper|--set prune=True
musedata-lstm|musedata|lstm|runs/musedata-paper|--set prune=True
musedata-tanh|musedata|tanh|runs/musedata-paper|--set prune=True
musedata|musedata|gru,lstm,tanh|runs/musedata-paper|--set prune=True
recipe-batch16-chunks|recipe|gru|runs/recipe/nottingham-gru-batch16-chunks|--chunk 100 --set batch_size=16 --set prune=True
recipe-noise-0.025|recipe|gru|runs/recipe/nottingham-gru-noise-0.025|--set weight_noise=0.025 --set max_epochs=15
recipe-noise-0.15|recipe|gru|runs/recipe/nottingham-gru-noise-0.15|--set weight_noise=0.15 --set max_epochs=15
piano-midi-gru|piano-midi|gru|runs/piano-midi-paper|--set prune=True
piano-midi-lstm|piano-midi|lstm|runs/piano-midi-paper|--set prune=True
piano-midi-tanh|piano-midi|tanh|runs/piano-midi-paper|--set prune=True
piano-midi|piano-midi|gru,lstm,tanh|runs/piano-midi-paper|--set prune=True
nottingham-mingru|nottingham|mingru|runs/minimal-paper-nottingham|--set prune=True
nottingham-minlstm|nottingham|minlstm|runs/minimal-paper-nottingham|--set prune=True
nottingham-mingru-2|nottingham|mingru-2|runs/minimal-paper-nottingham|--set prune=True
nottingham-minlstm-2|nottingham|minlstm-2|runs/minimal-paper-nottingham|--set prune=True
nottingham-minimal|nottingham|mingru,minlstm,mingru-2,minlstm-2|runs/minimal-paper-nottingham|--set prune=True
piano-midi-mingru|piano-midi|mingru|runs/minimal-paper-piano-midi|--set prune=True
piano-midi-minlstm|piano-midi|minlstm|runs/minimal-paper-piano-midi|--set prune=True
piano-midi-mingru-2|piano-midi|mingru-2|runs/minimal-paper-piano-midi|--set prune=True
piano-midi-minlstm-2|piano-midi|minlstm-2|runs/minimal-paper-piano-midi|--set prune=True
piano-midi-minimal|piano-midi|mingru,minlstm,mingru-2,minlstm-2|runs/minimal-paper-piano-midi|--set prune=True
musedata-mingru|musedata|mingru|runs/minimal-paper-musedata|--set prune=True
musedata-minlstm|musedata|minlstm|runs/minimal-paper-musedata|--set prune=True
musedata-mingru-2|musedata|mingru-2|runs/minimal-paper-musedata|--set prune=True
musedata-minlstm-2|musedata|minlstm-2|runs/minimal-paper-musedata|--set prune=True
musedata-minimal|musedata|mingru,minlstm,mingru-2,minlstm-2|runs/minimal-paper-musedata|--set prune=True
recipe-fit-floor|recipe|gru|runs/recipe/nottingham-gru-fit-floor|--lrs 2e-4,5e-4,1.2e-3 --chunk 0 --set batch_size=8 --set weight_noise=0 --set patience=None --set max_epochs=300 --set lr_decay_to=0.01 --set rms_eps=4e-5
recipe-musedata-fit-floor|recipe-musedata|gru|runs/recipe/musedata-gru-fit-floor-top|--lrs 1.2e-3,2.4e-3 --chunk 0 --set batch_size=8 --set weight_noise=0 --set patience=None --set max_epochs=300 --set lr_decay_to=0.01 --set rms_eps=4e-5
recipe-fit-noise|recipe|gru|runs/recipe/nottingham-gru-fit-noise|--lrs 5e-4,1.2e-3,2.4e-3 --chunk 0 --set batch_size=8 --set patience=None --set max_epochs=300 --set lr_decay_to=0.01 --set rms_eps=4e-5
recipe-musedata-fit-noise|recipe-musedata|gru|runs/recipe/musedata-gru-fit-noise|--lrs 1.2e-3,2.4e-3 --chunk 0 --set batch_size=8 --set patience=None --set max_epochs=300 --set lr_decay_to=0.01 --set rms_eps=4e-5
recipe-fit-noise-rms|recipe|gru|runs/recipe/nottingham-gru-fit-noise-rms|--lrs 5e-4,1.2e-3,2.4e-3 --chunk 0 --set batch_size=8 --set patience=None --set max_epochs=300 --set lr_decay_to=0.01
recipe-tanh-60k|recipe|tanh|runs/recipe/nottingham-tanh-60k|--params 60000 --lrs 6.084484904156886e-05,7.282538889586806e-05,0.00018457622379546004 --set prune=True
recipe-lstm-60k|recipe|lstm|runs/recipe/nottingham-lstm-60k|--params 60000 --lrs 0.00018457622379546004,0.00028069837153073707,0.0005861824389231328 --set prune=True
recipe-tanh-60k-slow|recipe|tanh|runs/recipe/nottingham-tanh-60k-slow|--params 60000 --lrs 3e-5,4.3e-5 --set prune=True
recipe-jsb-gru-60k|recipe-jsb|gru|runs/recipe/jsb-gru-60k|--params 60000 --lrs 1.8457622379546004e-4,2.8069837153073707e-4,7.282538889586806e-05 --set prune=True
recipe-piano-midi-gru-60k|recipe-piano-midi|gru|runs/recipe/piano-midi-gru-60k|--params 60000 --lrs 1.8457622379546004e-4,2.8069837153073707e-4,7.282538889586806e-05 --set prune=True
recipe-jsb-lstm-60k|recipe-jsb|lstm|runs/recipe/jsb-lstm-60k|--params 60000 --lrs 5.861824389231328e-4,1.8457622379546004e-4,1.319947184058881e-3 --set prune=True
recipe-piano-midi-lstm-60k|recipe-piano-midi|lstm|runs/recipe/piano-midi-lstm-60k|--params 60000 --lrs 1.8457622379546004e-4,2.8069837153073707e-4,5.861824389231328e-4 --set prune=True
recipe-jsb-tanh-60k|recipe-jsb|tanh|runs/recipe/jsb-tanh-60k|--params 60000 --lrs 6.084484904156886e-05,7.282538889586806e-05,1.8457622379546004e-4 --set prune=True
recipe-gru-200k|recipe|gru|runs/recipe/nottingham-gru-200k|--params 200000 --lrs 1.8457622379546004e-4,2.8069837153073707e-4 --set prune=True
recipe-piano-midi-tanh-60k|recipe-piano-midi|tanh|runs/recipe/piano-midi-tanh-60k|--params 60000 --lrs 6.084484904156886e-05,7.282538889586806e-05,2.8069837153073707e-4 --set prune=True
recipe-musedata-gru-200k|recipe-musedata|gru|runs/recipe/musedata-gru-200k|--params 200000 --lrs 2.8069837153073707e-4 --set prune=True
recipe-lstm-200k|recipe|lstm|runs/recipe/nottingham-lstm-200k|--params 200000 --lrs 1.8457622379546004e-4,2.8069837153073707e-4 --set prune=True
recipe-piano-midi-gru-200k|recipe-piano-midi|gru|runs/recipe/piano-midi-gru-200k|--params 200000 --lrs 7.282538889586806e-05,1.8457622379546004e-4 --set prune=True
recipe-musedata-lstm-60k|recipe-musedata|lstm|runs/recipe/musedata-lstm-60k|--params 60000 --lrs 5.861824389231328e-4,1.2791400633539822e-3,1.319947184058881e-3 --set prune=True
recipe-musedata-gru-600k|recipe-musedata|gru|runs/recipe/musedata-gru-600k|--params 600000 --lrs 2.8069837153073707e-4 --set prune=True
recipe-jsb-lstm-200k|recipe-jsb|lstm|runs/recipe/jsb-lstm-200k|--params 200000 --lrs 1.319947184058881e-3,5.861824389231328e-4 --set prune=True
recipe-piano-midi-gru-60k-noise-0.15|recipe-piano-midi|gru|runs/recipe/piano-midi-gru-60k-noise-0.15|--params 60000 --lrs 7.282538889586806e-05,1.8457622379546004e-4 --set weight_noise=0.15 --set prune=True
recipe-piano-midi-lstm-200k|recipe-piano-midi|lstm|runs/recipe/piano-midi-lstm-200k|--params 200000 --lrs 2.8069837153073707e-4,1.8457622379546004e-4 --set prune=True
recipe-musedata-tanh-60k|recipe-musedata|tanh|runs/recipe/musedata-tanh-60k|--params 60000 --lrs 1.8457622379546004e-4,7.282538889586806e-05,6.084484904156886e-05 --set prune=True
recipe-musedata-gru-600k-slow|recipe-musedata|gru|runs/recipe/musedata-gru-600k-slow|--params 600000 --lrs 1.8457622379546004e-4 --set prune=True
recipe-piano-midi-gru-60k-noise-weights|recipe-piano-midi|gru|runs/recipe/piano-midi-gru-60k-noise-weights|--params 60000 --lrs 7.282538889586806e-05,1.8457622379546004e-4 --set noise_on=weights --set prune=True
recipe-jsb-gru-200k|recipe-jsb|gru|runs/recipe/jsb-gru-200k|--params 200000 --lrs 1.8457622379546004e-4,2.8069837153073707e-4 --set prune=True
recipe-musedata-lstm-200k|recipe-musedata|lstm|runs/recipe/musedata-lstm-200k|--params 200000 --lrs 5.861824389231328e-4,1.2791400633539822e-3 --set prune=True
"

stopping=0
child=
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT

done_() { [ -e "runs/queue-done/$1" ]; }

ready() {   # an assemble job (models with a comma) waits for its set's per-model jobs
  local dataset=$1 models=$2
  case $models in *,*) ;; *) return 0 ;; esac
  for m in ${models//,/ }; do done_ "$dataset-$m" || return 1; done
}

while [ $stopping = 0 ]; do
  ran=0
  while IFS='|' read -r name dataset models out extra; do
    [ -z "$name" ] && continue
    done_ "$name" && continue
    ready "$dataset" "$models" || continue
    case $dataset in                                  # a recipe variant: never assembled
      recipe) dataset=nottingham ;;
      recipe-*) dataset=${dataset#recipe-} ;;
    esac
    exec 9>"runs/.locks/$name.lock"
    flock -n 9 || { exec 9>&-; continue; }          # another copy holds it
    done_ "$name" && { exec 9>&-; continue; }      # finished while we looked
    echo "$(date -u +%FT%TZ) start $name"
    python -m gru_lib reproduce --dataset "$dataset" --budget paper --models "$models" \
        --data ../shared/data/music --out "$out" --workers 1 --threads 1 --no-progress --resume $extra \
        >> "logs/$name.log" 2>&1 &
    child=$!
    wait "$child"; status=$?
    [ $stopping = 1 ] && { wait "$child"; status=$?; }   # the trap interrupted wait: let it save
    child=
    exec 9>&-
    if [ $status = 0 ]; then
      date -u +%FT%TZ > "runs/queue-done/$name"
      echo "$(date -u +%FT%TZ) done $name"
    else
      echo "$(date -u +%FT%TZ) $name stopped with status $status (see logs/$name.log)"
      [ $stopping = 1 ] && break
      sleep 60                                    # a failure: do not spin on it
    fi
    ran=1
    break                                         # re-read the list: an assemble may be ready
  done <<< "$JOBS"
  [ $stopping = 1 ] && { echo "$(date -u +%FT%TZ) stopped: start the queue again to continue"; break; }
  [ $ran = 0 ] && { echo "$(date -u +%FT%TZ) nothing left to start"; break; }
done
exit
}
