"""Fixtures of the speech tests (the shared FSDD waveforms, ``waves``, are in tests/conftest.py)."""
import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These small recurrent steps run fastest on one thread (and far faster than on two
    when the CPU is shared); restore torch's setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
