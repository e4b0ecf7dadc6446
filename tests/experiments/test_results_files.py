"""read_result: the clone's committed file first, else the remote copy, else None."""
import functools
import http.server
import json
import threading

import pytest

from gru_lib.experiments import results_files
from gru_lib.experiments.results_files import LOCAL, read_result


@pytest.fixture
def server(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/served; yields (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        try:
            yield folder, f"http://127.0.0.1:{httpd.server_address[1]}/results"
        finally:
            httpd.shutdown()
            thread.join()


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("GRU_LIB_OFFLINE", raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")       # the local server, never through a proxy


def test_reads_a_committed_file_from_the_clone():
    path = LOCAL / "jsb" / "paper" / "results.json"
    if not path.is_file():
        pytest.skip("not a clone with data/results/ committed")
    raw = read_result("jsb/paper/results.json", remote=None)
    assert raw == path.read_bytes()
    assert json.loads(raw)["dataset"] == "jsb"


def test_local_folder_comes_first(tmp_path, server, online):
    served, base = server
    for root, text in ((tmp_path / "clone", b"local"), (served / "results", b"remote")):
        (root / "jsb").mkdir(parents=True)
        (root / "jsb" / "a.json").write_bytes(text)
    assert read_result("jsb/a.json", local=tmp_path / "clone", remote=base) == b"local"


def test_absent_here_is_fetched_and_absent_there_is_none(tmp_path, server, online):
    served, base = server
    (served / "results" / "fsdd").mkdir(parents=True)
    (served / "results" / "fsdd" / "results.json").write_bytes(b'{"budget": "standard"}')
    empty = tmp_path / "empty"
    empty.mkdir()
    assert read_result("fsdd/results.json", local=empty, remote=base) == b'{"budget": "standard"}'
    assert read_result("fsdd/no-such-file.json", local=empty, remote=base) is None      # 404
    assert read_result("fsdd/results.json", local=empty, remote=None) is None           # no remote


def test_offline_never_fetches(tmp_path, server, monkeypatch):
    served, base = server
    (served / "results").mkdir()
    (served / "results" / "x.json").write_bytes(b"{}")
    monkeypatch.setenv("GRU_LIB_OFFLINE", "1")
    assert read_result("x.json", local=tmp_path, remote=base) is None


def test_unreachable_remote_is_none(tmp_path, online):
    # a port nobody listens on: the connection is refused at once, no network needed
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert read_result("x.json", local=tmp_path, remote=f"http://127.0.0.1:{port}",
                       timeout=5) is None


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../secret.json", "jsb/../../x", "jsb\\a.json"])
def test_rejects_paths_outside_data_results(bad):
    with pytest.raises(ValueError, match="relative to data/results"):
        read_result(bad, remote=None)


def test_default_remote_is_the_repository():
    assert results_files.REMOTE.startswith("https://raw.githubusercontent.com/")
    assert results_files.REMOTE.endswith("/data/results")


def test_a_name_too_long_for_the_file_system_is_absent_not_an_oserror(tmp_path):
    """read_result('x' * 5000) raised OSError 'File name too long'."""
    assert read_result("x" * 5000, local=tmp_path, remote=None) is None


@pytest.mark.parametrize("name, expected", [
    ("gru-60k", ("gru", "60k")), ("lstm-200k", ("lstm", "200k")),
    ("gru-60k-converged", ("gru", "60k")), ("mingru-2-600k", ("mingru-2", "600k")),
    ("gru-60k-noise-0.15", None), ("tanh-60k-slow", None), ("gru-60k-40-epochs", None),
    ("noise-0.15", None), ("fit-floor", None)])
def test_probe_name_reads_only_the_probe_rule(name, expected):
    assert results_files.probe_name(name) == expected


def test_find_probe_prefers_the_run_to_early_stopping(tmp_path):
    for name, test in (("gru-60k", 7.5), ("gru-60k-converged", 7.2), ("lstm-200k", 7.0)):
        (tmp_path / "musedata" / "recipe" / name).mkdir(parents=True)
        (tmp_path / "musedata" / "recipe" / name / "results.json").write_text(
            json.dumps({"test": test}))
    find = functools.partial(results_files.find_probe, local=tmp_path, remote=None)
    assert find("musedata", "gru", "60k") == ("musedata/recipe/gru-60k-converged", {"test": 7.2})
    assert find("musedata", "lstm", "200k") == ("musedata/recipe/lstm-200k", {"test": 7.0})
    assert find("musedata", "lstm", "60k") is None
    with pytest.raises(ValueError, match="size must be one of"):
        find("musedata", "gru", "60K")


def test_find_chunked_pairs_each_chunked_run_with_its_whole_piece_run(tmp_path):
    for name in ("paper", "recipe/gru-chunk200", "recipe/gru-200k", "recipe/gru-200k-chunk200",
                 "recipe/lstm-200k", "recipe/lstm-200k-drop", "recipe/lstm-200k-chunk200",
                 "recipe/tanh-60k-chunk200"):
        (tmp_path / "musedata" / name).mkdir(parents=True)
        (tmp_path / "musedata" / name / "results.json").write_text(json.dumps({"run": name}))
    find = functools.partial(results_files.find_chunked, local=tmp_path, remote=None)

    def folders(found):
        (whole, whole_results), (chunked, chunked_results) = found
        assert whole.endswith(whole_results["run"]) and chunked.endswith(chunked_results["run"])
        return whole, chunked

    assert folders(find("musedata", "gru")) == ("musedata/paper", "musedata/recipe/gru-chunk200")
    assert folders(find("musedata", "gru", "200k")) == ("musedata/recipe/gru-200k",
                                                        "musedata/recipe/gru-200k-chunk200")
    # the whole-piece run given its drop, as the chunked runs are
    assert folders(find("musedata", "lstm", "200k")) == ("musedata/recipe/lstm-200k-drop",
                                                         "musedata/recipe/lstm-200k-chunk200")
    assert find("musedata", "lstm") is None                 # no lstm-chunk200
    assert find("musedata", "tanh", "60k") is None          # no whole-piece tanh-60k
    assert find("musedata", "gru", "200k", steps=100) is None
    with pytest.raises(ValueError, match="size must be None"):
        find("musedata", "gru", "200K")


def test_every_committed_probe_has_a_size_the_readers_ask_for():
    """A probe at a new size must join PROBE_SIZES, or the book and README would skip it."""
    names = [folder.name for folder in LOCAL.glob("*/recipe/*") if folder.is_dir()]
    if not names:
        pytest.skip("not a clone with data/results/ committed")
    sizes = {found[1] for name in names if (found := results_files.probe_name(name))}
    assert sizes and sizes <= set(results_files.PROBE_SIZES)


def _run(root, folder, **models):
    """A results.json in root/folder holding ``models`` ({kind: (valid, test)} or an entry)."""
    dataset = folder.split("/")[0]
    entries = {k: v if isinstance(v, dict) else {"valid_nll": v[0], "test_nll": v[1]}
               for k, v in models.items()}
    (root / folder).mkdir(parents=True)
    (root / folder / "results.json").write_text(json.dumps(
        {"dataset": dataset, "key_range": "88", "models": entries}))


def test_best_run_picks_the_lowest_validation_nll_never_the_test(tmp_path, server, online):
    _run(tmp_path, "musedata/paper", gru=(7.3, 7.4), lstm=(7.5, 7.6))
    _run(tmp_path, "musedata/recipe/gru-200k", gru=(7.0, 7.1))
    _run(tmp_path, "musedata/recipe/gru-200k-chunk200", gru=(6.9, 7.2))   # lower valid only
    _run(tmp_path, "musedata/recipe/lstm-60k", lstm={"error": "diverged"})
    _run(tmp_path, "jsb/recipe/gru-200k", gru=(1.0, 1.0))                 # another set
    _run(tmp_path, "musedata/recipe/paper-keys", gru=(5.0, 5.0))
    keys = json.loads((tmp_path / "musedata/recipe/paper-keys/results.json").read_text())
    keys["key_range"] = "paper"                                           # other rows: not it
    (tmp_path / "musedata/recipe/paper-keys/results.json").write_text(json.dumps(keys))
    (tmp_path / "musedata/recipe/empty").mkdir()                          # not a run
    assert results_files.committed_runs(tmp_path) == [
        "jsb/recipe/gru-200k", "musedata/paper", "musedata/recipe/gru-200k",
        "musedata/recipe/gru-200k-chunk200", "musedata/recipe/lstm-60k",
        "musedata/recipe/paper-keys"]
    best = functools.partial(results_files.best_run, local=tmp_path, remote=None)
    assert best("musedata", "gru") is None                                # no index.json yet
    (tmp_path / results_files.INDEX).write_text(json.dumps(results_files.committed_runs(tmp_path)))
    assert best("musedata", "gru") == ("musedata/recipe/gru-200k-chunk200",
                                       {"valid_nll": 6.9, "test_nll": 7.2})
    assert best("musedata", "lstm")[0] == "musedata/paper"                # the failed one skipped
    assert best("musedata", "tanh") is None and best("nottingham", "gru") is None
    # The same through a URL, which cannot list a folder: index.json is what makes it work.
    folder, base = server
    for path in tmp_path.glob("**/*.json"):
        if "served" not in path.parts:
            target = folder / "results" / path.relative_to(tmp_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    assert results_files.best_run("musedata", "gru", local=tmp_path / "none", remote=base) == \
        ("musedata/recipe/gru-200k-chunk200", {"valid_nll": 6.9, "test_nll": 7.2})


@pytest.mark.parametrize("dataset, kind, test, met", [
    ("musedata", "gru", 5.99, (True, True)), ("musedata", "gru", 6.919, (False, True)),
    ("musedata", "lstm", 6.97, (False, False)),             # the floor itself is not below it
    ("nottingham", "tanh", 3.33, (True, False)),            # 3.13 + 0.2; Bai's LSTM 3.29
    ("nottingham", "tanh", 3.34, (False, False)),
    ("piano-midi", "gru", 7.516, (True, False))])           # below the paper, above Pascanu's
def test_targets_met_reads_the_paper_and_the_floor(dataset, kind, test, met):
    assert results_files.targets_met(dataset, kind, test) == met


def _seeded(root, folder, seed, **models):
    _run(root, folder, **models)
    path = root / folder / "results.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "seed": seed}))


def test_seed_draws_gathers_a_run_and_its_reruns_at_other_seeds(tmp_path):
    entry = lambda test: {"valid_nll": test - 0.1, "test_nll": test}          # noqa: E731
    _seeded(tmp_path, "nottingham/recipe/lstm-200k", 0, lstm=entry(3.22))
    _seeded(tmp_path, "nottingham/recipe/lstm-200k-seed2", 2, lstm=entry(3.26))
    _seeded(tmp_path, "nottingham/recipe/lstm-200k-seed1", 1, lstm=entry(3.21))
    _seeded(tmp_path, "nottingham/recipe/lstm-200k-drop", 0, lstm=entry(3.00))  # another recipe
    _seeded(tmp_path, "nottingham/recipe/lstm-200k-seed3", 3, lstm={"error": "diverged"})
    (tmp_path / results_files.INDEX).write_text(json.dumps(results_files.committed_runs(tmp_path)))
    draws = functools.partial(results_files.seed_draws, local=tmp_path, remote=None)
    expected = {0: entry(3.22), 1: entry(3.21), 2: entry(3.26)}
    assert draws("nottingham/recipe/lstm-200k", "lstm") == expected
    assert list(draws("nottingham/recipe/lstm-200k", "lstm")) == [0, 1, 2]      # by seed
    assert draws("nottingham/recipe/lstm-200k-seed2", "lstm") == expected       # from any of them
    assert draws("nottingham/recipe/lstm-200k-drop", "lstm") == {0: entry(3.00)}
    assert draws("nottingham/recipe/lstm-200k", "gru") == {}


def test_missed_target_names_the_run_its_line_its_closest_fit_and_its_seeds(tmp_path):
    def entry(train, valid, test):
        return {"train_nll": train, "valid_nll": valid, "test_nll": test}
    _seeded(tmp_path, "musedata/paper", 0, gru=entry(7.0, 7.3, 7.4), tanh=entry(7.5, 7.6, 7.7))
    _seeded(tmp_path, "musedata/recipe/gru-600k", 0, gru=entry(6.3, 7.2, 7.1))  # closest fit
    _seeded(tmp_path, "musedata/recipe/gru-200k", 0, gru=entry(6.4, 6.8, 6.9))  # lowest valid
    _seeded(tmp_path, "musedata/recipe/gru-200k-seed1", 1, gru=entry(6.5, 6.85, 6.95))
    _seeded(tmp_path, "jsb/paper", 0, gru=entry(8.0, 8.2, 8.3))              # below the paper
    (tmp_path / results_files.INDEX).write_text(json.dumps(results_files.committed_runs(tmp_path)))
    missed = functools.partial(results_files.missed_target, local=tmp_path, remote=None)
    miss = missed("musedata", "gru")
    assert miss["folder"] == "musedata/recipe/gru-200k" and miss["line"] == 5.99
    assert miss["entry"] == entry(6.4, 6.8, 6.9)
    assert miss["closest"] == ("musedata/recipe/gru-600k", entry(6.3, 7.2, 7.1))
    assert miss["seeds"] == {0: entry(6.4, 6.8, 6.9), 1: entry(6.5, 6.85, 6.95)}
    assert missed("musedata", "tanh")["line"] == pytest.approx(6.23 + results_files.TANH_MARGIN)
    assert missed("jsb", "gru") is None                                      # met: no miss
    assert missed("jsb", "lstm") is None and missed("nottingham", "gru") is None   # no run
