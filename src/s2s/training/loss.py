"""The training loss: summed (label-smoothed) cross-entropy over non-padding target tokens, with a fused gradient.

torch's cross_entropy builds its gradient in several full passes over the (tokens x vocabulary) logits
(zeros, scatter, the smoothing term, an add, the log-softmax backward). With an 8k vocabulary these passes
cost about a sixth of a CPU training step, so the gradient here is written out in one expression:
    dL/dx = softmax(x) - (1 - ε) onehot(y) - ε / V     (0 for padding rows)
with L = (1 - ε) (lse(x) - x_y) + ε (lse(x) - mean_j x_j), torch's definition of label smoothing.
"""

from __future__ import annotations

import torch

from s2s.data.vocab import PAD


class SmoothedCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: torch.Tensor, target: torch.Tensor, smoothing: float) -> torch.Tensor:
        """logits (tokens, vocab) in fp32, target (tokens,) with PAD rows ignored; returns the summed loss."""
        keep = target != PAD
        safe_target = target.masked_fill(~keep, 0)  # (tokens,)
        lse = torch.logsumexp(logits, dim=-1)  # (tokens,)
        loss = lse - logits.gather(1, safe_target[:, None]).squeeze(1)  # negative log-likelihood
        if smoothing:
            loss = (1 - smoothing) * loss + smoothing * (lse - logits.mean(dim=-1))
        ctx.save_for_backward(logits, lse, safe_target, keep)
        ctx.smoothing = smoothing
        return loss.masked_fill(~keep, 0.0).sum()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        logits, lse, safe_target, keep = ctx.saved_tensors
        smoothing = ctx.smoothing
        grad = (logits - lse[:, None]).exp_()  # softmax, (tokens, vocab)
        if smoothing:
            grad.sub_(smoothing / logits.size(1))
        rows = torch.arange(grad.size(0), device=grad.device)
        grad[rows, safe_target] -= 1 - smoothing
        grad.mul_((grad_output * keep).to(grad.dtype)[:, None])  # padding rows get 0
        return grad, None, None


def sequence_loss(logits: torch.Tensor, tgt_out: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Summed (label-smoothed) cross-entropy over non-padding target tokens; logits (batch, tgt_len, vocab)."""
    return SmoothedCrossEntropy.apply(logits.reshape(-1, logits.size(-1)).float(), tgt_out.reshape(-1), label_smoothing)
