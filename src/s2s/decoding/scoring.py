"""Forced decoding: the log-probability a model (or an ensemble) gives to given translations. It steps through the
same decode_step that search uses, so the tokens search chose score here as search scored them (a translation's text
is scored in its tokenizer's segmentation, which search need not have chosen)."""

from __future__ import annotations

import sys

import torch

from s2s.data.batching import pad
from s2s.device import autocast
from s2s.errors import S2SError
from s2s.specials import BOS, EOS, PAD, UNK


@torch.no_grad()
def target_log_probs(model, src: torch.Tensor, src_lengths: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """log p(y_t | y_<t, source) of every token of tgt_out (batch, tgt_len), which holds y_1 .. y_n <eos> padded;
    returns (batch, tgt_len) with 0 at padding. An ensemble's step log-probs are its members' mean, as in search."""
    enc_states, state, src_mask = model.encode(src, src_lengths)
    prev = torch.full((src.size(0),), BOS, dtype=torch.long, device=src.device)
    columns = []
    for t in range(tgt_out.size(1)):
        log_probs, state, _ = model.decode_step(prev, state, enc_states, src_mask)  # (batch, vocab)
        prev = tgt_out[:, t]  # teacher forcing: the given token is the next input (<pad> after <eos>: masked)
        columns.append(log_probs.gather(1, prev[:, None]).squeeze(1))  # (batch,)
    return torch.stack(columns, dim=1).masked_fill(tgt_out == PAD, 0.0)  # (batch, tgt_len)


def score_lines(translator, src_lines: list[str], tgt_lines: list[str], batch_size: int) -> list[dict]:
    """Per pair, in input order: {"log_prob": log p(target tokens and </s> | source), "mean": log_prob / tokens,
    "tokens": the target's tokens + 1 for </s>}, under a torch Translator's model (an ensemble too). Pairs are
    batched by length. An empty target scores </s> alone; an empty source is an error (there is nothing to
    translate from). Sources longer than the translator's max_input_tokens are cut, with a warning, as translate does."""
    if len(src_lines) != len(tgt_lines):
        raise S2SError(f"{len(src_lines)} source lines but {len(tgt_lines)} target lines; give one target per source.")
    src_ids, tgt_ids = [], []
    for number, (src_tokens, tgt_tokens) in enumerate(zip(translator.src_tokenizer.tokenize_lines(src_lines),
                                                          translator.tgt_tokenizer.tokenize_lines(tgt_lines)), start=1):
        if not src_tokens:
            raise S2SError(f"source line {number} is empty, so its translation has nothing to be scored against; "
                           f"remove the pair or give it a source sentence.")
        if len(src_tokens) > translator.max_input_tokens:
            print(f"warning: source line {number} has {len(src_tokens)} tokens; scoring with only the first "
                  f"{translator.max_input_tokens}.", file=sys.stderr)
        src_ids.append(translator.src_vocab.encode(src_tokens[: translator.max_input_tokens]))
        tgt_ids.append(translator.tgt_vocab.encode(tgt_tokens) + [EOS])
    unknown = [number for number, ids in enumerate(tgt_ids, start=1) if UNK in ids]
    if unknown:
        print(f"warning: {len(unknown)} target lines (first: line {unknown[0]}) hold tokens outside the model's "
              f"vocabulary; those are scored as <unk>.", file=sys.stderr)
    order = sorted(range(len(src_ids)), key=lambda i: (len(src_ids[i]), len(tgt_ids[i])))
    sums = [0.0] * len(src_ids)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        src = pad([src_ids[i] for i in chunk]).to(translator.device)
        src_lengths = torch.tensor([len(src_ids[i]) for i in chunk])
        tgt_out = pad([tgt_ids[i] for i in chunk]).to(translator.device)
        with autocast(translator.device, translator.amp):
            log_probs = target_log_probs(translator.model, src, src_lengths, tgt_out)
        for i, total in zip(chunk, log_probs.double().sum(1).tolist()):
            sums[i] = total
    return [{"log_prob": total, "mean": total / len(ids), "tokens": len(ids)} for total, ids in zip(sums, tgt_ids)]
