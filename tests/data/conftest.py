"""Fixtures of the data tests."""

from __future__ import annotations

import urllib.request

import pytest

from s2s.data import multi30k, tatoeba


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach the network or depend on the caller's mirror settings (Multi30k's and Tatoeba's)."""
    monkeypatch.delenv(multi30k.MIRROR_ENV, raising=False)
    monkeypatch.delenv(tatoeba.MIRROR_ENV, raising=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
