"""The torch side of the searches (s2s.decoding.search): selecting rows of a recurrent state, output length limits,
the tokens a search may output next (no specials, no repeated n-grams, a forced prefix), and TorchOps, the array
operations a search asks of torch."""

from __future__ import annotations

import torch

from s2s.specials import BOS, PAD


def select_state(state, index: torch.Tensor):
    """Rows `index` of a recurrent state: a tensor (layers, batch, hidden), or a tuple of states (LSTM's (h, c),
    an ensemble's members)."""
    if isinstance(state, tuple):
        return tuple(select_state(s, index) for s in state)
    return state.index_select(1, index)


def select_rows(encoding, index: torch.Tensor):
    """Rows `index` of encoder states (batch, src_len, hidden), or of a tuple of them (an ensemble's members)."""
    if isinstance(encoding, tuple):
        return tuple(select_rows(e, index) for e in encoding)
    return encoding.index_select(0, index)


def block_repeated_ngrams(log_probs: torch.Tensor, history: torch.Tensor, n: int) -> torch.Tensor:
    """Log-probs (rows, vocab) with -inf for every token that would repeat an n-gram already in the row's output.

    history (rows, steps) holds the output tokens so far. A token t is blocked when the last n-1 tokens followed
    by t occur earlier in the row: the n-gram windows whose first n-1 tokens equal the current suffix name t.
    """
    if n < 1 or history.size(1) < n:
        return log_probs
    windows = history.unfold(1, n, 1)  # (rows, steps - n + 1, n)
    suffix = history[:, history.size(1) - (n - 1):]  # (rows, n - 1)
    matches = (windows[:, :, : n - 1] == suffix[:, None]).all(-1)  # (rows, windows)
    rows, positions = matches.nonzero(as_tuple=True)
    log_probs[rows, windows[rows, positions, n - 1]] = float("-inf")
    return log_probs


def max_output_lengths(src_lengths: torch.Tensor, max_len_ratio: float, prefix: torch.Tensor | None = None) -> torch.Tensor:
    """At most ratio * source length + 10 output tokens, <eos> included, but room for a forced prefix (prefix_tokens'
    rows) and one token more."""
    limits = (src_lengths.float() * max_len_ratio).long() + 10
    if prefix is not None:
        limits = torch.maximum(limits, (prefix >= 0).sum(1).to(limits.device) + 1)
    return limits


def prefix_tokens(prefixes: list[list[int]], device: torch.device | str = "cpu") -> torch.Tensor | None:
    """(batch, longest prefix) target ids every output must start with, padded with -1; None when all are empty."""
    longest = max(map(len, prefixes), default=0)
    if not longest:
        return None
    return torch.tensor([ids + [-1] * (longest - len(ids)) for ids in prefixes], dtype=torch.long, device=device)


def allowed_log_probs(log_probs: torch.Tensor, history: torch.Tensor, no_repeat_ngram: int = 0,
                      prefix: torch.Tensor | None = None) -> torch.Tensor:
    """Log-probs (rows, vocab) with -inf (in place) for what a search may not output next: <pad> and <bos>, a token
    that repeats an n-gram of no_repeat_ngram tokens of the row's history (rows, steps), and in a row still inside
    its prefix (rows, prefix_len; -1 pads) every token but the prefix's next one, which keeps the model's log-prob."""
    step = history.size(1)
    forced_rows = forced = None
    if prefix is not None and step < prefix.size(1):
        forced_rows = (prefix[:, step] >= 0).nonzero().squeeze(1)
        forced = prefix[forced_rows, step]
        kept = log_probs[forced_rows, forced]  # before any blocking: a prefix is output whatever it repeats
    log_probs = forbid_specials(log_probs)
    if no_repeat_ngram:
        log_probs = block_repeated_ngrams(log_probs, history, no_repeat_ngram)
    if forced is not None:
        log_probs[forced_rows] = float("-inf")
        log_probs[forced_rows, forced] = kept
    return log_probs


def forbid_specials(log_probs: torch.Tensor) -> torch.Tensor:
    """Log-probs with <pad> and <bos> made impossible as outputs (the scores of other tokens are unchanged)."""
    log_probs[:, PAD] = float("-inf")
    log_probs[:, BOS] = float("-inf")
    return log_probs


class TorchOps:
    """The ArrayOps of s2s.decoding.search on torch tensors: every array the search makes lives on `device`."""

    int64, float32 = torch.long, torch.float32

    def __init__(self, device: torch.device | str):
        self.device = device

    def full(self, shape: tuple, value, dtype: torch.dtype) -> torch.Tensor:
        return torch.full(shape, value, dtype=dtype, device=self.device)

    def arange(self, n: int) -> torch.Tensor:
        return torch.arange(n, device=self.device)

    def asarray(self, values) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.long, device=self.device)

    def topk(self, values: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        return values.topk(k, dim=1)

    def gather(self, values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        return values.gather(1, index)

    def cat(self, arrays: list[torch.Tensor], axis: int) -> torch.Tensor:
        return torch.cat(arrays, dim=axis)

    def nonzero(self, mask: torch.Tensor) -> torch.Tensor:
        return mask.nonzero()

    def argmax(self, log_probs: torch.Tensor) -> torch.Tensor:
        return log_probs.argmax(-1)

    def as_float32(self, values: torch.Tensor) -> torch.Tensor:
        return values.float()

    def host(self, values: torch.Tensor) -> torch.Tensor:
        return values.cpu()

    # the module's functions, whose signatures are already the ones ArrayOps names
    select_state = staticmethod(select_state)
    select_rows = staticmethod(select_rows)
    max_output_lengths = staticmethod(max_output_lengths)
    allowed_log_probs = staticmethod(allowed_log_probs)
