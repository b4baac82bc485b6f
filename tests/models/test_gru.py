"""s2s.models.gru: the GRU layer whose backward does the weight gradients in one matmul, against torch's GRU."""

import pytest
import torch
from torch.autograd import gradcheck

import s2s.models.decoder as decoder_module
import s2s.models.encoder as encoder_module
from s2s.config import ModelConfig
from s2s.models import build_model
from s2s.models.gru import fused_gru_applies, gru_directions


def layer_weights(gru: torch.nn.GRU, suffix: str = "") -> list[torch.Tensor]:
    return [getattr(gru, f"{name}_l0{suffix}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


@pytest.mark.parametrize("directions", [1, 2])
def test_states_equal_torch_gru_and_gradients_pass_gradcheck(directions):
    torch.manual_seed(0)
    grus = [torch.nn.GRU(6, 4, batch_first=True).double() for _ in range(directions)]
    xs = [torch.randn(3, 5, 6, dtype=torch.double, requires_grad=True) for _ in range(directions)]
    h0 = torch.randn(directions, 3, 4, dtype=torch.double, requires_grad=True)
    states, last = gru_directions(xs, h0, [layer_weights(gru) for gru in grus])
    for d, (gru, x) in enumerate(zip(grus, xs)):
        expected, expected_last = gru(x, h0[d : d + 1])
        assert states[d].shape == (3, 5, 4) and last.shape == (directions, 3, 4)
        torch.testing.assert_close(states[d], expected, rtol=0, atol=1e-12)
        torch.testing.assert_close(last[d], expected_last[0], rtol=0, atol=1e-12)

    def run(*tensors):
        weights = tensors[directions + 1 :]
        out, final = gru_directions(list(tensors[:directions]), tensors[directions],
                                    [list(weights[4 * d : 4 * d + 4]) for d in range(directions)])
        return (*out, final)

    assert gradcheck(run, (*xs, h0, *[w for gru in grus for w in layer_weights(gru)]))


def seq2seq_batch():
    torch.manual_seed(5)
    src = torch.randint(4, 40, (6, 9))
    src_lengths = torch.tensor([9, 7, 9, 3, 1, 5])
    for row, length in enumerate(src_lengths):
        src[row, length:] = 0  # PAD
    tgt = torch.randint(4, 30, (6, 8))
    return src, src_lengths, tgt[:, :-1], tgt[:, 1:]


@pytest.mark.parametrize("layers,bidirectional", [(1, True), (2, True), (1, False)])
def test_model_loss_and_gradients_equal_torchs_route(monkeypatch, layers, bidirectional):
    """The whole gru_attn model, padding and all: the same loss and gradients as with torch's GRU kernels."""
    cfg = ModelConfig(cell="gru", attention="dot", emb_size=16, hidden_size=16, layers=layers,
                      bidirectional=bidirectional, dropout=0.0)
    torch.manual_seed(2)
    model = build_model(cfg, 40, 30).train()
    src, src_lengths, tgt_in, tgt_out = seq2seq_batch()
    calls = []

    def counted(*args):
        calls.append(len(args[0]))  # directions in the call
        return gru_directions(*args)

    monkeypatch.setattr(encoder_module, "gru_directions", counted)
    monkeypatch.setattr(decoder_module, "gru_directions", counted)
    results = []
    for fused in (True, False):
        if not fused:
            monkeypatch.setattr(encoder_module, "fused_gru_applies", lambda rnn, x: False)
            monkeypatch.setattr(decoder_module, "fused_gru_applies", lambda rnn, x: False)
        model.zero_grad()
        loss = model(src, src_lengths, tgt_in, tgt_out=tgt_out)
        loss.backward()
        results.append((loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters()}))
    directions = 2 if bidirectional else 1
    # the fused route ran: each encoder layer's directions in one call; a one-layer decoder too (deeper ones keep
    # nn.GRU, whose dropout between layers is torch's)
    assert calls == [directions] * layers + ([1] if layers == 1 else [])
    (loss, grads), (expected_loss, expected_grads) = results
    torch.testing.assert_close(loss, expected_loss, rtol=1e-6, atol=1e-6)
    assert grads.keys() == expected_grads.keys()
    for name in grads:
        torch.testing.assert_close(grads[name], expected_grads[name], rtol=1e-5, atol=1e-6, msg=name)
    # the source's padding gets no gradient on either route: the embedding row of PAD stays zero
    assert grads["encoder.embed.weight"][0].abs().max() == 0


def test_applies_only_to_fp32_cpu_training():
    gru, lstm = torch.nn.GRU(4, 4), torch.nn.LSTM(4, 4)
    x = torch.zeros(2, 3, 4)
    assert fused_gru_applies(gru, x)
    assert not fused_gru_applies(lstm, x)
    assert not fused_gru_applies(torch.nn.GRU(4, 4, bias=False), x)
    assert not fused_gru_applies(gru, x.double())
    with torch.no_grad():  # translation keeps torch's kernels
        assert not fused_gru_applies(gru, x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not fused_gru_applies(gru, x)
