"""run_settings: what run.json holds and the refusals that compare it with a resume's options.
The end-to-end resumes (a real run refused or continued) are in test_reproduce.py."""
import json

import pytest

from gru_lib.experiments.run_settings import (MANIFEST, previous_models, read_manifest,
                                              refuse_another_model, refuse_other_settings,
                                              run_settings)
from gru_lib.training.trainer import TrainConfig


def settings(**changes):
    given = dict(dataset="jsb", budget="quick", key_range="88", seed=0, n_candidates=2,
                 lrs=None, params=None, chunk=None, recurrent_init="uniform", overrides={},
                 base=TrainConfig(max_epochs=2))
    given.update(changes)
    return run_settings(**given)


def test_settings_survive_a_json_round_trip_and_leave_out_how_a_run_goes(tmp_path):
    saved = settings(lrs=(1e-3, 2e-3), base=TrainConfig(max_epochs=2, device="cpu", lr=0.5))
    path = tmp_path / MANIFEST
    path.write_text(json.dumps(saved))
    assert read_manifest(path) == saved
    assert saved["lrs"] == [1e-3, 2e-3]                       # a tuple reads back as a list
    assert not {"lr", "device", "progress", "seed"} & set(saved["config"])
    # the device (how a run goes) is not a setting: a resume on another machine is the same run
    refuse_other_settings(tmp_path, saved, settings(lrs=[1e-3, 2e-3],
                                                    base=TrainConfig(max_epochs=2, device="auto")))


def test_every_differing_setting_is_named_with_both_values(tmp_path):
    with pytest.raises(ValueError) as err:
        refuse_other_settings(tmp_path, settings(), settings(dataset="nottingham", seed=3))
    assert "--dataset jsb (you gave nottingham)" in str(err.value)
    assert "--seed 0 (you gave 3)" in str(err.value)
    with pytest.raises(ValueError, match=r"--set weight_noise=0.075 \(you gave 0\.0\)"):
        refuse_other_settings(tmp_path, settings(),
                              settings(base=TrainConfig(max_epochs=2, weight_noise=0.0)))


def test_a_field_the_saved_settings_lack_is_compared_at_its_default(tmp_path):
    """A run made before TrainConfig had lr_drops trained without drops: resuming it with
    --set lr_drops=1 would only relabel it, so it is refused, with the way to get drops."""
    saved = settings()
    del saved["config"]["lr_drops"]
    refuse_other_settings(tmp_path, saved, settings())            # the default: the same run
    with pytest.raises(ValueError, match=r"--set lr_drops=0 \(you gave 1\).*"
                                         r"runs/extend_with_drops.py"):
        refuse_other_settings(tmp_path, saved, settings(base=TrainConfig(max_epochs=2,
                                                                         lr_drops=1)))


def test_a_settings_file_that_is_not_ours_is_refused(tmp_path):
    for text in ("not json", json.dumps([1, 2]), json.dumps({"seed": 0})):
        path = tmp_path / MANIFEST
        path.write_text(text)
        with pytest.raises(ValueError, match="not a run's settings file"):
            read_manifest(path)


def test_a_checkpoint_of_another_model_is_named_with_its_option(tmp_path):
    expected = {"model": "gru", "keys": 88, "hidden_size": 46, "layers": 1}
    refuse_another_model(tmp_path, tmp_path / "last.pt", {"keys": 88, "hidden_size": 46},
                         expected)                             # an old meta: no model, no layers
    with pytest.raises(ValueError, match=r"keys=96 \(these options give 88: --key-range\)"):
        refuse_another_model(tmp_path, tmp_path / "last.pt", {**expected, "keys": 96}, expected)


def test_previous_models_are_read_only_from_this_data_sets_results(tmp_path):
    results = tmp_path / "results.json"
    assert previous_models(results, "jsb") == {}
    results.write_text(json.dumps({"dataset": "jsb", "models": {"gru": {"test_nll": 8.5}}}))
    assert previous_models(results, "jsb") == {"gru": {"test_nll": 8.5}}
    assert previous_models(results, "nottingham") == {}
    results.write_text("{broken")
    assert previous_models(results, "jsb") == {}


@pytest.mark.parametrize("field, value", [("config", [1]), ("seed", "0"), ("dataset", 3),
                                          ("lrs", ["x"]), ("overrides", None),
                                          ("chunk", 1.5)])
def test_a_damaged_settings_file_is_named_as_such(tmp_path, field, value):
    """A field of the wrong type: "config": [1] was an AttributeError, "seed": "0" a refusal
    saying "--seed 0 (you gave 0)"."""
    good = settings()
    path = tmp_path / MANIFEST
    path.write_text(json.dumps({**good, field: value}))
    with pytest.raises(ValueError, match=rf"is damaged: its '{field}' is .*give a new --out"):
        read_manifest(path)
    path.write_text(json.dumps(good))
    assert read_manifest(path) == good
