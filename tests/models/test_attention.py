import math

import torch

from s2s.models.attention import DotAttention


def test_dot_attention_matches_hand_computed_example():
    attention = DotAttention(hidden_size=2)
    with torch.no_grad():
        attention.combine.weight.copy_(torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]))
        attention.combine.bias.zero_()
    enc = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])  # third position is padding
    dec = torch.tensor([[[2.0, 0.0]]])
    mask = torch.tensor([[True, True, False]])
    attn_hidden, weights = attention(dec, enc, mask)
    # scores s·h = [2, 0, (10 masked)] -> softmax [e^2, 1] / (e^2 + 1)
    p = math.exp(2) / (math.exp(2) + 1)
    assert torch.allclose(weights, torch.tensor([[[p, 1 - p, 0.0]]]), atol=1e-6)
    # context = p*h1 + (1-p)*h2 = [p, 1-p]; W_c picks context[0] and dec[1] -> tanh([p, 0])
    assert torch.allclose(attn_hidden, torch.tensor([[[math.tanh(p), 0.0]]]), atol=1e-6)


def test_padding_positions_get_zero_weight_whatever_their_values():
    torch.manual_seed(0)
    attention = DotAttention(hidden_size=4)
    enc = torch.randn(1, 5, 4)
    dec = torch.randn(1, 3, 4)
    mask = torch.tensor([[True, True, True, False, False]])
    out1, w1 = attention(dec, enc, mask)
    enc2 = enc.clone()
    enc2[:, 3:] = 100.0
    out2, w2 = attention(dec, enc2, mask)
    assert torch.equal(w1, w2)
    assert torch.equal(out1, out2)
    assert torch.all(w1[..., 3:] == 0)
