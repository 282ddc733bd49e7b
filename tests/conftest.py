import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_torch_state():
    """Each test starts with float32 default dtype and rsample's default validation."""
    import rsample

    dtype = torch.get_default_dtype()
    validate = rsample.Distribution._validate_args
    yield
    torch.set_default_dtype(dtype)
    rsample.Distribution._validate_args = validate
