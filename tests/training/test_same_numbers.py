"""The reorganisation into packages changed no number: seeded short runs of every model (and of
the playground's session) give the records that the code of before the move wrote to
``tests/reference/training_reference.json`` (see ``tests/reference/make_training_reference.py``)."""
import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import make_training_reference as ref  # noqa: E402

from gru_lib.experiments.playground import ModelSpec, RunConfig, TrainingSession  # noqa: E402
from gru_lib.music.model import make_model  # noqa: E402
from gru_lib.speech.model import make_speech_model  # noqa: E402
from gru_lib.training.trainer import TrainConfig, train  # noqa: E402

STORED = json.loads(ref.REFERENCE.read_text())


def close(a, b) -> bool:
    if a is None or b is None or isinstance(a, str):
        return a == b
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


@pytest.fixture(scope="module")
def shared_data(data_dir, fsdd_dir):
    return data_dir.parent


def test_seeded_runs_of_every_model_give_the_stored_records(shared_data):
    runs = ref.run_cases(shared_data, make_model, make_speech_model, train, TrainConfig)
    assert set(runs) == set(STORED) - {"playground"}
    for name, records in runs.items():
        stored = STORED[name]
        assert len(records) == len(stored), name
        for ours, theirs in zip(records, stored):
            assert set(ours) == set(theirs), (name, sorted(ours), sorted(theirs))
            for key in theirs:
                assert close(ours[key], theirs[key]), (name, ours["epoch"], key, ours[key], theirs[key])


def test_the_playground_session_gives_the_stored_numbers(shared_data):
    now = ref.playground_case(shared_data, ModelSpec, RunConfig, TrainingSession)
    for key, stored in STORED["playground"].items():
        assert len(now[key]) == len(stored), key
        assert all(close(a, b) for a, b in zip(now[key], stored)), (key, now[key], stored)
