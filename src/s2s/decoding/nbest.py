"""The n-best finished hypotheses of one sentence in beam search, and the test that stops the sentence: in plain
Python (no torch, no numpy), as is the beam search of both engines that uses them (s2s.decoding.search).

A hypothesis is ranked by score = log p / length ** length_penalty. Log-probs only fall as a hypothesis grows, so a
live hypothesis of log p s after `step` tokens ends, if ever, with a log p s' <= s and a length L in
[step + 1, limit]. s / L ** length_penalty is monotonic in L, so its largest value, at one end of that range, bounds
every score the hypothesis can still reach: s itself for length_penalty 0, s / limit ** length_penalty for
length_penalty > 0 (s <= 0 rises as it is divided by a longer length). The bound is exact (a sentence never stops
while a live hypothesis could still enter its n-best) but loose for length_penalty > 0: a sentence then decodes until
its live hypotheses' log-probs fall below limit ** length_penalty times the n-th best score, which can take longer
than stopping at `beam` finished hypotheses did.
"""

from __future__ import annotations

from s2s.decoding.translation import Hypothesis


def ranked(tokens: list[int], log_prob: float, length: int, length_penalty: float, attention=None) -> Hypothesis:
    """A finished hypothesis of `length` output tokens (<eos> included when it ended with one) and its score."""
    return Hypothesis(tokens, log_prob, log_prob / length ** length_penalty, attention)


def add_finished(kept: list[Hypothesis], hypothesis: Hypothesis, nbest: int) -> None:
    """Insert `hypothesis` into `kept` (best first, at most nbest; on equal scores the earlier stays first), unless it
    holds the tokens of a kept one (beam search may find the greedy hypothesis it was seeded with again)."""
    if any(h.tokens == hypothesis.tokens for h in kept):
        return
    position = next((i for i, h in enumerate(kept) if hypothesis.score > h.score), len(kept))
    kept.insert(position, hypothesis)
    del kept[nbest:]


def cannot_improve(kept: list[Hypothesis], nbest: int, best_live: float, step: int, limit: int,
                   length_penalty: float) -> bool:
    """True when `kept` holds nbest hypotheses and no live hypothesis (the best of log p best_live after `step` output
    tokens, ending by `limit` tokens) can score above the worst of them: the module docstring's bound."""
    if len(kept) < nbest:
        return False
    bound = max(best_live / (step + 1) ** length_penalty, best_live / limit ** length_penalty)
    return bound <= kept[-1].score
