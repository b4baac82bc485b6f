"""Translator: a checkpoint's model, tokenizers and vocabularies behind `translate(lines)`; one output per input line."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from itertools import islice
from typing import Iterable, Iterator

import torch

from s2s.checkpoint import load_checkpoint
from s2s.config import DecodeConfig, config_from_dict
from s2s.data.batching import pad
from s2s.data.tokenizers import tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.decoding.beam import beam_search
from s2s.decoding.ensemble import Ensemble
from s2s.decoding.greedy import greedy_search
from s2s.decoding.precision import apply_precision
from s2s.device import autocast, resolve_device
from s2s.errors import S2SError
from s2s.models import build_model, count_parameters
from s2s.models.decoder import prepare_padded_outputs
from s2s.registry import MODELS, import_user_modules


@dataclass
class Translation:
    text: str
    score: float = 0.0  # length-normalised log-probability (beam) or summed log-probability (greedy)
    log_prob: float = 0.0
    nbest: list[tuple[str, float]] = field(default_factory=list)  # (text, score), best first
    src_tokens: list[str] = field(default_factory=list)
    out_tokens: list[str] = field(default_factory=list)
    attention: torch.Tensor | None = None  # (output rows, len(src_tokens)); rows are attention_rows()

    def attention_rows(self) -> list[str]:
        """Labels of the attention rows: the output tokens, then </s> unless decoding stopped at the length limit."""
        ended = self.attention is not None and self.attention.size(0) > len(self.out_tokens)
        return self.out_tokens + ["</s>"] if ended else list(self.out_tokens)

    def attention_json(self) -> dict:
        """{"src": source tokens, "out": attention_rows(), "weights": [out][src] rounded to 4 places, or None}."""
        weights = None if self.attention is None else [[round(w, 4) for w in row] for row in self.attention.tolist()]
        return {"src": self.src_tokens, "out": self.attention_rows(), "weights": weights}


def load_model(path) -> tuple:
    """(model in eval mode, checkpoint payload, its Config) from a checkpoint file or run folder."""
    payload = load_checkpoint(path)
    config = config_from_dict(payload["config"], source=f"config inside checkpoint {path}")
    import_user_modules(config.imports)
    model = build_model(config.model, len(payload["src_vocab"]), len(payload["tgt_vocab"]))
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:
        raise S2SError(f"checkpoint '{path}': its weights do not fit the model its config describes "
                       f"({str(error).splitlines()[0]}).") from None
    return model.eval(), payload, config


class Translator:
    def __init__(self, model, src_tokenizer, tgt_tokenizer, src_vocab: Vocab, tgt_vocab: Vocab,
                 decode: DecodeConfig | None = None, device: torch.device | str = "cpu", max_input_tokens: int = 400,
                 precision: str = "fp32"):
        """precision: fp32, bf16 (autocast, where native), int8 (dynamic quantization of the linear and GRU/LSTM
        layers, CPU) or int8-linear (the linear layers only)."""
        self.model, self.amp = apply_precision(model.to(device).eval(), precision, torch.device(device))
        prepare_padded_outputs(self.model)
        self.precision = precision
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.decode = decode or DecodeConfig()
        self.device = torch.device(device)
        self.max_input_tokens = max_input_tokens
        self.checkpoint: dict = {}  # from_checkpoint: path, step, epoch and the run's config

    @classmethod
    def from_checkpoint(cls, path, device: str = "auto", precision: str = "fp32") -> "Translator":
        """A translator for one checkpoint, or for an ensemble when `path` is a list of several (their
        log-probabilities are averaged at every step; they must share tokenizers and vocabularies). The decode:
        defaults and the reported config are the first checkpoint's."""
        paths = list(path) if isinstance(path, (list, tuple)) else [path]
        if not paths:
            raise S2SError("no checkpoint given; pass at least one .pt file or run folder.")
        loaded = [load_model(p) for p in paths]
        model, payload, config = loaded[0]
        if MODELS.task(config.model.resolved_name) == "language_model":
            raise S2SError(f"checkpoint '{paths[0]}' holds a language model ({config.model.resolved_name}), which does not "
                           f"translate; sample from it with s2s generate, score a text with s2s evaluate --text FILE.")
        for other_path, (_, other, _) in zip(paths[1:], loaded[1:]):
            for key in ("src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer"):
                if other[key] != payload[key]:
                    raise S2SError(f"checkpoints '{paths[0]}' and '{other_path}' have different {key.replace('_', ' ')}s, "
                                   f"so they cannot be ensembled; ensemble checkpoints of one run, or of runs that "
                                   f"share the same data and tokenizer settings.")
        if len(loaded) > 1:
            model = Ensemble([m for m, _, _ in loaded])
        translator = cls(model, tokenizer_from_state(payload["src_tokenizer"]), tokenizer_from_state(payload["tgt_tokenizer"]),
                         Vocab(payload["src_vocab"]), Vocab(payload["tgt_vocab"]), config.decode, resolve_device(device),
                         precision=precision)
        translator.checkpoint = {"path": str(paths[0]) if len(paths) == 1 else [str(p) for p in paths],
                                 "step": payload.get("step"), "epoch": payload.get("epoch"), "config": config,
                                 "parameters": count_parameters(model)}  # the fp32 model: int8 packs its weights
        return translator

    def translate(self, lines: list[str], **options) -> list[str]:
        """Translations of `lines`, one string per line; options as for translate_detailed."""
        return [t.text for t in self.translate_detailed(lines, **options)]

    def translate_detailed(self, lines: list[str], beam: int | None = None, nbest: int | None = None,
                           length_penalty: float | None = None, max_len_ratio: float | None = None,
                           batch_size: int | None = None, return_attention: bool = False,
                           no_repeat_ngram: int | None = None) -> list[Translation]:
        """Translate a list of sentences; None options fall back to the checkpoint's decode: section."""
        default = self.decode
        beam = default.beam if beam is None else beam
        nbest = default.nbest if nbest is None else nbest
        length_penalty = default.length_penalty if length_penalty is None else length_penalty
        max_len_ratio = default.max_len_ratio if max_len_ratio is None else max_len_ratio
        batch_size = default.batch_size if batch_size is None else batch_size
        no_repeat_ngram = default.no_repeat_ngram if no_repeat_ngram is None else no_repeat_ngram
        if beam < 1 or nbest < 1 or nbest > beam or batch_size < 1 or no_repeat_ngram < 0 or length_penalty < 0 \
                or max_len_ratio <= 0:
            raise S2SError(f"decoding options need beam >= 1, 1 <= nbest <= beam, batch_size >= 1, no_repeat_ngram >= 0, "
                           f"length_penalty >= 0 and max_len_ratio > 0 (got beam={beam}, nbest={nbest}, "
                           f"batch_size={batch_size}, no_repeat_ngram={no_repeat_ngram}, length_penalty={length_penalty}, "
                           f"max_len_ratio={max_len_ratio}).")
        results = [Translation("") for _ in lines]
        src_tokens = []
        for number, line in enumerate(lines, start=1):
            tokens = self.src_tokenizer.tokenize(line)
            if len(tokens) > self.max_input_tokens:
                print(f"warning: input line {number} has {len(tokens)} tokens; translating only the first "
                      f"{self.max_input_tokens}.", file=sys.stderr)
                tokens = tokens[: self.max_input_tokens]
            src_tokens.append(tokens)
        order = sorted((i for i, tokens in enumerate(src_tokens) if tokens), key=lambda i: len(src_tokens[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            ids = [self.src_vocab.encode(src_tokens[i]) for i in chunk]
            src = pad(ids).to(self.device)
            src_lengths = torch.tensor([len(x) for x in ids])
            with autocast(self.device, self.amp):
                if beam == 1:
                    outputs = [[(tokens, score, score, attn)] for tokens, score, attn in
                               greedy_search(self.model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram)]
                else:
                    outputs = [[(h.tokens, h.score, h.log_prob, h.attention) for h in hyps] for hyps in
                               beam_search(self.model, src, src_lengths, beam, nbest, length_penalty, max_len_ratio,
                                           return_attention, no_repeat_ngram)]
            for i, hyps in zip(chunk, outputs):
                texts = [self._detokenize(tokens) for tokens, *_ in hyps]
                best_tokens, score, log_prob, attention = hyps[0]
                results[i] = Translation(texts[0], score, log_prob, [(t, h[1]) for t, h in zip(texts, hyps)],
                                         src_tokens[i], self.tgt_vocab.decode(best_tokens), attention)
        return results

    def translate_stream(self, lines: Iterable[str], chunk_size: int = 1024, **options) -> Iterator[Translation]:
        """Translate an iterable of lines chunk by chunk, yielding in input order (for inputs larger than memory)."""
        iterator = iter(lines)
        while chunk := list(islice(iterator, chunk_size)):
            yield from self.translate_detailed([line.rstrip("\r\n") for line in chunk], **options)

    def _detokenize(self, ids: list[int]) -> str:
        text = self.tgt_tokenizer.detokenize(self.tgt_vocab.decode(ids))
        return " ".join(text.split())  # never a newline inside an output line
