"""Tests of gru_lib.checks: each check returns what it accepted and refuses bools, NaN, inf and
wrong types with a ValueError that names the argument and shows what came instead."""
import math
import re

import numpy as np
import pytest

from gru_lib import checks

NAN, INF = float("nan"), float("inf")


def test_is_int_and_is_number_accept_numpy_scalars_but_never_bools():
    assert checks.is_int(3) and checks.is_int(np.int64(3)) and checks.is_int(np.uint8(0))
    assert checks.is_number(3) and checks.is_number(0.5) and checks.is_number(np.float32(0.5))
    for value in (True, False, np.bool_(True)):
        assert not checks.is_int(value) and not checks.is_number(value)
    for value in (3.0, "3", None, [3]):
        assert not checks.is_int(value)
    for value in ("0.5", None, [0.5], 1j):
        assert not checks.is_number(value)


@pytest.mark.parametrize("check, good, expected", [
    (checks.positive_int, [1, 7, np.int64(5)], "a positive integer"),
    (checks.non_negative_int, [0, 7, np.int32(0)], "a non-negative integer"),
])
def test_integer_checks(check, good, expected):
    for value in good:
        got = check("units", value)
        assert got == value and type(got) is int
    too_small = -1 if check is checks.non_negative_int else 0
    for bad in (too_small, True, False, 2.0, 2.5, NAN, INF, "3", None, [1]):
        with pytest.raises(ValueError, match=rf"^units must be {expected}, got {re.escape(repr(bad))}$"):
            check("units", bad)
    assert check("units", None, allow_none=True) is None
    with pytest.raises(ValueError, match=rf"^units must be {expected} or None, got True$"):
        check("units", True, allow_none=True)


def test_positive_number():
    for value in (1, 0.5, 1e-12, np.float32(2.0), np.int64(3)):
        got = checks.positive_number("lr", value)
        assert got == pytest.approx(float(value)) and type(got) is float
    for bad in (0, 0.0, -1.0, True, NAN, INF, -INF, "0.1", None, [0.1]):
        with pytest.raises(ValueError, match=rf"^lr must be a positive number, got {re.escape(repr(bad))}$"):
            checks.positive_number("lr", bad)
    assert checks.positive_number("clip_norm", 0, allow_zero=True) == 0.0
    with pytest.raises(ValueError, match=r"^clip_norm must be a non-negative number, got -0\.1$"):
        checks.positive_number("clip_norm", -0.1, allow_zero=True)
    with pytest.raises(ValueError, match=r"^clip_norm must be a non-negative number or None, got nan$"):
        checks.positive_number("clip_norm", NAN, allow_zero=True, allow_none=True)
    assert checks.positive_number("clip_norm", None, allow_none=True) is None


def test_number_in_with_closed_and_open_ends():
    assert checks.number_in("momentum", 0, 0, 1) == 0.0
    assert checks.number_in("momentum", 1, 0, 1) == 1.0
    assert checks.number_in("momentum", np.float64(0.9), 0, 1) == 0.9
    with pytest.raises(ValueError, match=r"^momentum must be a number in \[0, 1\), got 1\.0$"):
        checks.number_in("momentum", 1.0, 0, 1, high_open=True)
    with pytest.raises(ValueError, match=r"^decay must be a number in \(0, 1\], got 0$"):
        checks.number_in("decay", 0, 0, 1, low_open=True)
    for bad in (1.5, -0.1, True, NAN, INF, "0.5", None):
        with pytest.raises(ValueError, match=rf"^momentum must be a number in \[0, 1\], got {re.escape(repr(bad))}$"):
            checks.number_in("momentum", bad, 0, 1)
    assert checks.number_in("momentum", None, 0, 1, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^momentum must be a number in \[0, 1\] or None, got inf$"):
        checks.number_in("momentum", INF, 0, 1, allow_none=True)


def test_one_of_names_the_argument_and_lists_the_choices():
    assert checks.one_of("kind", "gru", ("tanh", "gru", "lstm")) == "gru"
    assert checks.one_of("kind", "lstm", iter(["tanh", "lstm"])) == "lstm"      # any iterable
    for bad in ("GRU", "rnn", None, 3, NAN, ["gru"]):
        with pytest.raises(ValueError, match=rf"^kind: unknown {re.escape(repr(bad))}; "
                                             r"expected one of 'tanh', 'gru', 'lstm'$"):
            checks.one_of("kind", bad, ("tanh", "gru", "lstm"))


def test_instance_names_the_argument_and_the_type_that_came():
    assert checks.instance("path", "a.pt", str) == "a.pt"
    value = [1, 2]
    assert checks.instance("rolls", value, (list, tuple)) is value
    with pytest.raises(ValueError, match=r"^rolls must be a list or tuple, got dict$"):
        checks.instance("rolls", {}, (list, tuple))
    with pytest.raises(ValueError, match=r"^cell must be a gru_lib cell, got int$"):
        checks.instance("cell", 3, dict, "gru_lib cell")
    with pytest.raises(ValueError, match=r"^x must be a float, got bool$"):
        checks.instance("x", True, float)
    assert math.isnan(checks.instance("x", NAN, float))                          # a type check only


def test_seed_is_checked_for_the_range_every_generator_takes():
    assert checks.seed("seed", 0) == 0 and checks.seed("seed", np.int64(7)) == 7
    assert checks.seed("seed", checks.SEED_MAX) == 2 ** 63 - 1
    for bad in (2 ** 70, -1, "a", 1.0, True, None):
        with pytest.raises(ValueError, match=re.escape("seed must be an integer in 0..")):
            checks.seed("seed", bad)


def test_one_line_parser_errors_are_one_line(capsys):
    parser = checks.OneLineParser(prog="python -m gru_lib sample")
    parser.add_argument("--steps", type=int)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--steps", "x"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "usage" not in err
    assert err.startswith("python -m gru_lib sample: error: argument --steps") \
        and err.rstrip().endswith("(see --help)")
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--help"])
    assert info.value.code == 0 and "usage:" in capsys.readouterr().out


def test_expand_user_names_a_home_folder_that_does_not_exist():
    """pathlib raises a bare RuntimeError for ~nouser; the data, cache and output paths that
    go through expand_user say which path and what to do instead."""
    from pathlib import Path

    from gru_lib.checks import expand_user
    assert expand_user("runs/x") == Path("runs/x")
    with pytest.raises(ValueError, match=r"data: cannot expand '~no-such-user-gru-lib/x'"):
        expand_user("~no-such-user-gru-lib/x", "data")


@pytest.mark.parametrize("call", ["music", "chorales", "speech", "write"])
def test_every_user_path_goes_through_expand_user(call, tmp_path):
    from gru_lib.atomic import writable_new_file
    from gru_lib.music import load_music
    from gru_lib.music.chorales import load_chorales
    from gru_lib.speech.data import load_recordings
    bad = "~no-such-user-gru-lib/x"
    calls = {"music": lambda: load_music("jsb", folder=bad),
             "chorales": lambda: load_chorales(folder=bad),
             "speech": lambda: load_recordings(folder=bad),
             "write": lambda: writable_new_file(bad, what="out")}
    with pytest.raises(ValueError, match="cannot expand '~no-such-user-gru-lib/x'"):
        calls[call]()


# -- an audit of bad input: an int too large for a float was an OverflowError, and one of over
# 4300 digits could not even be printed in the message

@pytest.mark.parametrize("bad", [10 ** 400, -10 ** 400, NAN, INF, -INF, True, np.bool_(True)],
                         ids=["10**400", "-10**400", "nan", "inf", "-inf", "True", "np.True_"])
def test_number_checks_refuse_huge_ints_nan_inf_and_bools_with_a_value_error(bad):
    for check in (lambda v: checks.positive_number("seconds", v),
                  lambda v: checks.number_in("seconds", v, 0, 600, low_open=True),
                  lambda v: checks.number_in("seconds", v, -math.inf, math.inf)):
        with pytest.raises(ValueError, match=r"^seconds must be a "):
            check(bad)


def test_a_huge_int_is_shown_by_its_length_and_said_to_be_too_large_for_a_float():
    with pytest.raises(ValueError, match=r"^temperature must be a positive number, got an integer "
                                         r"of about 401 digits \(too large for a float\)$"):
        checks.positive_number("temperature", 10 ** 400)
    with pytest.raises(ValueError, match=r"got a negative integer of about 5001 digits$"):
        checks.positive_int("steps", -10 ** 5000)        # str() of it would raise ValueError
    assert checks.shown(10 ** 5000) == "an integer of about 5001 digits"
    assert checks.shown(2 ** 63) == repr(2 ** 63) and checks.shown("x") == "'x'"
    # the largest float an int can still be is accepted as a number
    assert checks.number_in("x", 10 ** 300, 0, math.inf) == 1e300


def test_path_like_names_the_argument_instead_of_pathlib_type_error(tmp_path):
    from pathlib import Path
    assert checks.path_like("out", "a.mid") == "a.mid" and checks.path_like("out", tmp_path) == tmp_path
    assert checks.path_like("prime", None, allow_none=True) is None
    for bad in (123, 1.5, b"a.mid", ["a.mid"], None):
        with pytest.raises(ValueError, match=r"^out: expected a path \(a str or pathlib.Path\), got "):
            checks.path_like("out", bad)
    with pytest.raises(ValueError, match=r"^data: expected a path .*got int 123$"):
        checks.expand_user(123, "data")
    assert checks.expand_user(Path("x")) == Path("x")


def test_existing_file_says_what_to_give_instead(tmp_path):
    (tmp_path / "a.mid").write_bytes(b"MThd")
    assert checks.existing_file("prime", str(tmp_path / "a.mid"), "a MIDI file") == tmp_path / "a.mid"
    assert checks.existing_file("prime", None, "a MIDI file", allow_none=True) is None
    for missing in (tmp_path / "nope.mid", tmp_path):          # absent, or a folder
        with pytest.raises(ValueError, match=r"^prime: no such file '.*'; give a MIDI file to "
                                             r"continue$"):
            checks.existing_file("prime", missing, "a MIDI file to continue")
    with pytest.raises(ValueError, match=r"^prime: expected a path"):
        checks.existing_file("prime", 3, "a MIDI file")
