"""Shared fixtures."""

from __future__ import annotations

import pytest
from helpers import tiny_config_dict

from s2s.config import config_from_dict


@pytest.fixture(scope="session")
def make_config():
    """make_config(run_dir, train={...}, ...) -> a validated tiny Config."""
    return lambda run_dir, **sections: config_from_dict(tiny_config_dict(run_dir, **sections))
