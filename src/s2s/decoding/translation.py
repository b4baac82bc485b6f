"""What translators return (Translation, Hypothesis) and the half of a translator that needs no torch: decoding
options, tokenizing with the length cap, target prefixes, length-sorted batches, detokenizing, word alignments. The
torch Translator and the onnxruntime OnnxTranslator (s2s.runtime) differ only in their search over a batch of id lists
(_search)."""

from __future__ import annotations

import math
import numbers
import random
import re
import sys
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import islice
from typing import TYPE_CHECKING, Iterable, Iterator

from s2s.config import DECODE_MAXIMUM, DecodeConfig
from s2s.data.readers import check_count, check_lines
from s2s.decoding.alignment import SUBWORD_TOKENIZERS, WORD_START, word_alignment, word_ids
from s2s.decoding.limits import GREEDY_TEMPERATURE, decode_batches
from s2s.errors import S2SError
from s2s.specials import BOS, EOS, PAD, UNK, control_tokens

if TYPE_CHECKING:  # annotations only: this module runs without torch (and without numpy)
    import numpy as np
    import torch


BYTE_PIECE = re.compile(r"<0x([0-9A-F]{2})>")  # SentencePiece's byte fallback: one piece per UTF-8 byte
MOSTLY_BYTES = 0.5  # a line more than half of whose characters are spelled as bytes is warned about


def byte_spelled(tokens: list[str]) -> tuple[int, int]:
    """(characters spelled as byte pieces, characters in all) of a line's tokens, spaces not counted: a character
    the tokenizer never learned (SentencePiece's byte fallback) comes as the pieces of its UTF-8 bytes, and a
    character starts at every byte that is not a continuation byte (0x80-0xBF)."""
    spelled = characters = 0
    for token in tokens:
        byte = BYTE_PIECE.fullmatch(token)
        if byte:
            starts = not 0x80 <= int(byte.group(1), 16) <= 0xBF
            spelled, characters = spelled + starts, characters + starts
        else:
            characters += len(token.replace(WORD_START, "").replace(" ", ""))
    return spelled, characters


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
    # with return_alignment: (source word, target word) pairs of `text` (s2s.decoding.alignment), and of each nbest entry
    alignment: list[tuple[int, int]] | None = None
    nbest_alignments: list[list[tuple[int, int]]] | None = None
    # what was dropped or guessed on the way (source tokens cut at max_input_tokens, source tokens outside the
    # vocabulary fed as <unk>), one sentence each; s2s serve returns them with the translation
    warnings: list[str] = field(default_factory=list)

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


SAMPLING_MAXIMUM = {"sample": 1000, "temperature": 100.0, "top_k": 1_000_000, "top_p": 1.0}


@dataclass
class Sampling:
    """Sampled decoding of one batch (s2s.decoding.sampling): n samples per line from softmax(log_probs / temperature),
    over the top_k most likely tokens (0: all) and the most likely ones holding top_p of the probability (1: all);
    each sample draws from a stream of uniform numbers named by the seed, its line's number (lines) and its number."""
    n: int
    temperature: float
    top_k: int
    top_p: float
    seed: int
    lines: list[int] = field(default_factory=list)


def check_sampling_options(sample, temperature, top_k, top_p, seed, beam, nbest) -> None:
    """An S2SError naming the first sampling option that is not a finite number in its range (sample >= 1,
    temperature >= 0, top_k >= 0, top_p in (0, 1], seed None or >= 0, each at most SAMPLING_MAXIMUM), or a beam or
    nbest above 1 given with it."""
    for name, value, low in (("sample", sample, 1), ("temperature", temperature, 0), ("top_k", top_k, 0),
                             ("top_p", top_p, 0), ("seed", 0 if seed is None else seed, 0)):
        integer = name in ("sample", "top_k", "seed")
        if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real) \
                or not math.isfinite(value):
            raise S2SError(f"sampling option {name} must be {'an integer' if integer else 'a finite number'}, got "
                           f"{value!r}.")
        if value < low or (name == "top_p" and value == 0):
            raise S2SError(f"sampling option {name} must be {'in (0, 1]' if name == 'top_p' else f'>= {low}'}, "
                           f"got {value}.")
        if value > SAMPLING_MAXIMUM.get(name, math.inf):
            raise S2SError(f"sampling option {name} must be <= {SAMPLING_MAXIMUM[name]}, got {value}.")
    for name, value in (("beam", beam), ("nbest", nbest)):
        if value not in (None, 1):
            raise S2SError(f"sampling draws its translations one token at a time, so it takes no {name} ({name} "
                           f"{value}); drop {name} (--{name}), or drop sample (--sample) to search with a beam.")


class NeverOutputs:
    """A model (torch or the ONNX runtime's, one or an ensemble) whose decode_step gives the tokens `ids` a log-prob of
    -inf, so that no search or sampling outputs them; every other token's log-prob is unchanged (scoring a given
    text uses the model itself). Anything else is the model's."""

    def __init__(self, model, ids: list[int]):
        self.model, self.ids = model, list(ids)

    def decode_step(self, *args, **kwargs):
        log_probs, state, weights = self.model.decode_step(*args, **kwargs)
        log_probs[:, self.ids] = float("-inf")
        return log_probs, state, weights

    def __getattr__(self, name):
        return getattr(self.model, name)


class BatchTranslator:
    """translate / translate_detailed / translate_stream for a subclass that sets the tokenizers, vocabularies,
    `decode` defaults and max_input_tokens, and implements _search over one batch of source id lists."""

    decode: DecodeConfig
    max_input_tokens: int

    @cached_property
    def never_output(self) -> list[int]:
        """Target ids no translation outputs: the tokens that write a control character (s2s.specials.control_tokens)."""
        return control_tokens(self.tgt_vocab.tokens)

    def search_model(self):
        """self.model as search and sampling decode with it: never outputting never_output (scoring given text uses
        self.model)."""
        return NeverOutputs(self.model, self.never_output) if self.never_output else self.model

    def _search(self, ids: list[list[int]], beam: int, nbest: int, length_penalty: float, max_len_ratio: float,
                return_attention: bool, no_repeat_ngram: int, prefixes: list[list[int]] | None = None,
                sampling: Sampling | None = None) -> list[list[tuple]]:
        """Per source: its hypotheses (output ids without <eos>, score, log_prob, attention or None), best first; or
        with sampling, its sampling.n samples in draw order. prefixes: per source, the target ids its outputs start
        with (given only when one is not empty)."""
        raise NotImplementedError

    def translate(self, lines: list[str], **options) -> list[str]:
        """Translations of `lines`, one string per line; options as for translate_detailed."""
        lines = check_lines(lines, f"{type(self).__name__}.translate: lines")
        return [t.text for t in self.translate_detailed(lines, **options)]

    def translate_detailed(self, lines: list[str], beam: int | None = None, nbest: int | None = None,
                           length_penalty: float | None = None, max_len_ratio: float | None = None,
                           batch_size: int | None = None, return_attention: bool = False,
                           no_repeat_ngram: int | None = None, prefix: list[str] | None = None, sample: int = 0,
                           temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0, seed: int | None = None,
                           return_alignment: bool = False, first_line: int = 0) -> list[Translation]:
        """Translate a list of sentences; None options fall back to the checkpoint's decode: section.

        prefix: one target prefix per line ('' for none); each output starts with it: its tokens are forced, then
        the search goes on, and the scores count the forced tokens' log-probs too. An empty input line stays empty.
        sample > 0: that many translations per line drawn from the model (Translation.nbest, in draw order, each
        scored with its summed log-prob; text is the first) instead of a beam search; temperature, top_k, top_p
        shape the distribution (s2s.decoding.sampling; a temperature below 1e-10, 0 included, is greedy decoding); a
        seed makes the samples repeat; first_line is the number of lines[0] in a longer input (translate_stream sets
        it), since a line's samples depend on the seed and its number only. return_alignment: Translation.alignment (and
        nbest_alignments), word alignments from the attention (s2s.decoding.alignment).

        lines (and prefix) must be a list or tuple of str: one string, None, bytes or a number is an S2SError
        (s2s.data.readers.check_lines), as is text with a NUL character. Translation.warnings says per line what
        was cut or fed as <unk>; a line none of whose tokens the source vocabulary knows is also warned about on
        stderr."""
        name = type(self).__name__
        lines = check_lines(lines, f"{name}.translate_detailed: lines")
        check_count(first_line, f"{name}.translate_detailed: first_line", 0)
        if prefix is not None:
            prefix = check_lines(prefix, f"{name}.translate_detailed: prefix")
        default = self.decode
        sampling = None
        if sample:
            check_sampling_options(sample, temperature, top_k, top_p, seed, beam, nbest)
            beam = nbest = 1
            if temperature >= GREEDY_TEMPERATURE:  # below it, sampling is greedy decoding (s2s.decoding.limits)
                sampling = Sampling(sample, temperature, top_k, top_p, random.randrange(2**32) if seed is None else seed)
        if prefix is not None and len(prefix) != len(lines):
            raise S2SError(f"prefix has {len(prefix)} entries for {len(lines)} input lines; give one prefix per line "
                           f"('' for none).")
        beam = default.beam if beam is None else beam
        nbest = default.nbest if nbest is None else nbest
        length_penalty = default.length_penalty if length_penalty is None else length_penalty
        max_len_ratio = default.max_len_ratio if max_len_ratio is None else max_len_ratio
        batch_size = default.batch_size if batch_size is None else batch_size
        no_repeat_ngram = default.no_repeat_ngram if no_repeat_ngram is None else no_repeat_ngram
        check_decode_options(len(self.tgt_vocab), beam=beam, nbest=nbest, length_penalty=length_penalty,
                             max_len_ratio=max_len_ratio, batch_size=batch_size, no_repeat_ngram=no_repeat_ngram)
        results = [Translation("", alignment=[] if return_alignment else None,
                               nbest_alignments=[[]] if return_alignment else None) for _ in lines]  # as empty lines stay
        src_tokens, notes = self._source_tokens(lines, first_line)
        order = sorted((i for i, tokens in enumerate(src_tokens) if tokens), key=lambda i: len(src_tokens[i]))
        prefix = [""] * len(lines) if prefix is None else prefix
        prefix_ids = self._prefix_ids([text if tokens else "" for text, tokens in zip(prefix, src_tokens)])
        rows, option = (sample, "sample") if sampling is not None else (beam, "beam")  # decoding rows per sentence
        for chunk in decode_batches(self, order, [len(tokens) for tokens in src_tokens], batch_size, rows, option,
                                    max_len_ratio, return_attention or return_alignment, no_repeat_ngram):
            ids = [self.src_vocab.encode(src_tokens[i]) for i in chunk]
            extra = {}
            if any(prefix_ids[i] for i in chunk):
                extra["prefixes"] = [prefix_ids[i] for i in chunk]
            if sampling is not None:
                extra["sampling"] = replace(sampling, lines=[first_line + i for i in chunk])
            outputs = self._search(ids, beam, nbest, length_penalty, max_len_ratio, return_attention or return_alignment,
                                   no_repeat_ngram, **extra)
            if sample and sampling is None:  # temperature 0 (or below 1e-10): the greedy translation, sample times
                outputs = [hyps * sample for hyps in outputs]
            for i, hyps in zip(chunk, outputs):
                results[i] = self._translation(hyps, src_tokens[i], prefix[i], len(prefix_ids[i]), return_attention,
                                               return_alignment)
        for result, line_notes in zip(results, notes):
            result.warnings = line_notes
        return results

    def _source_tokens(self, lines: list[str], first_line: int) -> tuple[list[list[str]], list[list[str]]]:
        """(tokens, warnings) per line: the tokens cut at max_input_tokens, and what was cut or is unknown to the
        source vocabulary or mostly spelled as bytes (byte_spelled). On stderr: each cut line, one warning for the
        lines with no known token at all and one for the lines mostly spelled as bytes."""
        src_tokens, notes, unknown_lines, byte_lines = [], [], [], []
        for number, line in enumerate(lines, start=first_line + 1):
            tokens, line_notes = self.src_tokenizer.tokenize(line), []
            if len(tokens) > self.max_input_tokens:
                print(f"warning: input line {number} has {len(tokens)} tokens; translating only the first "
                      f"{self.max_input_tokens}.", file=sys.stderr)
                line_notes.append(f"the line has {len(tokens)} tokens; only the first {self.max_input_tokens} were "
                                  f"translated (split it into sentences).")
                tokens = tokens[: self.max_input_tokens]
            spelled, characters = byte_spelled(tokens)
            if spelled and spelled > MOSTLY_BYTES * characters:
                line_notes.append(f"{spelled} of its {characters} characters never occurred in the model's training "
                                  f"text and were fed as bytes; the translation is unlikely to mean anything (is the "
                                  f"line in the model's source language and script?).")
                byte_lines.append(number)
            unknown = [token for token in tokens if self.src_vocab.index.get(token, UNK) == UNK]
            if unknown:
                shown = ", ".join(map(repr, dict.fromkeys(unknown)))
                line_notes.append(f"{len(unknown)} of its {len(tokens)} tokens are not in the model's source "
                                  f"vocabulary and were translated as <unk>: {shown}.")
                if len(unknown) == len(tokens):
                    unknown_lines.append(number)
            src_tokens.append(tokens)
            notes.append(line_notes)
        for lines_found, verbs, what in (
                (unknown_lines, ("has", "have"), "no token the model's source vocabulary knows, so the translation is "
                                                 "made from <unk> alone and says nothing about the input"),
                (byte_lines, ("is", "are"), "mostly in characters the model never saw in training (fed as bytes), so "
                                            "the translation is unlikely to mean anything")):
            if lines_found:
                which = (f"input line {lines_found[0]} {verbs[0]}" if len(lines_found) == 1 else
                         f"{len(lines_found)} input lines (first: line {lines_found[0]}) {verbs[1]}")
                print(f"warning: {which} {what}; check that the input is in the model's source language and script.",
                      file=sys.stderr)
        return src_tokens, notes

    def translate_stream(self, lines: Iterable[str], chunk_size: int = 1024, prefix: list[str] | None = None,
                         **options) -> Iterator[Translation]:
        """Translate an iterable of lines chunk by chunk, yielding in input order (for inputs larger than memory);
        prefix: one per line, as for translate_detailed."""
        where = f"{type(self).__name__}.translate_stream: lines"
        check_count(chunk_size, f"{type(self).__name__}.translate_stream: chunk_size", 1)
        if isinstance(lines, (str, bytes, bytearray, dict)) or not hasattr(lines, "__iter__"):
            check_lines(lines, where)  # refuses one string (its characters are no lines), bytes, a dict, None
        iterator, first = iter(lines), 0
        while chunk := list(islice(iterator, chunk_size)):
            check_lines(chunk, where, first)
            chunk_prefix = None if prefix is None else prefix[first : first + len(chunk)]
            yield from self.translate_detailed([line.rstrip("\r\n") for line in chunk], prefix=chunk_prefix,
                                               first_line=first, **options)
            first += len(chunk)

    def _translation(self, hyps: list[tuple], src_tokens: list[str], prefix: str, forced: int, return_attention: bool,
                     return_alignment: bool) -> Translation:
        """The Translation of one line's hypotheses (ids, score, log_prob, attention), the first one its text."""
        texts = [self._output_text(tokens, prefix, forced) for tokens, *_ in hyps]
        best_tokens, score, log_prob, attention = hyps[0]
        translation = Translation(texts[0], score, log_prob, [(t, h[1]) for t, h in zip(texts, hyps)], src_tokens,
                                  self.tgt_vocab.decode(best_tokens), attention if return_attention else None)
        if return_alignment:
            if attention is None:
                raise S2SError("word alignments (--alignments, return_alignment) come from the attention, and this "
                               "model has none; use a model with attention (e.g. gru_attn).")
            src_words = word_ids(src_tokens, self.src_tokenizer.name in SUBWORD_TOKENIZERS)
            subword = self.tgt_tokenizer.name in SUBWORD_TOKENIZERS
            translation.nbest_alignments = [word_alignment(attn, src_words, word_ids(self.tgt_vocab.decode(ids), subword))
                                            for ids, _, _, attn in hyps]
            translation.alignment = translation.nbest_alignments[0]
        return translation

    def _prefix_ids(self, prefixes: list[str]) -> list[list[int]]:
        """Each prefix's target ids; one warning names the prefix words the target vocabulary lacks (fed as <unk>)."""
        subword = self.tgt_tokenizer.name in SUBWORD_TOKENIZERS
        all_ids, unknown = [], {}
        for text in prefixes:
            tokens = self.tgt_tokenizer.tokenize(text) if text else []
            ids = [self.tgt_vocab.index.get(token, UNK) for token in tokens]
            ids = [UNK if i in (PAD, BOS, EOS) else i for i in ids]  # a word '<eos>' in the text is no special
            words = word_ids(tokens, subword)
            for position in (p for p, i in enumerate(ids) if i == UNK):
                word = "".join(t for t, w in zip(tokens, words) if w == words[position])  # the pieces of its word
                unknown[word.replace(WORD_START, "")] = True
            all_ids.append(ids)
        if unknown:
            names = ", ".join(map(repr, unknown))
            print(f"warning: the target vocabulary lacks the prefix word{'s' if len(unknown) > 1 else ''} {names}; the "
                  f"model is fed <unk> for {'them' if len(unknown) > 1 else 'it'} (the output keeps the prefix text).",
                  file=sys.stderr)
        return all_ids

    def _output_text(self, ids: list[int], prefix: str, forced: int) -> str:
        """The detokenized output; one that starts with a prefix shows the prefix as given (not its tokens' text: no
        <unk>, no lowercasing), then the detokenized rest."""
        if not forced:
            return self._detokenize(ids)
        whole, head = self._detokenize(ids), self._detokenize(ids[:forced])
        rest = whole[len(head):] if whole.startswith(head) else " " + self._detokenize(ids[forced:])
        return " ".join((prefix + rest).split())

    def _detokenize(self, ids: list[int]) -> str:
        text = self.tgt_tokenizer.detokenize(self.tgt_vocab.decode(ids))
        return " ".join(text.split())  # never a newline inside an output line
