"""Tiny random checkpoints of the zoo's shapes on a few English words, for the ONNX export and runtime tests."""

from __future__ import annotations

from pathlib import Path

import torch

from s2s.checkpoint import save_checkpoint
from s2s.config import Config, DecodeConfig, ModelConfig
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.models import build_model
from s2s.specials import EOS

SOURCES = ["the cat sees a dog", "a big red house near the tree", "dog", "blue", "the small dog runs far",
           "a cat", "the tree sees the red cat near a blue house"]


def make_checkpoint(path: Path, name: str = "gru_attn", input_feeding: bool = False, tokenizer: str = "whitespace",
                    eos_bias: float = 1.0, seed: int = 0, **decode) -> Path:
    """A random tiny model on SOURCES' words, weights x3 and <eos> made likelier so that outputs vary in length."""
    torch.manual_seed(seed)
    config = Config(model=ModelConfig(name=name, emb_size=16, hidden_size=32, dropout=0.0, input_feeding=input_feeding),
                    decode=DecodeConfig(**decode))
    if tokenizer == "sentencepiece":
        tok = build_tokenizer("sentencepiece", vocab_size=40, model_type="bpe")
        tok.train(SOURCES * 3)
    else:
        tok = build_tokenizer(tokenizer)
    vocab = Vocab.build(tok.tokenize(line) for line in SOURCES)
    model = build_model(config.model, len(vocab), len(vocab)).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(3.0)
        model.decoder.out.bias[EOS] += eos_bias
    save_checkpoint({"config": config.to_dict(), "model": model.state_dict(), "src_vocab": vocab.tokens,
                     "tgt_vocab": vocab.tokens, "src_tokenizer": tok.state(), "tgt_tokenizer": tok.state(),
                     "step": 7, "epoch": 1}, path)
    return path
