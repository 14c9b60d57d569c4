import pytest

from demos.base import one_thread


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """As the runner does: steady timings on a shared 2-core machine, same numbers."""
    with one_thread():
        yield
