"""Greedy and batched beam search in numpy, step for step the torch searches of s2s.decoding (greedy.py, beam.py,
common.py), so that a model decodes to the same tokens and scores without torch.

The searches drive a step model:
    encode(src (batch, src_len) int64, src_lengths (batch,) int64) -> (enc_states, states, src_mask (batch, src_len))
    decode_step(prev_tokens (rows,) int64, states, enc_states, src_mask)
        -> (log_probs (rows, vocab) float32, new states, attention weights (rows, src_len) or None)
states is a dict of arrays with the batch on axis 1 ({"h"}, {"h", "c"} for an LSTM, plus "fed" with input feeding),
or a tuple of such dicts (an ensemble's members); enc_states is an array with the batch on axis 0, a tuple of them,
or None (a decoder without attention takes none). The searches pick rows of both with select_state / select_rows.

Scores accumulate in float32 as torch's do, and ties between equal candidates go to the lower index. Beam search
keeps its n-best and stops a sentence as torch's does (s2s.decoding.nbest, shared by both), after seeding each
sentence's n-best with the greedy output.
"""

from __future__ import annotations

import numpy as np

from s2s.decoding.nbest import add_finished, cannot_improve, ranked
from s2s.decoding.translation import Hypothesis
from s2s.specials import BOS, EOS, PAD

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


def greedy_search(model, src: np.ndarray, src_lengths: np.ndarray, max_len_ratio: float = 2.0,
                  return_attention: bool = False, no_repeat_ngram: int = 0, encoded=None) -> list[tuple]:
    """Return, per sentence, (token ids without <eos>, summed log-prob including <eos>, attention (out_len, src_len)
    or None). no_repeat_ngram > 0 never picks a token that would repeat an n-gram of that many tokens. encoded:
    model.encode(src, src_lengths) when the caller has it (beam search, which seeds itself with the greedy output)."""
    enc_states, state, src_mask = model.encode(src, src_lengths) if encoded is None else encoded
    batch = src.shape[0]
    limits = max_output_lengths(src_lengths, max_len_ratio)
    out = np.full((batch, int(limits.max())), PAD, np.int64)
    scores = np.zeros(batch, np.float32)
    attention = np.zeros((batch, out.shape[1], src.shape[1]), np.float32) if return_attention else None
    active = np.arange(batch)  # sentence index of each row still decoding
    prev = np.full(batch, BOS, np.int64)
    step = 0
    while active.size:
        log_probs, state, weights = model.decode_step(prev, state, enc_states, src_mask)
        log_probs = forbid_specials(log_probs)
        if no_repeat_ngram:
            log_probs = block_repeated_ngrams(log_probs, out[active, :step], no_repeat_ngram)
        prev = log_probs.argmax(-1).astype(np.int64)  # (active,): the first of equal maxima, as torch's max
        out[active, step] = prev
        scores[active] += log_probs[np.arange(prev.size), prev]
        if attention is not None:
            if weights is None:  # a model without attention: return None, as beam search does, not zeros
                attention = None
            else:
                attention[active, step] = weights
        step += 1
        done = (prev == EOS) | (step >= limits[active])
        if done.any():
            keep = np.nonzero(~done)[0]
            active, prev = active[keep], prev[keep]
            state = select_state(state, keep)
            enc_states, src_mask = select_rows(enc_states, keep), src_mask[keep]
    results = []
    for i, row in enumerate(out.tolist()):
        length = row.index(EOS) + 1 if EOS in row else sum(1 for t in row if t != PAD)
        tokens = [t for t in row[:length] if t != EOS]
        attn = attention[i, :length, : int(src_lengths[i])].copy() if attention is not None else None
        results.append((tokens, float(scores[i]), attn))
    return results


def beam_search(model, src: np.ndarray, src_lengths: np.ndarray, beam: int = 5, nbest: int = 1,
                length_penalty: float = 1.0, max_len_ratio: float = 2.0, return_attention: bool = False,
                no_repeat_ngram: int = 0) -> list[list[Hypothesis]]:
    """Return for each sentence its `nbest` best hypotheses, best first (s2s.decoding.beam explains the search, the
    greedy seed included)."""
    batch = src.shape[0]
    encoded = model.encode(src, src_lengths)
    limits = max_output_lengths(src_lengths, max_len_ratio).tolist()
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]  # per sentence, its nbest best so far, best first
    greedy = greedy_search(model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram, encoded)
    for kept, (tokens, log_prob, attention), limit in zip(finished, greedy, limits):
        # greedy's output ends with <eos> unless it was cut at the limit
        add_finished(kept, ranked(tokens, log_prob, min(len(tokens) + 1, limit), length_penalty, attention), nbest)

    enc_states, state, src_mask = encoded
    # every sentence's encoding repeated beam times: row b * beam + k is beam k of sentence b
    expand = np.repeat(np.arange(batch), beam)
    enc_states, src_mask, state = select_rows(enc_states, expand), src_mask[expand], select_state(state, expand)

    sentences = list(range(batch))  # sentence id of each active group of `beam` rows
    scores = np.full((batch, beam), NEG_INF, np.float32)
    scores[:, 0] = 0.0  # only the first beam is live at the start, so it is not expanded beam times
    prev = np.full(batch * beam, BOS, np.int64)
    history = np.empty((batch * beam, 0), np.int64)  # (rows, step)
    attn_history = np.empty((batch * beam, 0, src.shape[1]), np.float32) if return_attention else None

    step = 0
    while sentences:
        log_probs, state, weights = model.decode_step(prev, state, enc_states, src_mask)
        log_probs = forbid_specials(log_probs)
        if no_repeat_ngram:
            log_probs = block_repeated_ngrams(log_probs, history, no_repeat_ngram)
        vocab = log_probs.shape[-1]
        groups = len(sentences)
        candidates = (scores[:, :, None] + log_probs.reshape(groups, beam, vocab)).reshape(groups, beam * vocab)
        top_scores, top_ids = top_candidates(candidates, 2 * beam)  # (groups, 2 * beam), best first
        top_beams, top_tokens = top_ids // vocab, top_ids % vocab
        step += 1
        if attn_history is not None and weights is not None:
            attn_history = np.concatenate([attn_history, weights.astype(np.float32)[:, None]], axis=1)

        is_eos = top_tokens == EOS
        # live beams: the best `beam` candidates that do not end the sentence
        rank = np.arange(2 * beam) + is_eos * 2 * beam
        live = np.argsort(rank, axis=1, kind="stable")[:, :beam]  # (groups, beam) positions into the 2*beam candidates
        new_scores = np.take_along_axis(top_scores, live, 1)
        source_rows = (np.take_along_axis(top_beams, live, 1) + np.arange(groups)[:, None] * beam).reshape(-1)
        new_tokens = np.take_along_axis(top_tokens, live, 1).reshape(-1)

        # finished candidates: <eos> among the first `beam` candidates of a group
        eos_positions = np.argwhere(is_eos[:, :beam] & (top_scores[:, :beam] > NEG_INF)).tolist()
        top_scores_list, top_beams_list = top_scores.tolist(), top_beams.tolist()
        for group, position in eos_positions:
            sentence = sentences[group]
            row = group * beam + top_beams_list[group][position]
            ended = _hypothesis(history[row].tolist(), top_scores_list[group][position], step, length_penalty,
                                attn_history, row, src_lengths[sentence])
            add_finished(finished[sentence], ended, nbest)
        keep_groups = []
        new_scores_list = new_scores.tolist()  # (groups, beam), best first
        for group, sentence in enumerate(sentences):
            if step >= limits[sentence]:  # out of room: the live beams end here, without <eos>
                for k in range(beam):
                    if new_scores_list[group][k] > float("-inf"):
                        row = int(source_rows[group * beam + k])
                        tokens = history[row].tolist() + [int(new_tokens[group * beam + k])]
                        cut = _hypothesis(tokens, new_scores_list[group][k], step, length_penalty, attn_history,
                                          row, src_lengths[sentence])
                        add_finished(finished[sentence], cut, nbest)
            elif not cannot_improve(finished[sentence], nbest, new_scores_list[group][0], step, limits[sentence],
                                    length_penalty):
                keep_groups.append(group)

        state = select_state(state, source_rows)
        history = np.concatenate([history[source_rows], new_tokens[:, None]], axis=1)
        if attn_history is not None:
            attn_history = attn_history[source_rows]
        prev, scores = new_tokens, new_scores
        if len(keep_groups) < groups:  # drop finished sentences from every array
            keep = np.array(keep_groups, dtype=np.int64)
            rows = (keep[:, None] * beam + np.arange(beam)).reshape(-1)
            state, history, prev = select_state(state, rows), history[rows], prev[rows]
            enc_states, src_mask, scores = select_rows(enc_states, rows), src_mask[rows], scores[keep]
            if attn_history is not None:
                attn_history = attn_history[rows]
            sentences = [sentences[g] for g in keep_groups]

    return finished


def _hypothesis(tokens: list[int], log_prob: float, length: int, length_penalty: float, attn_history, row: int,
                src_length) -> Hypothesis:
    attention = None
    if attn_history is not None and attn_history.shape[1]:
        attention = attn_history[row, :length, : int(src_length)].copy()
    return ranked(tokens, log_prob, length, length_penalty, attention)
