"""The model zoo: importing this package registers the built-in models (six translation models, three language models)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import nn

from s2s.config import ModelConfig
from s2s.models import seq2seq  # noqa: F401  (registers the zoo: the translation models, listed first)
from s2s.models import lm  # noqa: F401  (then the language models)
from s2s.models.decoder import Decoder
from s2s.registry import MODELS


def build_model(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> nn.Module:
    """Build the registered model named by the config (cfg.name, or cell + attention)."""
    return MODELS.build(cfg.resolved_name, cfg, src_vocab_size, tgt_vocab_size)


# The fills of torch.nn.init that modules' reset_parameters call (nn.Linear, nn.Embedding, nn.GRU, ...) and ours do.
INIT_FILLS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_", "xavier_uniform_",
              "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")


@contextmanager
def no_init() -> Iterator[None]:
    """Modules built inside skip their random initialisation (torch.nn.init's fills leave the tensor as it is): for a
    model whose every weight a checkpoint overwrites next (load_state_dict, strict), where drawing its 11M random
    numbers first is a tenth of a cold start. transformers' no_init_weights does the same. Not for threads that build
    models meanwhile: the fills are swapped for the whole process while it lasts."""
    saved = {name: getattr(nn.init, name) for name in INIT_FILLS}
    try:
        for name in INIT_FILLS:
            setattr(nn.init, name, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for name, fill in saved.items():
            setattr(nn.init, name, fill)


def count_parameters(model: nn.Module) -> int:
    """The model's parameters as its checkpoints hold them: without the target vocabulary's padding rows."""
    padding = sum(module.padding_numbers() for module in model.modules() if isinstance(module, Decoder))
    return sum(p.numel() for p in model.parameters()) - padding
