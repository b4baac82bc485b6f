"""Sampling from a language model: a checkpoint's model, tokenizer and vocabulary behind `generate(prompt)`.

Each next token is drawn from softmax(logits / temperature), restricted to the top_k most likely tokens when top_k > 0;
temperature 0 (or below 1e-10, s2s.decoding.limits) takes the most likely token (greedy). A seed makes the draws
repeat exactly.
"""

from __future__ import annotations

import math
import numbers
import sys

import torch

from s2s.data.readers import check_path, check_text
from s2s.data.tokenizers import tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.decoding.limits import GREEDY_TEMPERATURE, MIB, budget_words, memory_budget, model_width, row_bytes
from s2s.decoding.translator import load_model
from s2s.device import resolve_device
from s2s.errors import S2SError
from s2s.registry import MODELS
from s2s.specials import BOS, EOS, PAD, control_tokens


def next_tokens(logits: torch.Tensor, temperature: float, top_k: int, generator: torch.Generator | None,
                never: list[int] = ()) -> torch.Tensor:
    """(rows,) tokens drawn from logits (rows, vocab); <pad>, <bos> and the ids `never` are never drawn."""
    logits = logits.float().clone()
    logits[:, [PAD, BOS, *never]] = float("-inf")
    if temperature < GREEDY_TEMPERATURE:  # 0, or so small that only the most likely token is left (s2s.decoding.limits)
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k:
        kth = logits.topk(min(top_k, logits.size(-1)), dim=-1).values[:, -1:]  # (rows, 1): the k-th largest logit
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]


@torch.no_grad()
def sample(model, prompt: list[int], n: int, max_tokens: int, temperature: float = 1.0, top_k: int = 0,
           generator: torch.Generator | None = None, device: torch.device | str = "cpu",
           never: list[int] = ()) -> list[list[int]]:
    """n continuations of <bos> + prompt, each up to its <eos> (not included) or max_tokens tokens; the ids `never`
    (e.g. s2s.specials.control_tokens) are never drawn."""
    model.eval()
    tokens = torch.tensor([[BOS] + prompt] * n, dtype=torch.long, device=device)  # (n, 1 + prompt)
    logits, state = model(tokens)
    logits = logits[:, -1]  # (n, vocab)
    out = torch.full((n, max_tokens), PAD, dtype=torch.long, device=device)
    finished = torch.zeros(n, dtype=torch.bool, device=device)
    for step in range(max_tokens):
        chosen = next_tokens(logits, temperature, top_k, generator, never)
        out[:, step] = chosen.masked_fill(finished, PAD)
        finished |= chosen == EOS
        if finished.all():
            break
        logits, state = model(chosen[:, None], state)
        logits = logits[:, 0]
    return [row[: row.index(EOS)] if EOS in row else row for row in out.tolist()]  # no <pad> before an <eos>


class TextGenerator:
    """A language model checkpoint ready to sample from and to score text with."""

    def __init__(self, model, tokenizer, vocab: Vocab, config, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer, self.vocab, self.config = tokenizer, vocab, config

    @classmethod
    def from_checkpoint(cls, path, device: str = "auto") -> "TextGenerator":
        check_path(path, "TextGenerator.from_checkpoint: path", "a language model's checkpoint file or run folder")
        model, payload, config = load_model(path)
        name = config.model.resolved_name
        if MODELS.task(name) != "language_model":
            raise S2SError(f"checkpoint '{path}' holds a translation model ({name}); generate and perplexity need a "
                           f"language model (rnn_lm, lstm_lm, gru_lm). Use s2s translate / evaluate --src --ref for it.")
        return cls(model, tokenizer_from_state(payload["tgt_tokenizer"]), Vocab(payload["tgt_vocab"]), config,
                   resolve_device(device))

    def encode(self, line: str) -> list[int]:
        return self.vocab.encode(self.tokenizer.tokenize(check_text(line, "TextGenerator.encode: line")))

    def _check_memory(self, n: int, max_tokens: int, prompt_tokens: int) -> None:
        """S2SError naming -n and the largest n that fits, before sampling, when n samples of max_tokens tokens after
        the prompt would take more than a decoding batch may (s2s.decoding.limits): each sample holds the prompt's
        logits and states, its tokens and the step's log-probs and their copies."""
        vocab, hidden = len(self.vocab), model_width(self.model)
        row = row_bytes(vocab, hidden, 0, max_tokens, False) + 4 * (prompt_tokens + 1) * (vocab + hidden)
        budget = memory_budget(self.device)
        if n * row > budget:
            largest = (f"the largest n that fits is {budget // row} (-n)" if budget >= row else
                       "not even one sample fits: lower --max-tokens or shorten the prompt")
            raise S2SError(f"n {n} samples of up to {max_tokens:,} tokens after a {prompt_tokens}-token prompt need "
                           f"about {n * row / MIB:,.0f} MiB with this model (a {vocab:,}-token vocabulary), more than "
                           f"{budget_words(budget)}; {largest}.")

    def generate(self, prompt: str = "", n: int = 1, max_tokens: int = 50, temperature: float = 1.0, top_k: int = 0,
                 seed: int | None = None) -> list[str]:
        """n texts: the prompt and its sampled continuation, detokenized. The prompt is one str (check_text)."""
        check_text(prompt, "TextGenerator.generate: prompt")
        for name, value, integer in (("temperature", temperature, False), ("top_k", top_k, True), ("n", n, True),
                                     ("max_tokens", max_tokens, True), ("seed", 0 if seed is None else seed, True)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real):
                raise S2SError(f"TextGenerator.generate: {name} must be {'an integer' if integer else 'a number'}"
                               f"{' or None' if name == 'seed' else ''}, got {value!r}.")
        if not math.isfinite(temperature) or temperature < 0 or top_k < 0 or n < 1 or max_tokens < 1:
            raise S2SError(f"generation needs a finite temperature >= 0, top_k >= 0, n >= 1 and max_tokens >= 1 (got "
                           f"temperature={temperature}, top_k={top_k}, n={n}, max_tokens={max_tokens}).")
        generator = None
        if seed is not None:
            generator = torch.Generator(device=self.device).manual_seed(seed)
        tokens = self.tokenizer.tokenize(prompt)
        unknown = list(dict.fromkeys(token for token in tokens if token not in self.vocab.index))
        if unknown:
            print(f"warning: the prompt's {', '.join(map(repr, unknown))} {'is' if len(unknown) == 1 else 'are'} not in "
                  f"the model's vocabulary and become{'s' if len(unknown) == 1 else ''} <unk>.", file=sys.stderr)
        prompt_ids = self.vocab.encode(tokens)
        self._check_memory(n, max_tokens, len(prompt_ids))
        continuations = sample(self.model, prompt_ids, n, max_tokens, temperature, top_k, generator, self.device,
                               control_tokens(self.vocab.tokens))  # no NUL, newline, ... in generated text
        texts = [self.tokenizer.detokenize(self.vocab.decode(prompt_ids + ids)) for ids in continuations]
        return [" ".join(text.split()) for text in texts]
