"""The numpy side of the searches (s2s.decoding.search, written once for both engines): NumpyOps, the array
operations a search asks of numpy, and greedy_search / beam_search over numpy step models, so that a model decodes
to the same tokens and scores as with torch, without torch.

The searches drive a step model:
    encode(src (batch, src_len) int64, src_lengths (batch,) int64) -> (enc_states, states, src_mask (batch, src_len))
    decode_step(prev_tokens (rows,) int64, states, enc_states, src_mask)
        -> (log_probs (rows, vocab) float32, new states, attention weights (rows, src_len) or None)
states is a dict of arrays with the batch on axis 1 ({"h"}, {"h", "c"} for an LSTM, plus "fed" with input feeding),
or a tuple of such dicts (an ensemble's members); enc_states is an array with the batch on axis 0, a tuple of them,
or None (a decoder without attention takes none). The searches pick rows of both with select_state / select_rows.

Scores accumulate in float32 as torch's do, and ties between equal candidates go to the lower index, as in torch's
topk. The numpy searches take no forced prefix.
"""

from __future__ import annotations

import numpy as np

from s2s.decoding import search
from s2s.decoding.translation import Hypothesis
from s2s.specials import BOS, PAD

NEG_INF = np.float32(-np.inf)


def pad(sequences: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """(src (batch, longest) int64 padded with <pad>, src_lengths (batch,) int64) of a batch of id lists."""
    src_lengths = np.array([len(ids) for ids in sequences], np.int64)
    src = np.full((len(sequences), int(src_lengths.max())), PAD, np.int64)
    for row, ids in enumerate(sequences):
        src[row, : len(ids)] = ids
    return src, src_lengths


def select_state(state, rows: np.ndarray):
    """Rows `rows` of a recurrent state: a dict of (layers, batch, hidden) arrays, or a tuple of such states."""
    if isinstance(state, tuple):
        return tuple(select_state(s, rows) for s in state)
    return {name: value[:, rows] for name, value in state.items()}


def select_rows(encoding, rows: np.ndarray):
    """Rows `rows` of encoder states (batch, src_len, hidden), of a tuple of them, or None."""
    if encoding is None:
        return None
    if isinstance(encoding, tuple):
        return tuple(select_rows(e, rows) for e in encoding)
    return encoding[rows]


def max_output_lengths(src_lengths: np.ndarray, max_len_ratio: float) -> np.ndarray:
    """At most ratio * source length + 10 output tokens, <eos> included (the product in float32, as torch has it)."""
    return (np.asarray(src_lengths, np.float32) * np.float32(max_len_ratio)).astype(np.int64) + 10


def forbid_specials(log_probs: np.ndarray) -> np.ndarray:
    """Log-probs with <pad> and <bos> made impossible as outputs (in place)."""
    log_probs[:, PAD] = NEG_INF
    log_probs[:, BOS] = NEG_INF
    return log_probs


def block_repeated_ngrams(log_probs: np.ndarray, history: np.ndarray, n: int) -> np.ndarray:
    """Log-probs (rows, vocab) with -inf (in place) for every token that would repeat an n-gram of the row's output
    history (rows, steps): the windows whose first n-1 tokens equal the last n-1 outputs name the blocked tokens."""
    if n < 1 or history.shape[1] < n:
        return log_probs
    windows = np.lib.stride_tricks.sliding_window_view(history, n, axis=1)  # (rows, steps - n + 1, n)
    suffix = history[:, history.shape[1] - (n - 1):]  # (rows, n - 1)
    matches = (windows[:, :, : n - 1] == suffix[:, None]).all(-1)  # (rows, windows)
    rows, positions = np.nonzero(matches)
    log_probs[rows, windows[rows, positions, n - 1]] = NEG_INF
    return log_probs


def top_candidates(candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, column ids) of the k largest entries of each row of candidates (rows, columns), best first."""
    chosen = np.argpartition(-candidates, k - 1, axis=1)[:, :k]  # (rows, k), unordered
    values = np.take_along_axis(candidates, chosen, 1)
    order = np.lexsort((chosen, -values), axis=-1)  # by value, high to low, then by column
    return np.take_along_axis(values, order, 1), np.take_along_axis(chosen, order, 1)


class NumpyOps:
    """The ArrayOps of s2s.decoding.search on numpy arrays."""

    int64, float32 = np.int64, np.float32

    def full(self, shape: tuple, value, dtype) -> np.ndarray:
        return np.full(shape, value, dtype)

    def arange(self, n: int) -> np.ndarray:
        return np.arange(n, dtype=np.int64)

    def asarray(self, values) -> np.ndarray:
        return np.asarray(values, np.int64)

    def topk(self, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return top_candidates(values, k)

    def gather(self, values: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.take_along_axis(values, index, 1)

    def cat(self, arrays: list[np.ndarray], axis: int) -> np.ndarray:
        return np.concatenate(arrays, axis)

    def nonzero(self, mask: np.ndarray) -> np.ndarray:
        return np.argwhere(mask)

    def argmax(self, log_probs: np.ndarray) -> np.ndarray:
        return log_probs.argmax(-1).astype(np.int64)  # the first of equal maxima, as torch's argmax

    def as_float32(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, np.float32)

    def host(self, values: np.ndarray) -> np.ndarray:
        return values.copy()

    # the module's functions, whose signatures are already the ones ArrayOps names
    select_state = staticmethod(select_state)
    select_rows = staticmethod(select_rows)

    def max_output_lengths(self, src_lengths: np.ndarray, max_len_ratio: float, prefix: None) -> np.ndarray:
        return max_output_lengths(src_lengths, max_len_ratio)

    def allowed_log_probs(self, log_probs: np.ndarray, history: np.ndarray, no_repeat_ngram: int,
                          prefix: None) -> np.ndarray:
        log_probs = forbid_specials(log_probs)
        return block_repeated_ngrams(log_probs, history, no_repeat_ngram) if no_repeat_ngram else log_probs


NUMPY = NumpyOps()


def greedy_search(model, src: np.ndarray, src_lengths: np.ndarray, max_len_ratio: float = 2.0,
                  return_attention: bool = False, no_repeat_ngram: int = 0, encoded=None) -> list[tuple]:
    """Return, per sentence, (token ids without <eos>, summed log-prob including <eos>, attention (out_len, src_len)
    or None). no_repeat_ngram > 0 never picks a token that would repeat an n-gram of that many tokens. encoded:
    model.encode(src, src_lengths) when the caller has it."""
    return search.greedy_search(NUMPY, model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram,
                                encoded=encoded)


def beam_search(model, src: np.ndarray, src_lengths: np.ndarray, beam: int = 5, nbest: int = 1,
                length_penalty: float = 1.0, max_len_ratio: float = 2.0, return_attention: bool = False,
                no_repeat_ngram: int = 0) -> list[list[Hypothesis]]:
    """Return for each sentence its `nbest` best hypotheses, best first (s2s.decoding.search explains the search, the
    greedy seed included)."""
    return search.beam_search(NUMPY, model, src, src_lengths, beam, nbest, length_penalty, max_len_ratio,
                              return_attention, no_repeat_ngram)
