"""The gate-ablation study and sweeps, on a few chorales for one epoch (the committed results
under data/results/ come from the real command, see their COMMAND.md)."""
import csv
import json
from pathlib import Path

import pytest
import torch

from gru_lib.experiments import ablation as A
from gru_lib.nn.budget import count_parameters

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


def tiny(**changes):
    base = dict(datasets=("chorales",), seeds=(0, 1), variants=("GRU", "GRU reset=1"), epochs=1,
                patience=None, max_pieces=6, batch_size=3)
    return A.StudyConfig(**{**base, **changes})


def test_every_variant_fits_the_budget():
    budget = A.StudyConfig().budget_params()
    assert budget == count_parameters("gru", 88, 46) == 18_630
    for v in A.VARIANTS:
        units = A.units_for_budget(v.kind, budget, 88, **v.options)
        params = count_parameters(v.kind, 88, units, **v.options)
        assert abs(params - budget) / budget < 0.02, (v.name, units, params)
    # removing a gate buys units: a GRU without its reset gate has a third fewer weights per unit
    assert A.units_for_budget("gru", budget, 88, fixed_gates={"reset": 1.0}) == 62


def test_study_config_rejects_unknown_names():
    with pytest.raises(ValueError, match="variants: unknown"):
        A.StudyConfig(variants=("GRU", "LSTM no gates"))
    with pytest.raises(ValueError, match="datasets: unknown"):
        A.StudyConfig(datasets=("bach",))
    with pytest.raises(ValueError, match="seeds"):
        A.StudyConfig(seeds=())
    with pytest.raises(ValueError, match="TrainConfig.max_epochs"):
        A.StudyConfig(epochs=0)


def test_study_writes_tables_and_resumes(tmp_path, monkeypatch):
    config = tiny()
    rows = A.run_study(config, tmp_path, progress=False)
    assert [(r["variant"], r["seed"]) for r in rows] == [("GRU", 0), ("GRU", 1),
                                                         ("GRU reset=1", 0), ("GRU reset=1", 1)]
    assert {r["units"] for r in rows if r["variant"] == "GRU reset=1"} == {62}
    assert all(r["epochs"] == 1 and r["updates"] == 2 for r in rows)    # 6 pieces / batch 3
    assert rows[0]["test_nll"] != rows[1]["test_nll"]                    # seeds differ
    for name in ("runs.json", "results.csv", "summary.csv", "summary.json", "summary.md"):
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "summary.json").read_text())["summary"]
    gru = next(s for s in summary if s["variant"] == "GRU")
    assert gru["seeds"] == 2
    assert gru["test_nll"] == pytest.approx((rows[0]["test_nll"] + rows[1]["test_nll"]) / 2, abs=1e-3)
    assert gru["test_std"] > 0
    md = (tmp_path / "summary.md").read_text()
    assert "| GRU reset=1 | 62 |" in md and "SHORT budget" in md
    with open(tmp_path / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 4
    # a second call trains nothing: every run is read back from runs.json
    monkeypatch.setattr(A, "run_one", lambda *a, **k: pytest.fail("should not train again"))
    assert A.run_study(config, tmp_path, progress=False) == rows
    # ... but refuses to mix protocols in one folder
    with pytest.raises(ValueError, match="holds runs made with"):
        A.run_study(tiny(lr=1e-2), tmp_path, progress=False)


def test_sweeps_cover_units_budget_and_clipping(tmp_path):
    config = tiny(seeds=(0,))
    out = A.run_sweeps(config, tmp_path, units=(4, 8), budgets=(1_000,), clips=(0.5, None),
                       clip_kinds=("tanh",), progress=False)
    rows = out["rows"]
    assert [(r["sweep"], r["kind"]) for r in rows[:6]] == [
        ("units", k) for k in ("tanh", "gru", "lstm")] * 2
    units_rows = [r for r in rows if r["sweep"] == "units"]
    assert [r["units"] for r in units_rows] == [4, 4, 4, 8, 8, 8]
    budget_rows = [r for r in rows if r["sweep"] == "budget"]
    assert all(abs(r["params"] - 1_000) < 150 for r in budget_rows)
    clip_rows = [r for r in rows if r["sweep"] == "clip"]
    assert [r["clip_norm"] for r in clip_rows] == [0.5, None]
    assert (tmp_path / "units.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "clipping.png").read_bytes()[:4] == b"\x89PNG"
    assert len(json.loads((tmp_path / "sweeps.json").read_text())["rows"]) == len(rows)


def _only_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in captured.err + captured.out, captured.err
    return lines[0]


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as info:
        A.main(["study", "--variants", "GRU", "LSTM without gates"])
    assert info.value.code == 2
    assert _only_line(capsys).startswith("python -m gru_lib.experiments.ablation: error:")
    with pytest.raises(SystemExit) as info:
        A.main(["study", "--threads", "0"])                   # was torch's RuntimeError
    assert info.value.code == 2 and "--threads" in _only_line(capsys)
    assert A.main(["study", "--epochs", "0", "--out", "unused"]) == 2
    assert "max_epochs" in _only_line(capsys)
    assert not Path("unused").exists()


def test_cli_bad_input_is_one_line_and_exit_status_2(tmp_path, capsys):
    fast = ["study", "--fast", "--variants", "tanh", "--datasets", "jsb"]
    assert A.main([*fast, "--out", str(tmp_path / "a"), "--folder", str(tmp_path / "nope")]) == 2
    assert "neither a file nor a folder" in _only_line(capsys)
    if Path("/proc/self").is_dir():                           # Linux: a folder no one can make
        assert A.main([*fast, "--out", "/proc/gru_lib_ablation"]) == 2
        assert "cannot create the folder '/proc/gru_lib_ablation'" in _only_line(capsys)


@pytest.mark.parametrize("name", ["summary.md", "results.csv"])
def test_a_users_files_in_out_are_never_written_over(tmp_path, monkeypatch, name):
    """Only runs.json was checked: a user's summary.md in --out was replaced."""
    (tmp_path / name).write_text("mine")
    monkeypatch.setattr(A, "run_one", lambda *a, **k: pytest.fail("trained before refusing"))
    with pytest.raises(ValueError, match=f"{name}' already exists"):
        A.run_study(tiny(), tmp_path, progress=False)
    (tmp_path / "sweeps.json").write_text("mine")
    with pytest.raises(ValueError, match="sweeps.json' already exists"):
        A.run_sweeps(tiny(), tmp_path, progress=False)
    assert (tmp_path / name).read_text() == "mine" and not (tmp_path / "runs.json").exists()


def test_load_summary_names_the_module_that_exists(tmp_path):
    with pytest.raises(ValueError, match="run `python -m gru_lib.experiments.ablation study --out"):
        A.load_summary(tmp_path)


def test_committed_results_are_complete():
    """data/results/ holds the study and sweeps the chapter shows, each with its command."""
    for folder, files in (("ablation", ("summary.json", "summary.md", "results.csv", "COMMAND.md")),
                          ("sweeps", ("sweeps.json", "units.png", "clipping.png", "COMMAND.md"))):
        for name in files:
            assert (ROOT / "data" / "results" / folder / name).is_file(), f"{folder}/{name}"
    summary = A.load_summary(ROOT / "data" / "results" / "ablation")
    names = {(s["variant"], s["dataset"]) for s in summary["summary"]}
    assert names == {(v, d) for v in A.VARIANT_NAMES for d in ("chorales", "jsb")}
    assert all(s["seeds"] >= 2 for s in summary["summary"])


@pytest.mark.parametrize("text", ["[1, 2]", "not json", "PROTOCOL_WITH_LIST_RUNS"])
def test_a_foreign_runs_json_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch, text):
    """Was an AttributeError / TypeError traceback, or a JSON message not naming the file."""
    if text == "PROTOCOL_WITH_LIST_RUNS":      # the right protocol, but runs that are no rows
        config = A.StudyConfig(seeds=(0,), epochs=2, max_pieces=16, patience=None,
                               variants=("tanh",), datasets=("chorales",))
        text = json.dumps({"protocol": A.RunStore(tmp_path, config).protocol, "runs": [1]})
    (tmp_path / "runs.json").write_text(text)
    monkeypatch.setattr(A, "run_one", lambda *a, **k: pytest.fail("trained before refusing"))
    assert A.main(["study", "--fast", "--variants", "tanh", "--datasets", "chorales",
                   "--out", str(tmp_path)]) == 2
    line = _only_line(capsys)
    assert f"{str(tmp_path / 'runs.json')!r} is not a runs.json" in line
    assert "use another output folder" in line
    assert (tmp_path / "runs.json").read_text() == text                  # left as it was


def test_a_failed_start_leaves_no_empty_out_folder(tmp_path, capsys):
    out = tmp_path / "new" / "out"
    assert A.main(["study", "--fast", "--variants", "tanh", "--datasets", "jsb",
                   "--folder", str(tmp_path / "nope"), "--out", str(out)]) == 2
    assert "neither a file nor a folder" in _only_line(capsys)
    assert not out.exists() and not (tmp_path / "new").exists()
    assert A.main(["sweeps", "--fast", "--datasets", "jsb",
                   "--folder", str(tmp_path / "nope"), "--out", str(out)]) == 2
    _only_line(capsys)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("name, values", [("datasets", ("jsb", "jsb")), ("seeds", (0, 0)),
                                          ("variants", ("GRU", "tanh", "GRU"))])
def test_study_config_refuses_repeated_names(name, values):
    """--seeds 0 0 gave '± 0.000 over seeds [0, 0]'; --datasets jsb jsb doubled the columns."""
    with pytest.raises(ValueError, match=rf"{name}: \[.*\] given more than once"):
        A.StudyConfig(**{name: values})
