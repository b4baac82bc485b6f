"""Greedy and batched beam search, written once for both engines: the bookkeeping here in plain Python (no torch, no
numpy), the array work through the engine's ArrayOps (TorchOps in s2s.decoding.common for tensors, on any device;
NumpyOps in s2s.runtime.search for the torch-free runtime). Indexing, slicing, arithmetic, comparisons, reshape,
.shape, .tolist() and .max() read the same on a tensor and on an array, so the code below uses them directly.

Greedy takes the most likely allowed token at every step (or the token `choose` picks: sampling), and a sentence
leaves the batch when it outputs <eos> or reaches its length limit, so finished sentences stop costing.

Beam search keeps all sentences' beams in one (batch * beam) array and returns each sentence's n-best, best first. A
finished hypothesis y (ending in <eos>) is ranked by  score(y) = log p(y | x) / |y| ** length_penalty, where |y|
counts the output tokens including <eos>; length_penalty = 0 ranks by raw log-probability. A sentence stops when no
live hypothesis can still score above the worst of its `nbest` best finished ones (s2s.decoding.nbest: a live
hypothesis of log p s can reach at most s for length_penalty 0, s / limit ** length_penalty above 0), or when it
reaches its length limit (max_len_ratio * source length + 10); then it leaves the batch, so finished sentences stop
costing. With a prefix (torch only), each beam outputs the prefix's tokens first (the only candidates while inside
it; their log-probs count in the score).

Pruning to `beam` hypotheses a step can drop the greedy output, so the search first decodes the batch greedily (same
encoder states, same prefix and n-gram guard) and counts that output among each sentence's finished hypotheses: the
best hypothesis returned never scores below greedy's. That costs one greedy search, 1/beam of the rows of a beam step
for as many steps as greedy takes: on the shipped models (beam 5, length_penalty 1.2, test2016) 0.19 of the decoder
rows of the search that stopped at `beam` finished hypotheses, and the exact stop another 0.29 to 0.33
(docs/decoding.md).

The searches drive a step model: encode(src, src_lengths) -> (enc_states, states, src_mask) and
decode_step(prev_tokens, states, enc_states, src_mask) -> (log_probs (rows, vocab), new states, attention weights
(rows, src_len) or None); states and enc_states are whatever the engine's select_state / select_rows pick rows of.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol

from s2s.decoding.nbest import add_finished, cannot_improve, ranked
from s2s.decoding.translation import Hypothesis
from s2s.specials import BOS, EOS, PAD


class ArrayOps(Protocol):
    """What the searches need of an engine beyond the syntax tensors and arrays share. Integer arrays are int64;
    axis-1 operations act on (rows, columns) arrays."""

    int64: Any  # the engine's dtypes
    float32: Any

    def full(self, shape: tuple, value, dtype):
        """A new array of `shape` filled with value."""

    def arange(self, n: int):
        """0, 1, ..., n - 1 (int64)."""

    def asarray(self, values):
        """A list of ints, or an int64 array of the engine, as an int64 array where the search runs."""

    def topk(self, values, k: int):
        """(values, column ids) of the k largest entries of each row, best first; equal values in column order."""

    def gather(self, values, index):
        """values[r, index[r, j]] for every r, j (take_along_axis on axis 1)."""

    def cat(self, arrays: list, axis: int):
        """The arrays joined along axis."""

    def nonzero(self, mask):
        """(count, mask.ndim) int64 indices of the true entries, in row-major order."""

    def argmax(self, log_probs):
        """(rows,) int64 column of each row's largest entry (the first of equal ones)."""

    def as_float32(self, values):
        """values as float32."""

    def host(self, values):
        """values (a slice of a search's array) as a result: on the CPU, and not a view the search could change."""

    def select_state(self, state, rows):
        """Rows `rows` of a decoder state."""

    def select_rows(self, enc_states, rows):
        """Rows `rows` of encoder states."""

    def max_output_lengths(self, src_lengths, max_len_ratio: float, prefix):
        """(batch,) int64 limits: at most ratio * source length + 10 output tokens, <eos> included, with room for a
        forced prefix and one token more."""

    def allowed_log_probs(self, log_probs, history, no_repeat_ngram: int, prefix):
        """log_probs (rows, vocab) with -inf (in place) for what may not come next: <pad>, <bos>, a repeated n-gram
        of no_repeat_ngram tokens of history (rows, steps), any token but the prefix's next while inside it."""


def greedy_search(ops: ArrayOps, model, src, src_lengths, max_len_ratio: float = 2.0, return_attention: bool = False,
                  no_repeat_ngram: int = 0, prefix=None, choose: Callable | None = None, encoded=None) -> list[tuple]:
    """Return, per sentence, (token ids without <eos>, summed log-prob including <eos>, attention (out_len, src_len)
    or None). no_repeat_ngram > 0 never picks a token that would repeat an n-gram of that many tokens. prefix (batch,
    prefix_len), padded with -1: the tokens each output starts with (their log-probs count in the score). choose(
    log_probs, rows, step) -> tokens picks the tokens of the sentences `rows` (default: the most likely). encoded:
    model.encode(src, src_lengths) when the caller has it (beam search, which seeds itself with the greedy output)."""
    enc_states, state, src_mask = model.encode(src, src_lengths) if encoded is None else encoded
    batch = src.shape[0]
    limits = ops.asarray(ops.max_output_lengths(src_lengths, max_len_ratio, prefix))
    out = ops.full((batch, int(limits.max())), PAD, ops.int64)
    scores = ops.full((batch,), 0.0, ops.float32)
    attention = ops.full((batch, out.shape[1], src.shape[1]), 0.0, ops.float32) if return_attention else None
    active = ops.arange(batch)  # sentence index of each row still decoding
    prev = ops.full((batch,), BOS, ops.int64)
    step = 0
    while active.shape[0]:
        log_probs, state, weights = model.decode_step(prev, state, enc_states, src_mask)
        log_probs = ops.allowed_log_probs(log_probs, out[active, :step], no_repeat_ngram,
                                          None if prefix is None else prefix[active])
        prev = ops.argmax(log_probs) if choose is None else choose(log_probs, active, step)  # (active,)
        out[active, step] = prev
        scores[active] += ops.gather(log_probs, prev[:, None])[:, 0]
        if attention is not None:
            if weights is None:  # a model without attention: return None, as beam search does, not zeros
                attention = None
            else:
                attention[active, step] = ops.as_float32(weights)
        step += 1
        done = (prev == EOS) | (step >= limits[active])
        if done.any():
            keep = ops.nonzero(~done)[:, 0]
            active, prev = active[keep], prev[keep]
            state = ops.select_state(state, keep)
            enc_states, src_mask = ops.select_rows(enc_states, keep), src_mask[keep]
    results = []
    for i, row in enumerate(out.tolist()):
        length = row.index(EOS) + 1 if EOS in row else sum(1 for t in row if t != PAD)
        tokens = [t for t in row[:length] if t != EOS]
        attn = ops.host(attention[i, :length, : int(src_lengths[i])]) if attention is not None else None
        results.append((tokens, float(scores[i]), attn))
    return results


def beam_search(ops: ArrayOps, model, src, src_lengths, beam: int = 5, nbest: int = 1, length_penalty: float = 1.0,
                max_len_ratio: float = 2.0, return_attention: bool = False, no_repeat_ngram: int = 0,
                prefix=None) -> list[list[Hypothesis]]:
    """Return for each sentence its `nbest` best hypotheses, best first; no_repeat_ngram > 0 forbids any hypothesis
    that repeats an n-gram of that many tokens; prefix (batch, prefix_len), padded with -1: the tokens each
    hypothesis starts with."""
    batch = src.shape[0]
    encoded = model.encode(src, src_lengths)
    limits = ops.max_output_lengths(src_lengths, max_len_ratio, prefix).tolist()
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]  # per sentence, its nbest best so far, best first
    greedy = greedy_search(ops, model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram, prefix,
                           encoded=encoded)
    for kept, (tokens, log_prob, attention), limit in zip(finished, greedy, limits):
        # greedy's output ends with <eos> unless it was cut at the limit
        add_finished(kept, ranked(tokens, log_prob, min(len(tokens) + 1, limit), length_penalty, attention), nbest)

    enc_states, state, src_mask = encoded
    # every sentence's encoding repeated beam times: row b * beam + k is beam k of sentence b
    expand = ops.arange(batch * beam) // beam
    enc_states, src_mask, state = ops.select_rows(enc_states, expand), src_mask[expand], ops.select_state(state, expand)
    prefix = None if prefix is None else prefix[expand]

    sentences = list(range(batch))  # sentence id of each active group of `beam` rows
    scores = ops.full((batch, beam), float("-inf"), ops.float32)
    scores[:, 0] = 0.0  # only the first beam is live at the start, so it is not expanded beam times
    prev = ops.full((batch * beam,), BOS, ops.int64)
    history = ops.full((batch * beam, 0), PAD, ops.int64)  # (rows, step)
    attn_history = ops.full((batch * beam, 0, src.shape[1]), 0.0, ops.float32) if return_attention else None

    step = 0
    while sentences:
        log_probs, state, weights = model.decode_step(prev, state, enc_states, src_mask)
        log_probs = ops.allowed_log_probs(log_probs, history, no_repeat_ngram, prefix)
        vocab = log_probs.shape[-1]
        groups = len(sentences)
        candidates = (scores[:, :, None] + log_probs.reshape(groups, beam, vocab)).reshape(groups, beam * vocab)
        top_scores, top_ids = ops.topk(candidates, 2 * beam)  # (groups, 2 * beam), best first
        top_beams, top_tokens = top_ids // vocab, top_ids % vocab
        step += 1
        if attn_history is not None and weights is not None:
            attn_history = ops.cat([attn_history, ops.as_float32(weights)[:, None]], 1)

        is_eos = top_tokens == EOS
        # live beams: the best `beam` candidates that do not end the sentence (every <eos> ranks after them)
        rank = ops.arange(2 * beam) + is_eos * (2 * beam)  # (groups, 2 * beam), all different
        live = ops.topk(-rank, beam)[1]  # (groups, beam) positions into the 2*beam candidates, lowest rank first
        new_scores = ops.gather(top_scores, live)
        source_rows = (ops.gather(top_beams, live) + ops.arange(groups)[:, None] * beam).reshape(-1)
        new_tokens = ops.gather(top_tokens, live).reshape(-1)

        # finished candidates: <eos> among the first `beam` candidates of a group
        eos_positions = ops.nonzero(is_eos[:, :beam] & (top_scores[:, :beam] > float("-inf"))).tolist()
        top_scores_list, top_beams_list = top_scores.tolist(), top_beams.tolist()
        for group, position in eos_positions:
            sentence = sentences[group]
            row = group * beam + top_beams_list[group][position]
            ended = _hypothesis(ops, history[row].tolist(), top_scores_list[group][position], step, length_penalty,
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
                        cut = _hypothesis(ops, tokens, new_scores_list[group][k], step, length_penalty, attn_history,
                                          row, src_lengths[sentence])
                        add_finished(finished[sentence], cut, nbest)
            elif not cannot_improve(finished[sentence], nbest, new_scores_list[group][0], step, limits[sentence],
                                    length_penalty):
                keep_groups.append(group)

        state = ops.select_state(state, source_rows)
        history = ops.cat([history[source_rows], new_tokens[:, None]], 1)
        if attn_history is not None:
            attn_history = attn_history[source_rows]
        prev, scores = new_tokens, new_scores
        if len(keep_groups) < groups:  # drop finished sentences from every array
            keep = ops.asarray(keep_groups)
            rows = (keep[:, None] * beam + ops.arange(beam)).reshape(-1)
            state, history, prev = ops.select_state(state, rows), history[rows], prev[rows]
            prefix = None if prefix is None else prefix[rows]
            enc_states, src_mask, scores = ops.select_rows(enc_states, rows), src_mask[rows], scores[keep]
            if attn_history is not None:
                attn_history = attn_history[rows]
            sentences = [sentences[g] for g in keep_groups]

    return finished


def _hypothesis(ops: ArrayOps, tokens: list[int], log_prob: float, length: int, length_penalty: float, attn_history,
                row: int, src_length) -> Hypothesis:
    attention = None
    if attn_history is not None and attn_history.shape[1]:
        attention = ops.host(attn_history[row, :length, : int(src_length)])
    return ranked(tokens, log_prob, length, length_penalty, attention)
