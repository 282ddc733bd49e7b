import pytest
import torch


def pytest_configure(config):
    """One intra-op thread: ``make test`` runs two xdist workers on two cores, and two workers
    with two threads each oversubscribe them (torch's parallel kernels on tensors just above
    its grain size then run 10–80× slower); the tests' tensors are small anyway."""
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _restore_torch_state():
    """Each test starts with float32 default dtype and rsample's default validation."""
    import rsample

    dtype = torch.get_default_dtype()
    validate = rsample.Distribution._validate_args
    yield
    torch.set_default_dtype(dtype)
    rsample.Distribution._validate_args = validate
