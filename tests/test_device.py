import pytest
import torch

from gru_lib import pick_device
from gru_lib.device import check_device_name


def test_auto_picks_what_exists():
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert pick_device("auto").type == expected
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_a_clear_error():
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        pick_device("cuda")


def test_nonsense_device():
    with pytest.raises(ValueError, match="is not a device name"):
        pick_device("gpu0")
    with pytest.raises(ValueError, match="device must be"):
        pick_device(3)


def test_a_device_name_is_checked_without_asking_for_the_device():
    """A config names a device it may use later, on another machine: only the name is checked."""
    from gru_lib.device import check_device_name

    for name in ("auto", "cpu", "cuda", "cuda:1", "mps", torch.device("cpu")):
        check_device_name("device", name)
    with pytest.raises(ValueError, match="device: 'tpu' is not a device name"):
        check_device_name("device", "tpu")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu'"):
        check_device_name("device", None)


@pytest.mark.parametrize("name", ["meta", "xpu", "hpu", "ipu", "xla"])
def test_device_types_torch_parses_but_gru_lib_does_not_run_on_are_refused(name):
    """--device meta was a traceback ("Tensor.item() cannot be called on meta tensors") after
    reproduce had written run.json and search.db; xpu an AssertionError from inside torch."""
    for check in (lambda: pick_device(name), lambda: check_device_name("device", name)):
        with pytest.raises(ValueError, match=rf"device: '{name}' is a torch device type gru_lib "
                                             r"does not run on; use 'auto', 'cpu'"):
            check()
