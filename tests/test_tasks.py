"""Tests of gru_lib.tasks, the seam between generic code and the two tasks: one task per data
set, each builds the paper's models and counts its steps, checkpoints of both kinds are rebuilt;
and the rule that generic code never branches on a data set's name."""
import ast
from pathlib import Path

import pytest
import torch

from gru_lib import music, paper, speech, tasks
from gru_lib.music.model import PianoRollModel
from gru_lib.speech.model import SpeechModel
from gru_lib.training.checkpoints import save_checkpoint


def test_every_dataset_has_exactly_one_task():
    assert tasks.DATASETS == music.DATASETS + ("fsdd",)
    assert len(set(tasks.DATASETS)) == len(tasks.DATASETS)
    for name in tasks.DATASETS:
        task = tasks.task_for(name)
        assert name in task.datasets
        assert task is (speech.SPEECH if name == "fsdd" else music.MUSIC)
        assert task.checkpoint_kind == task.model_class.checkpoint_kind
        assert task.name in paper.UNITS and task.metric == "NLL" and task.unit
    with pytest.raises(ValueError, match="dataset: unknown 'bach'"):
        tasks.task_for("bach")


@pytest.mark.parametrize("kind", paper.KINDS)
def test_tasks_build_the_papers_sizes_with_a_row_size(kind):
    m = music.MUSIC.build_model(kind, 88, seed=0)
    assert isinstance(m, PianoRollModel) and m.hidden_size == paper.UNITS["music"][kind]
    assert m.row_size == 88 and tasks.task_of(m) is music.MUSIC
    # the builder is make_model at Table 1's size: same seed, same weights
    same = music.make_model(kind, 88, paper.UNITS["music"][kind], seed=0)
    assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), same.state_dict().values()))
    s = speech.SPEECH.build_model(kind, 10, seed=0, units=8)
    assert isinstance(s, SpeechModel) and s.hidden_size == 8 and s.row_size == 10
    assert not hasattr(s, "keys")           # the trainer reads row_size, for every model
    assert tasks.task_of(s) is speech.SPEECH


def test_steps_counted_by_each_task():
    rolls = [torch.zeros(5, 88), torch.zeros(3, 88)]
    assert music.MUSIC.steps(rolls) == 8                  # every step is predicted
    assert speech.SPEECH.steps([torch.zeros(5, 10), torch.zeros(3, 10)]) == 3 + 1   # N - 2


def _round_trip(model, tmp_path, meta=None):
    path = tmp_path / "best.pt"
    save_checkpoint({"meta": model.meta() if meta is None else meta, "model": model.state_dict()}, path)
    return tasks.load_model(path)


def test_load_model_rebuilds_both_kinds_from_their_checkpoints(tmp_path):
    roll_model = music.make_model("lstm", 12, 5, seed=3, peepholes=False)
    assert roll_model.meta()["model"] == "piano-roll"
    speech_model = speech.make_speech_model("gru", 6, seed=3)
    assert speech_model.meta()["model"] == "speech"
    rolls = (torch.rand(7, 2, 12) < 0.3).float()
    frames = torch.randn(9, 2, 10) * 0.05
    for model, x in ((roll_model, rolls), (speech_model, frames)):
        loaded, ckpt = _round_trip(model, tmp_path)
        assert type(loaded) is type(model) and loaded.meta() == model.meta()
        assert ckpt["meta"] == model.meta()
        assert torch.equal(loaded.nll(x), model.nll(x))


def test_load_model_on_another_backend_gives_the_same_numbers(tmp_path):
    torch.manual_seed(0)
    rolls = (torch.rand(30, 2, 12) < 0.3).float()
    frames = torch.randn(9, 2, 10) * 0.05
    for model, x in ((music.make_model("mingru", 12, 7, seed=3), rolls),
                     (speech.make_speech_model("minlstm", 6, seed=3), frames)):
        save_checkpoint({"meta": model.meta(), "model": model.state_dict()}, tmp_path / "m.pt")
        on = {b: tasks.load_model(tmp_path / "m.pt", backend=b)[0] for b in ("auto", "python")}
        assert on["auto"].rnn.backend == "scan" and on["python"].rnn.backend == "python"
        assert torch.allclose(on["auto"].nll(x), on["python"].nll(x), atol=1e-5)
    gru = music.make_model("gru", 12, 5, seed=3)
    save_checkpoint({"meta": gru.meta(), "model": gru.state_dict()}, tmp_path / "g.pt")
    with pytest.raises(ValueError, match="backend='scan' needs a recurrence linear in h"):
        tasks.load_model(tmp_path / "g.pt", backend="scan")


def test_an_old_checkpoint_without_a_model_name_is_a_piano_roll_model(tmp_path):
    model = music.make_model("gru", 9, 4, seed=1)
    old_meta = {k: v for k, v in model.meta().items() if k != "model"}   # as written before
    loaded, _ = _round_trip(model, tmp_path, meta=old_meta)
    assert isinstance(loaded, PianoRollModel) and loaded.meta() == model.meta()
    rolls = (torch.rand(6, 1, 9) < 0.3).float()
    assert torch.equal(loaded.nll(rolls), model.nll(rolls))


def test_load_model_refuses_what_it_cannot_rebuild(tmp_path):
    model = music.make_model("tanh", 4, 3)
    with pytest.raises(ValueError, match="unknown model 'video'"):
        _round_trip(model, tmp_path, meta={**model.meta(), "model": "video"})
    torch.save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a gru_lib model checkpoint"):
        tasks.load_model(tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a piano-roll model"):
        PianoRollModel.from_meta({**model.meta(), "model": "speech"})


GRU_LIB = Path(__file__).resolve().parents[1] / "gru_lib"


GENERIC = sorted((GRU_LIB / "training").glob("*.py")) + [
    GRU_LIB / "experiments" / "reproduce.py", GRU_LIB / "experiments" / "checkpoint_tools.py",
    GRU_LIB / "__main__.py"]


def _dataset_branches(tree):
    """Places where code compares with, or looks up by, a data set's name: (line, what)."""
    names = set(tasks.DATASETS)
    is_name = lambda node: isinstance(node, ast.Constant) and node.value in names   # noqa: E731
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for operand in operands:
                items = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
                if any(is_name(item) for item in items):
                    yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Dict) and any(is_name(k) for k in node.keys if k is not None):
            yield node.lineno, "a dict keyed by data set names"
        elif isinstance(node, ast.Name) and node.id in ("is_speech", "is_music"):
            yield node.lineno, node.id
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance" \
                and any(n in ast.unparse(node) for n in ("SpeechModel", "PianoRollModel")):
            yield node.lineno, ast.unparse(node)


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: str(p.relative_to(GRU_LIB)))
def test_generic_code_never_branches_on_a_dataset(path):
    """What differs between music and speech lives behind gru_lib.tasks: generic modules
    must not compare a data set's name (or test the model's class) to decide what to do."""
    source = path.read_text()
    found = list(_dataset_branches(ast.parse(source)))
    assert not found, f"{path.name} branches on a data set: {found}"
    assert "is_speech" not in source and "FSDD_BUDGETS" not in source


def test_load_model_names_weights_that_do_not_fit_or_are_not_finite(tmp_path):
    model = music.make_model("gru", 12, 5, seed=0)
    wider = music.make_model("gru", 12, 7, seed=0).state_dict()
    path = tmp_path / "best.pt"
    save_checkpoint({"meta": model.meta(), "model": wider}, path)
    with pytest.raises(ValueError, match=r"do not fit.*shape mismatch: .*rnn\.cell\.weight_hh \(21, 7\)"):
        tasks.load_model(path)
    fewer = dict(model.state_dict())
    dropped = fewer.popitem()[0]
    save_checkpoint({"meta": model.meta(), "model": fewer}, path)
    with pytest.raises(ValueError, match=f"missing: {dropped}"):
        tasks.load_model(path)
    bad = dict(model.state_dict())
    name = next(iter(bad))
    bad[name] = bad[name].clone().fill_(float("inf"))
    save_checkpoint({"meta": model.meta(), "model": bad}, path)
    with pytest.raises(ValueError, match=f"non-finite weights .* in {name}"):
        tasks.load_model(path)
    save_checkpoint({"meta": {"model": "speech"}, "model": {}}, path)
    with pytest.raises(ValueError, match="incomplete or malformed"):
        tasks.load_model(path)


@pytest.mark.parametrize("value, said", [([0.0] * 12, "list"), (None, "NoneType"), (3, "int")])
def test_load_model_names_a_weight_that_is_not_a_tensor(tmp_path, value, said):
    """A crafted checkpoint: once an AttributeError on the missing .shape."""
    model = music.make_model("gru", 12, 5, seed=0)
    weights = {**model.state_dict(), "readout.bias": value}
    save_checkpoint({"meta": model.meta(), "model": weights}, tmp_path / "best.pt")
    with pytest.raises(ValueError, match=rf"do not fit.*not a tensor: readout\.bias \({said}\)"):
        tasks.load_model(tmp_path / "best.pt")


@pytest.mark.parametrize("kind", [[1], {"a": 1}, 5])
def test_load_model_names_a_model_kind_that_is_not_a_name(tmp_path, kind):
    """meta["model"] = [1] was a TypeError: unhashable type."""
    model = music.make_model("tanh", 4, 3)
    with pytest.raises(ValueError, match="holds an unknown model"):
        _round_trip(model, tmp_path, meta={**model.meta(), "model": kind})


def test_sampling_options_are_checked_by_name():
    every = tasks.check_sample_options({"tempo": 90, "seconds": 1.0, "clip": "x"})
    assert every == {"tempo": 90, "seconds": 1.0, "clip": "x"}       # both tasks' names pass
    with pytest.raises(ValueError, match="unknown sampling option.* tmpo; valid options: steps, tempo"):
        tasks.check_sample_options({"tmpo": 200})
    # with the checkpoint's task, the other task's options are refused, naming the flag
    assert tasks.check_sample_options({"tempo": 90}, music.MUSIC) == {"tempo": 90}
    with pytest.raises(ValueError, match=r"seconds \(--seconds\) is for speech checkpoints, "
                                         r"and this is a music checkpoint; .* --steps"):
        tasks.check_sample_options({"tempo": 90, "seconds": 1.0}, music.MUSIC)
    with pytest.raises(ValueError, match=r"clip \(--clip\) is for speech .* does not apply to "
                                         r"a music sample: leave it out \(got 'x'\)"):
        tasks.check_sample_options({"clip": "x"}, music.MUSIC)
