"""A language model's perplexity of a text: PPL = exp(-(1/N) Σ_i log p(w_i | w_<i)) over the N predicted tokens.

Sentence by sentence each sentence is read from a zero state as <bos> w_1 .. w_n and w_1 .. w_n <eos> are predicted;
in stream mode (train.bptt > 0) the text is one stream and the state runs on from sentence to sentence. Both count the
same N tokens (every word and every sentence's <eos>), so their perplexities compare.
"""

from __future__ import annotations

import math

import torch

from s2s.data.batching import gather_text_batch, stream_window, stream_windows, text_stream, token_batches
from s2s.data.readers import read_lines
from s2s.data.token_ids import TokenIds
from s2s.device import autocast


@torch.no_grad()
def text_nll(model, ids: TokenIds, bptt: int = 0, batch_tokens: int = 4000, device: torch.device | str = "cpu",
             amp=None) -> tuple[float, int]:
    """(summed negative log-likelihood in nats, predicted tokens) of the sentences `ids` under the language model.
    bptt > 0: as one stream (a single row, so every token after the first <bos> is predicted once), in windows of
    bptt tokens with the state carried across them."""
    model.eval()
    device = torch.device(device)
    total, tokens = 0.0, 0
    if bptt:
        stream, state = text_stream(ids, rows=1), None
        batches = (stream_window(stream, start, bptt) for start in stream_windows(stream.shape[1], bptt))
    else:
        batches = (gather_text_batch(ids, indices) for indices in token_batches(ids.lengths, ids.lengths, batch_tokens))
    for batch in batches:
        batch = batch.to(device)
        with autocast(device, amp):
            loss, final = model(batch.tokens_in, state if bptt else None, targets=batch.tokens_out)
        if bptt:
            state = final
        total += float(loss)
        tokens += batch.num_tokens
    return total, tokens


def perplexity(nll: float, tokens: int) -> float:
    """exp(mean negative log-likelihood per token); overflows to inf rather than raising."""
    mean = nll / tokens
    return math.exp(mean) if mean < 700 else math.inf


def file_perplexity(generator, path) -> dict:
    """The perplexity of a text file under a language model (a decoding.generator.TextGenerator), in the mode it was
    trained in (sentence by sentence, or as a stream with train.bptt), with the numbers behind it."""
    lines = read_lines(path)
    ids = TokenIds.from_lists((generator.encode(line) for line in lines), len(generator.vocab))
    train = generator.config.train
    nll, tokens = text_nll(generator.model, ids, train.bptt, train.batch_tokens, generator.device)
    return {"text": str(path), "model": generator.config.model.resolved_name, "sentences": len(lines), "tokens": tokens,
            "nll_per_token": nll / tokens, "perplexity": perplexity(nll, tokens),
            "mode": f"one stream, windows of {train.bptt} tokens" if train.bptt else "sentence by sentence"}
