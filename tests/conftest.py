"""Shared fixtures."""

from __future__ import annotations

import pytest
from helpers import tiny_config_dict

from s2s.config import config_from_dict


@pytest.fixture(scope="session")
def make_config():
    """make_config(run_dir, train={...}, ...) -> a validated tiny Config."""
    return lambda run_dir, **sections: config_from_dict(tiny_config_dict(run_dir, **sections))


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module of tiny models, where intra-op threads only add overhead (a lot of it on a busy
    machine); the previous count is restored after it. Packages of such tests use it from an autouse fixture."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session", autouse=True)
def data_cache_in_a_temporary_folder(tmp_path_factory):
    """Tests (and the s2s subprocesses they start) keep the encoded-data cache out of the user's ~/.cache."""
    import os

    from s2s.data.cache import CACHE_ENV

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("s2s-cache"))
    yield
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous
