import pytest
import torch

from gru_lib import pick_device


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
