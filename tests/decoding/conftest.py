"""Decoding tests use tiny tensors."""

import pytest


@pytest.fixture(autouse=True, scope="module")
def one_thread(one_torch_thread):
    """Tiny models: one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="session")
def numbers_checkpoint(tmp_path_factory):
    """best.pt of a small attention model trained on the built-in number task (seconds): it translates most numbers
    of up to four digits right, with a sharp attention."""
    from helpers import tiny_config_dict

    from s2s.config import config_from_dict
    from s2s.training.lm_trainer import make_trainer

    run = tmp_path_factory.mktemp("numbers")
    config = config_from_dict(tiny_config_dict(run, data={"numbers_train": 3000, "numbers_max_digits": 4},
                                               train={"epochs": 3, "lr": 0.01}, model={"hidden_size": 64, "emb_size": 32}))
    make_trainer(config, run, log=lambda message: None).train()
    return run / "best.pt"


@pytest.fixture(scope="module")
def numbers_translator(numbers_checkpoint):
    from s2s.decoding.translator import Translator

    return Translator.from_checkpoint(numbers_checkpoint, device="cpu")
