"""A GRU layer for CPU training whose backward pass does the weight gradients in one large matmul.

torch's CPU GRU records every time step as separate autograd ops, so its backward pass runs two small matmuls a
step: dh_{t-1} = dg_t W_hh, which the recurrence needs before the next step, and dW_hh += dg_tᵀ h_{t-1}, which it
does not. Here the backward loop runs only the first; the gate gradients of all steps are kept, and
dW_hh = Σ_t dg_tᵀ h_{t-1} (like dW_ih and dx) is one matmul over batch × time rows, as cuDNN does. The equations are
torch's (gates r, z, n in that order in the weights):

    r = σ(W_ir x + b_ir + W_hr h + b_hr)        z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h  = n + z ⊙ (h − n)

Several independent directions run in one call, stacked on a leading axis: each step's recurrent matmul is one
batched matmul for all of them, which spreads the directions of a bidirectional encoder over the cores (their
matmuls, (batch × hidden/2) by (hidden/2 × 3 hidden/2), are too small to split well within one).

Forward results equal torch.gru's to float rounding; gradients too, summed in another order (tested). Used where
the numbers feed a backward pass on CPU in fp32 (training); translation and CUDA (cuDNN) keep torch's kernels.
"""

from __future__ import annotations

import torch


class StackedGRU(torch.autograd.Function):
    """D independent single-layer GRUs over time-major input: x (D, T, B, I), h0 (D, B, H), w_ih (D, 3H, I),
    w_hh (D, 3H, H), b_ih and b_hh (D, 3H). Returns every state (D, T, B, H) and the last (D, B, H)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        directions, steps, batch, inputs = x.shape
        hidden = w_hh.size(-1)
        gi = torch.baddbmm(b_ih.unsqueeze(1), x.reshape(directions, steps * batch, inputs), w_ih.transpose(1, 2))
        gi = gi.view(directions, steps, batch, 3 * hidden)  # input projections of all steps at once
        states = x.new_empty(directions, steps, batch, hidden)
        saved = x.new_empty(directions, steps, batch, 4 * hidden)  # r, z, n, W_hn h + b_hn: what backward needs
        w_hh_t, b_hh = w_hh.transpose(1, 2), b_hh.unsqueeze(1)
        h = h0
        for t in range(steps):
            gh = torch.baddbmm(b_hh, h, w_hh_t)  # (D, B, 3H)
            step = saved[:, t]
            rz = torch.sigmoid(gh[..., : 2 * hidden].add_(gi[:, t, :, : 2 * hidden]), out=step[..., : 2 * hidden])
            r, z, hn = rz[..., :hidden], rz[..., hidden:], gh[..., 2 * hidden :]
            n = torch.tanh(torch.addcmul(gi[:, t, :, 2 * hidden :], r, hn), out=step[..., 2 * hidden : 3 * hidden])
            step[..., 3 * hidden :] = hn
            h = torch.addcmul(n, z, h - n, out=states[:, t])  # n + z (h - n): torch's order of operations
        ctx.save_for_backward(x, h0, w_ih, w_hh, states, saved)
        return states, h

    @staticmethod
    def backward(ctx, d_states, d_last):
        x, h0, w_ih, w_hh, states, saved = ctx.saved_tensors
        directions, steps, batch, inputs = x.shape
        hidden = w_hh.size(-1)
        d_gh = x.new_empty(directions, steps, batch, 3 * hidden)  # d(W_h h + b_h), the recurrent matmul's output
        d_pre_n = x.new_empty(directions, steps, batch, hidden)  # d(n's pre-activation); d(W_i x + b_i) is d_gh with it for n
        h_prev = torch.cat([h0.unsqueeze(1), states[:, :-1]], dim=1)  # (D, T, B, H): the state each step read
        dh = d_last if d_last is not None else h0.new_zeros(h0.shape)
        for t in reversed(range(steps)):
            if d_states is not None:
                dh = dh + d_states[:, t]
            step, out = saved[:, t], d_gh[:, t]
            r, z, n, hn = step[..., :hidden], step[..., hidden : 2 * hidden], step[..., 2 * hidden : 3 * hidden], step[..., 3 * hidden :]
            pre_n = torch.mul(dh * (1 - z), 1 - n * n, out=d_pre_n[:, t])
            torch.mul(pre_n, hn * r * (1 - r), out=out[..., :hidden])  # d r_pre = d n_pre hn r (1 - r)
            torch.mul(dh * (h_prev[:, t] - n), z * (1 - z), out=out[..., hidden : 2 * hidden])
            torch.mul(pre_n, r, out=out[..., 2 * hidden :])
            dh = torch.baddbmm(dh * z, out, w_hh)  # dh_{t-1} = dh z + d_gh W_hh: the one matmul a step
        rows = steps * batch
        d_gh = d_gh.view(directions, rows, 3 * hidden)
        d_gi = torch.cat([d_gh[..., : 2 * hidden], d_pre_n.view(directions, rows, hidden)], dim=-1)
        d_x = torch.bmm(d_gi, w_ih).view(directions, steps, batch, inputs) if ctx.needs_input_grad[0] else None
        d_w_ih = torch.bmm(d_gi.transpose(1, 2), x.reshape(directions, rows, inputs))
        d_w_hh = torch.bmm(d_gh.transpose(1, 2), h_prev.view(directions, rows, hidden))
        return d_x, dh, d_w_ih, d_w_hh, d_gi.sum(1), d_gh.sum(1)


def fused_gru_applies(rnn: torch.nn.Module, x: torch.Tensor) -> bool:
    """Whether `rnn` (an nn.GRU) runs through StackedGRU for input x: CPU, fp32 without autocast, gradients on, with
    biases. Elsewhere torch's kernels are as fast (no backward pass) or faster (cuDNN)."""
    return (isinstance(rnn, torch.nn.GRU) and rnn.bias and x.device.type == "cpu" and x.dtype == torch.float32
            and torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu"))


def gru_directions(inputs: list[torch.Tensor], h0: torch.Tensor, weights: list[list[torch.Tensor]]):
    """Run one GRU layer per direction over batch-first inputs (batch, T, I) of the same shape, all in one StackedGRU
    call. h0: (D, B, H); weights: per direction [w_ih, w_hh, b_ih, b_hh]. Returns per direction its states
    (batch, T, H) and the last states (D, B, H)."""
    x = torch.stack([x.transpose(0, 1) for x in inputs])  # (D, T, B, I), contiguous
    stacked = [torch.stack(tensors) for tensors in zip(*weights)]
    states, last = StackedGRU.apply(x, h0, *stacked)
    return list(states.transpose(1, 2).unbind(0)), last
