"""Batched beam search: all sentences' beams in one (batch * beam) tensor, n-best, length normalisation.

A finished hypothesis y (ending in <eos>) is ranked by  score(y) = log p(y | x) / |y| ** length_penalty,
where |y| counts the output tokens including <eos>; length_penalty = 0 ranks by raw log-probability.
A sentence stops when no live hypothesis can still score above the worst of its `nbest` best finished ones
(s2s.decoding.nbest: a live hypothesis of log p s can reach at most s for length_penalty 0, s / limit ** length_penalty
above 0), or when it reaches its length limit (max_len_ratio * source length + 10); then it leaves the batch, so
finished sentences stop costing. With a prefix, each beam outputs the prefix's tokens first (the only candidates while
inside it; their log-probs count in the score).

Pruning to `beam` hypotheses a step can drop the greedy output, so the search first decodes the batch greedily (same
encoder states, same prefix and n-gram guard) and counts that output among each sentence's finished hypotheses: the
best hypothesis returned never scores below greedy's. That costs one greedy search, 1/beam of the rows of a beam step
for as many steps as greedy takes: on the shipped models (beam 5, length_penalty 1.2, test2016) 0.19 of the decoder
rows of the search that stopped at `beam` finished hypotheses, and the exact stop another 0.29 to 0.33
(docs/decoding.md).
"""

from __future__ import annotations

import torch

from s2s.decoding.common import allowed_log_probs, max_output_lengths, select_rows, select_state
from s2s.decoding.greedy import greedy_search
from s2s.decoding.nbest import add_finished, cannot_improve, ranked
from s2s.decoding.translation import Hypothesis
from s2s.specials import BOS, EOS


@torch.no_grad()
def beam_search(model, src: torch.Tensor, src_lengths: torch.Tensor, beam: int = 5, nbest: int = 1,
                length_penalty: float = 1.0, max_len_ratio: float = 2.0, return_attention: bool = False,
                no_repeat_ngram: int = 0, prefix: torch.Tensor | None = None) -> list[list[Hypothesis]]:
    """Return for each sentence its `nbest` best hypotheses, best first; no_repeat_ngram > 0 forbids any hypothesis
    that repeats an n-gram of that many tokens; prefix (batch, prefix_len), padded with -1: the tokens each
    hypothesis starts with."""
    batch, device = src.size(0), src.device
    encoded = model.encode(src, src_lengths)
    limits = max_output_lengths(src_lengths, max_len_ratio, prefix).tolist()
    finished: list[list[Hypothesis]] = [[] for _ in range(batch)]  # per sentence, its nbest best so far, best first
    greedy = greedy_search(model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram, prefix,
                           encoded=encoded)
    for kept, (tokens, log_prob, attention), limit in zip(finished, greedy, limits):
        # greedy's output ends with <eos> unless it was cut at the limit
        add_finished(kept, ranked(tokens, log_prob, min(len(tokens) + 1, limit), length_penalty, attention), nbest)

    enc_states, state, src_mask = encoded
    # every sentence's encoding repeated beam times: row b * beam + k is beam k of sentence b
    expand = torch.arange(batch, device=device).repeat_interleave(beam)
    enc_states, src_mask, state = select_rows(enc_states, expand), src_mask[expand], select_state(state, expand)
    prefix = None if prefix is None else prefix[expand]

    sentences = list(range(batch))  # sentence id of each active group of `beam` rows
    scores = torch.full((batch, beam), float("-inf"), device=device)
    scores[:, 0] = 0.0  # only the first beam is live at the start, so it is not expanded beam times
    prev = torch.full((batch * beam,), BOS, dtype=torch.long, device=device)
    history = torch.empty(batch * beam, 0, dtype=torch.long, device=device)  # (rows, step)
    attn_history = torch.empty(batch * beam, 0, src.size(1), device=device) if return_attention else None

    step = 0
    while sentences:
        log_probs, state, weights = model.decode_step(prev, state, enc_states, src_mask)
        log_probs = allowed_log_probs(log_probs, history, no_repeat_ngram, prefix)
        vocab = log_probs.size(-1)
        groups = len(sentences)
        candidates = (scores[:, :, None] + log_probs.view(groups, beam, vocab)).view(groups, beam * vocab)
        top_scores, top_ids = candidates.topk(2 * beam, dim=1)  # (groups, 2 * beam), best first
        top_beams, top_tokens = top_ids // vocab, top_ids % vocab
        step += 1
        if attn_history is not None and weights is not None:
            attn_history = torch.cat([attn_history, weights.float()[:, None]], dim=1)

        is_eos = top_tokens == EOS
        # live beams: the best `beam` candidates that do not end the sentence
        rank = torch.arange(2 * beam, device=device).expand(groups, -1) + is_eos.long() * 2 * beam
        live = rank.topk(beam, dim=1, largest=False).indices  # (groups, beam) positions into the 2*beam candidates
        new_scores = top_scores.gather(1, live)
        source_rows = (top_beams.gather(1, live) + torch.arange(groups, device=device)[:, None] * beam).view(-1)
        new_tokens = top_tokens.gather(1, live).view(-1)

        # finished candidates: <eos> among the first `beam` candidates of a group
        eos_positions = (is_eos[:, :beam] & (top_scores[:, :beam] > float("-inf"))).nonzero().tolist()
        top_scores_cpu, top_beams_cpu = top_scores.tolist(), top_beams.tolist()
        for group, position in eos_positions:
            sentence = sentences[group]
            row = group * beam + top_beams_cpu[group][position]
            ended = _hypothesis(history[row].tolist(), top_scores_cpu[group][position], step, length_penalty,
                                attn_history, row, src_lengths[sentence])
            add_finished(finished[sentence], ended, nbest)
        keep_groups = []
        new_scores_cpu = new_scores.tolist()  # (groups, beam), best first
        for group, sentence in enumerate(sentences):
            if step >= limits[sentence]:  # out of room: the live beams end here, without <eos>
                for k in range(beam):
                    if new_scores_cpu[group][k] > float("-inf"):
                        row = int(source_rows[group * beam + k])
                        tokens = history[row].tolist() + [int(new_tokens[group * beam + k])]
                        cut = _hypothesis(tokens, new_scores_cpu[group][k], step, length_penalty, attn_history,
                                          row, src_lengths[sentence])
                        add_finished(finished[sentence], cut, nbest)
            elif not cannot_improve(finished[sentence], nbest, new_scores_cpu[group][0], step, limits[sentence],
                                    length_penalty):
                keep_groups.append(group)

        state = select_state(state, source_rows)
        history = torch.cat([history[source_rows], new_tokens[:, None]], dim=1)
        if attn_history is not None:
            attn_history = attn_history[source_rows]
        prev, scores = new_tokens, new_scores
        if len(keep_groups) < groups:  # drop finished sentences from every tensor
            keep = torch.tensor(keep_groups, dtype=torch.long, device=device)
            rows = (keep[:, None] * beam + torch.arange(beam, device=device)).view(-1)
            state, history, prev = select_state(state, rows), history[rows], prev[rows]
            prefix = None if prefix is None else prefix[rows]
            enc_states, src_mask, scores = select_rows(enc_states, rows), src_mask[rows], scores[keep]
            if attn_history is not None:
                attn_history = attn_history[rows]
            sentences = [sentences[g] for g in keep_groups]

    return finished


def _hypothesis(tokens: list[int], log_prob: float, length: int, length_penalty: float, attn_history, row: int,
                src_length) -> Hypothesis:
    attention = None
    if attn_history is not None and attn_history.size(1):
        attention = attn_history[row, :length, : int(src_length)].cpu()
    return ranked(tokens, log_prob, length, length_penalty, attention)
