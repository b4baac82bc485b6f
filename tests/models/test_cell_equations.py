"""The cells, checked against their textbook equations: a reference written from the equations
reproduces torch's nn.RNN / nn.LSTM / nn.GRU (the modules the zoo uses) on random weights."""

import torch
from torch import nn

torch.manual_seed(0)
BATCH, STEPS, INPUT, HIDDEN = 3, 7, 5, 4


def run(cell, x, h):
    outputs = []
    for t in range(x.size(1)):
        h = cell(x[:, t], h)
        outputs.append(h[0] if isinstance(h, tuple) else h)
    return torch.stack(outputs, dim=1)


def test_vanilla_rnn_equation():
    rnn = nn.RNN(INPUT, HIDDEN, batch_first=True)
    W_xh, W_hh, b = rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0
    x, h0 = torch.randn(BATCH, STEPS, INPUT), torch.randn(1, BATCH, HIDDEN)
    # h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)
    reference = run(lambda x_t, h: torch.tanh(h @ W_hh.T + x_t @ W_xh.T + b), x, h0[0])
    assert torch.allclose(rnn(x, h0)[0], reference, atol=1e-6)


def test_lstm_equations():
    lstm = nn.LSTM(INPUT, HIDDEN, batch_first=True)
    W_i, W_f, W_g, W_o = lstm.weight_ih_l0.chunk(4)  # torch's gate order: input, forget, cell (g), output
    U_i, U_f, U_g, U_o = lstm.weight_hh_l0.chunk(4)
    b_i, b_f, b_g, b_o = (lstm.bias_ih_l0 + lstm.bias_hh_l0).chunk(4)

    def cell(x_t, state):
        h, c = state
        i = torch.sigmoid(x_t @ W_i.T + h @ U_i.T + b_i)  # input gate
        f = torch.sigmoid(x_t @ W_f.T + h @ U_f.T + b_f)  # forget gate
        g = torch.tanh(x_t @ W_g.T + h @ U_g.T + b_g)  # candidate
        o = torch.sigmoid(x_t @ W_o.T + h @ U_o.T + b_o)  # output gate
        c = f * c + i * g  # C_t = f_t ⊙ C_{t-1} + i_t ⊙ g_t
        return o * torch.tanh(c), c  # h_t = o_t ⊙ tanh(C_t)

    x, h0, c0 = torch.randn(BATCH, STEPS, INPUT), torch.randn(1, BATCH, HIDDEN), torch.randn(1, BATCH, HIDDEN)
    reference = run(cell, x, (h0[0], c0[0]))
    assert torch.allclose(lstm(x, (h0, c0))[0], reference, atol=1e-6)


def test_gru_equations():
    gru = nn.GRU(INPUT, HIDDEN, batch_first=True)
    W_r, W_z, W_n = gru.weight_ih_l0.chunk(3)  # torch's gate order: reset, update, new
    U_r, U_z, U_n = gru.weight_hh_l0.chunk(3)
    bi_r, bi_z, bi_n = gru.bias_ih_l0.chunk(3)
    bh_r, bh_z, bh_n = gru.bias_hh_l0.chunk(3)

    def cell(x_t, h):
        r = torch.sigmoid(x_t @ W_r.T + bi_r + h @ U_r.T + bh_r)  # reset gate
        z = torch.sigmoid(x_t @ W_z.T + bi_z + h @ U_z.T + bh_z)  # update gate
        n = torch.tanh(x_t @ W_n.T + bi_n + r * (h @ U_n.T + bh_n))  # candidate; reset applied to U h
        return (1 - z) * n + z * h  # h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    x, h0 = torch.randn(BATCH, STEPS, INPUT), torch.randn(1, BATCH, HIDDEN)
    reference = run(cell, x, h0[0])
    assert torch.allclose(gru(x, h0)[0], reference, atol=1e-6)
