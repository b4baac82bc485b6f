"""The training loss of a batch: the model's fused output layer + loss, or cross-entropy of its logits."""

from __future__ import annotations

import torch
from torch import nn

from s2s.models.output import sequence_loss


def model_loss(model: nn.Module, call, batch, label_smoothing: float = 0.0, teacher_forcing: float = 1.0) -> torch.Tensor:
    """The summed training loss of a batch. call is what to run (model itself, or its DistributedDataParallel wrapper).

    Models that declare `computes_loss = True` (the zoo's Seq2Seq) take tgt_out and return the loss with the
    output layer fused into it; any other model returns logits, scored by sequence_loss. teacher_forcing < 1
    (scheduled sampling) is passed on to models that declare `scheduled_sampling = True`.
    """
    if getattr(model, "computes_loss", False):
        if teacher_forcing < 1.0:
            return call(batch.src, batch.src_lengths, batch.tgt_in, tgt_out=batch.tgt_out, label_smoothing=label_smoothing,
                        teacher_forcing=teacher_forcing)
        return call(batch.src, batch.src_lengths, batch.tgt_in, tgt_out=batch.tgt_out, label_smoothing=label_smoothing)
    return sequence_loss(call(batch.src, batch.src_lengths, batch.tgt_in), batch.tgt_out, label_smoothing)
