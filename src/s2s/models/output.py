"""The output layer fused with its loss: summed (label-smoothed) cross-entropy over non-padding target tokens,
with hand-written gradients. It is part of what the model computes, so it lives with the models.

Two entry points:

* sequence_loss(logits, ...) for any model that returns logits;
* output_loss(hidden, weight, bias, ...) for models that hand over the output layer's input instead (the zoo
  does): the output projection and the loss run together in row chunks, so the (tokens x vocabulary) logits
  are never stored. With an 8k vocabulary and 4000-token batches they are 120 MB, and their gradient another
  120 MB; chunks of a few hundred rows stay in the CPU's last-level cache between the matmul, the softmax and
  the gradient matmuls, and the memory of a step drops by a quarter of a gigabyte.

torch's cross_entropy builds its gradient in several full passes over the (tokens x vocabulary) logits
(zeros, scatter, the smoothing term, an add, the log-softmax backward). With an 8k vocabulary these passes
cost about a sixth of a CPU training step, so the gradient here is written out in one expression:
    dL/dx = softmax(x) - (1 - ε) onehot(y) - ε / V     (0 for padding rows)
with L = (1 - ε) (lse(x) - x_y) + ε (lse(x) - mean_j x_j), torch's definition of label smoothing.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from s2s.specials import PAD


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


CHUNK_ROWS = 512  # rows of logits per chunk: 512 x 8000 fp32 = 16 MB, within a server CPU's last-level cache


class LinearCrossEntropy(torch.autograd.Function):
    """Summed (label-smoothed) cross-entropy of softmax(hidden @ weight.T + bias), computed chunk by chunk.

    The loss is the end of the graph, so its gradient with respect to the logits is known in the forward
    pass: each chunk's logits become softmax - targets in place and are pushed straight through the output
    layer (dhidden = g @ W, dW += gᵀ hidden, db += Σ g). Backward only scales those by the incoming gradient.
    """

    @staticmethod
    def forward(ctx, hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, target: torch.Tensor,
                smoothing: float, chunk_rows: int) -> torch.Tensor:
        """hidden (tokens, features), weight (vocab, features), bias (vocab,) or None, target (tokens,)."""
        need_grad = any(ctx.needs_input_grad[:3])
        with torch.autocast(hidden.device.type, enabled=False):
            # Under autocast the matmuls run in the hidden states' (low-precision) dtype, the softmax in fp32.
            w = weight.to(hidden.dtype)
            b = None if bias is None else bias.to(hidden.dtype)
            vocab = w.size(0)
            keep = target != PAD
            acc = torch.promote_types(hidden.dtype, torch.float32)  # softmax and loss: fp32 at least
            total = hidden.new_zeros((), dtype=acc)
            if need_grad:
                grad_hidden = hidden.new_empty(hidden.shape)
                grad_weight = torch.zeros_like(weight)
                grad_bias = None if bias is None else torch.zeros_like(bias)
            for start in range(0, hidden.size(0), chunk_rows):
                x = hidden[start:start + chunk_rows]
                t, k = target[start:start + chunk_rows], keep[start:start + chunk_rows]
                t_safe = t.masked_fill(~k, 0)
                columns = torch.arange(x.size(0), device=x.device)
                # Logits transposed, (vocab, rows): MKL computes W xᵀ 30 % faster than x Wᵀ for these shapes.
                z = (w @ x.t() if b is None else torch.addmm(b[:, None], w, x.t())).to(acc)
                z.sub_(z.amax(dim=0))  # shifted logits; log p = z - log Σ exp z
                loss = -z[t_safe, columns]
                if smoothing:
                    loss = (1 - smoothing) * loss - smoothing * z.mean(dim=0)
                probs = z.exp_()
                sum_exp = probs.sum(dim=0)
                loss += sum_exp.log()
                total += loss.masked_fill(~k, 0.0).sum()
                if not need_grad:
                    continue
                grad = probs.div_(sum_exp)  # softmax; becomes dL/dlogits (transposed) in place
                if smoothing:
                    grad.sub_(smoothing / vocab)
                grad[t_safe, columns] -= 1 - smoothing
                grad.mul_(k)  # padding columns: 0
                g = grad.to(w.dtype)
                torch.mm(g.t(), w, out=grad_hidden[start:start + chunk_rows])
                if g.dtype == grad_weight.dtype:  # addmm with out= rather than addmm_: FlopCounterMode counts it
                    torch.addmm(grad_weight, g, x, out=grad_weight)
                else:
                    grad_weight += (g @ x).to(grad_weight.dtype)
                if grad_bias is not None:
                    grad_bias += grad.sum(1).to(grad_bias.dtype)
        if need_grad:
            ctx.save_for_backward(grad_hidden, grad_weight, grad_bias)
        return total

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: torch.Tensor):
        grad_hidden, grad_weight, grad_bias = ctx.saved_tensors
        scale = grad_output.to(grad_weight.dtype)
        return (grad_hidden * scale.to(grad_hidden.dtype), grad_weight * scale,
                None if grad_bias is None else grad_bias * scale, None, None, None)


def output_loss(hidden: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, tgt_out: torch.Tensor,
                label_smoothing: float = 0.0, chunk_rows: int = CHUNK_ROWS) -> torch.Tensor:
    """sequence_loss(F.linear(hidden, weight, bias), tgt_out, label_smoothing) without storing the logits.

    hidden (batch, tgt_len, features) is the output layer's input, weight (vocab, features) and bias (vocab,) the
    output layer's (Decoder.output_weights(): without the padding rows); returns the summed loss over non-padding tokens.
    """
    return LinearCrossEntropy.apply(hidden.reshape(-1, hidden.size(-1)), weight, bias,
                                    tgt_out.reshape(-1), label_smoothing, chunk_rows)
