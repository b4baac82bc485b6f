"""Batched greedy decoding (and sampling, with another choice of token); finished sentences leave the batch so they
stop costing."""

from __future__ import annotations

import torch

from s2s.decoding.common import allowed_log_probs, max_output_lengths, select_rows, select_state
from s2s.specials import BOS, EOS, PAD


@torch.no_grad()
def greedy_search(model, src: torch.Tensor, src_lengths: torch.Tensor, max_len_ratio: float = 2.0, return_attention: bool = False,
                  no_repeat_ngram: int = 0, prefix: torch.Tensor | None = None, choose=None, encoded=None):
    """Return, per sentence, (token ids without <eos>, summed log-prob including <eos>, attention (out_len, src_len) or None).
    no_repeat_ngram > 0 never picks a token that would repeat an n-gram of that many tokens. prefix (batch, prefix_len),
    padded with -1: the tokens each output starts with (their log-probs count in the score). choose(log_probs, rows,
    step) -> tokens picks the tokens of the sentences `rows` (default: the most likely). encoded: model.encode(src,
    src_lengths) when the caller has it (beam search, which seeds itself with the greedy output)."""
    enc_states, state, src_mask = model.encode(src, src_lengths) if encoded is None else encoded
    batch, device = src.size(0), src.device
    limits = max_output_lengths(src_lengths, max_len_ratio, prefix).to(device)
    out = torch.full((batch, int(limits.max())), PAD, dtype=torch.long, device=device)
    scores = torch.zeros(batch, device=device)
    attention = torch.zeros(batch, out.size(1), src.size(1), device=device) if return_attention else None
    active = torch.arange(batch, device=device)  # sentence index of each row still decoding
    prev = torch.full((batch,), BOS, dtype=torch.long, device=device)
    step = 0
    while active.numel():
        log_probs, state, weights = model.decode_step(prev, state, enc_states, src_mask)
        log_probs = allowed_log_probs(log_probs, out[active, :step], no_repeat_ngram,
                                      None if prefix is None else prefix[active])
        prev = log_probs.argmax(-1) if choose is None else choose(log_probs, active, step)  # (active,)
        out[active, step] = prev
        scores[active] += log_probs.gather(1, prev[:, None])[:, 0]
        if attention is not None:
            if weights is None:  # a model without attention: return None, as beam search does, not zeros
                attention = None
            else:
                attention[active, step] = weights.float()
        step += 1
        done = (prev == EOS) | (step >= limits[active])
        if done.any():
            keep = (~done).nonzero().squeeze(1)
            active, prev = active[keep], prev[keep]
            state = select_state(state, keep)
            enc_states, src_mask = select_rows(enc_states, keep), src_mask[keep]
    results = []
    for i, row in enumerate(out.tolist()):
        length = row.index(EOS) + 1 if EOS in row else sum(1 for t in row if t != PAD)
        tokens = [t for t in row[:length] if t != EOS]
        attn = attention[i, :length, : int(src_lengths[i])].cpu() if attention is not None else None
        results.append((tokens, float(scores[i]), attn))
    return results
