"""What translators return (Translation, Hypothesis) and the half of a translator that needs no torch: decoding
options, tokenizing with the length cap, length-sorted batches, detokenizing. The torch Translator and the onnxruntime
OnnxTranslator (s2s.runtime) differ only in their search over a batch of id lists (_search)."""

from __future__ import annotations

import math
import numbers
import sys
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Iterable, Iterator

from s2s.config import DECODE_MAXIMUM, DecodeConfig
from s2s.errors import S2SError

if TYPE_CHECKING:  # annotations only: this module runs without torch (and without numpy)
    import numpy as np
    import torch


@dataclass
class Hypothesis:
    tokens: list[int]  # output ids, without <eos>
    log_prob: float  # log p(tokens + <eos> | source), or without <eos> when cut at the length limit
    score: float  # log_prob / length ** length_penalty
    attention: torch.Tensor | np.ndarray | None = None  # (output length incl. <eos>, src_len)


@dataclass
class Translation:
    text: str
    score: float = 0.0  # length-normalised log-probability (beam) or summed log-probability (greedy)
    log_prob: float = 0.0
    nbest: list[tuple[str, float]] = field(default_factory=list)  # (text, score), best first
    src_tokens: list[str] = field(default_factory=list)
    out_tokens: list[str] = field(default_factory=list)
    # (output rows, len(src_tokens)), a torch tensor or a numpy array; rows are attention_rows()
    attention: torch.Tensor | np.ndarray | None = None

    def attention_rows(self) -> list[str]:
        """Labels of the attention rows: the output tokens, then </s> unless decoding stopped at the length limit."""
        ended = self.attention is not None and len(self.attention) > len(self.out_tokens)
        return self.out_tokens + ["</s>"] if ended else list(self.out_tokens)

    def attention_json(self) -> dict:
        """{"src": source tokens, "out": attention_rows(), "weights": [out][src] rounded to 4 places, or None}."""
        weights = None if self.attention is None else [[round(w, 4) for w in row] for row in self.attention.tolist()]
        return {"src": self.src_tokens, "out": self.attention_rows(), "weights": weights}


def check_decode_options(vocab_size: int, **options) -> None:
    """An S2SError naming the first decoding option (beam, nbest, length_penalty, max_len_ratio, batch_size,
    no_repeat_ngram) that is not a finite number in its range: beam between 1 and the target vocabulary's size (a
    larger beam holds the same hypotheses) and DECODE_MAXIMUM, nbest between 1 and beam, max_len_ratio above 0."""
    for name, value in options.items():
        integer = name in ("beam", "nbest", "batch_size", "no_repeat_ngram")
        kind = "an integer" if integer else "a finite number"
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real) \
                or not math.isfinite(value):
            raise S2SError(f"decoding option {name} must be {kind}, got {value!r}.")
        low = 1 if name in ("beam", "nbest", "batch_size") else 0
        if value < low or (name == "max_len_ratio" and value == 0):
            raise S2SError(f"decoding option {name} must be {'> 0' if name == 'max_len_ratio' else f'>= {low}'}, "
                           f"got {value}.")
        if value > DECODE_MAXIMUM[name]:
            raise S2SError(f"decoding option {name} must be <= {DECODE_MAXIMUM[name]}, got {value}: a size that cannot "
                           f"be meant.")
    if "beam" in options and options["beam"] > vocab_size:
        raise S2SError(f"decoding option beam {options['beam']} is larger than the target vocabulary ({vocab_size} "
                       f"tokens), so the extra hypotheses could only repeat; use a beam of at most {vocab_size}.")
    if "nbest" in options and options["nbest"] > options["beam"]:
        raise S2SError(f"decoding option nbest ({options['nbest']}) cannot exceed beam ({options['beam']}); ask for a "
                       f"beam of at least {options['nbest']}.")


class BatchTranslator:
    """translate / translate_detailed / translate_stream for a subclass that sets the tokenizers, vocabularies,
    `decode` defaults and max_input_tokens, and implements _search over one batch of source id lists."""

    decode: DecodeConfig
    max_input_tokens: int

    def _search(self, ids: list[list[int]], beam: int, nbest: int, length_penalty: float, max_len_ratio: float,
                return_attention: bool, no_repeat_ngram: int) -> list[list[tuple]]:
        """Per source: its hypotheses (output ids without <eos>, score, log_prob, attention or None), best first."""
        raise NotImplementedError

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
        check_decode_options(len(self.tgt_vocab), beam=beam, nbest=nbest, length_penalty=length_penalty,
                             max_len_ratio=max_len_ratio, batch_size=batch_size, no_repeat_ngram=no_repeat_ngram)
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
            outputs = self._search(ids, beam, nbest, length_penalty, max_len_ratio, return_attention, no_repeat_ngram)
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
