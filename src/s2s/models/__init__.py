"""The model zoo: importing this package registers the built-in models (six translation models, three language models)."""

from __future__ import annotations

from torch import nn

from s2s.config import ModelConfig
from s2s.models import seq2seq  # noqa: F401  (registers the zoo: the translation models, listed first)
from s2s.models import lm  # noqa: F401  (then the language models)
from s2s.models.decoder import Decoder
from s2s.registry import MODELS


def build_model(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> nn.Module:
    """Build the registered model named by the config (cfg.name, or cell + attention)."""
    return MODELS.build(cfg.resolved_name, cfg, src_vocab_size, tgt_vocab_size)


def count_parameters(model: nn.Module) -> int:
    """The model's parameters as its checkpoints hold them: without the target vocabulary's padding rows."""
    padding = sum(module.padding_numbers() for module in model.modules() if isinstance(module, Decoder))
    return sum(p.numel() for p in model.parameters()) - padding
