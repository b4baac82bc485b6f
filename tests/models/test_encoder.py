import pytest
import torch

from s2s.data.batching import pad
from s2s.models.encoder import Encoder, gather_time, reversal_index


def test_reversal_index_reverses_within_length_and_keeps_pads():
    index = reversal_index(torch.tensor([3, 1, 4]), 4)
    assert index.tolist() == [[2, 1, 0, 3], [0, 1, 2, 3], [3, 2, 1, 0]]
    x = torch.arange(12.0).view(3, 4, 1)
    assert torch.equal(gather_time(gather_time(x, index), index), x)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
def test_unpacked_cpu_route_equals_packed_route(cell, bidirectional, layers):
    """The CPU fast route (unpacked, reversed within length) matches torch's packed RNN: states, final state, grads."""
    torch.manual_seed(0)
    encoder = Encoder(cell, vocab_size=40, emb_size=8, hidden_size=12, layers=layers, bidirectional=bidirectional, dropout=0.0)
    src = pad([[5, 6, 7, 8, 9, 10, 11], [12, 13, 14], [15], [16, 17, 18, 19, 20]])
    lengths = torch.tensor([7, 3, 1, 5])
    results = []
    for route in (encoder.run_unpacked, encoder.run_packed):
        encoder.zero_grad()
        enc_states, state = route(encoder.embed(src), lengths)
        state = torch.cat(state, dim=-1) if cell == "lstm" else state  # LSTM: (h, c) side by side
        (enc_states.square().sum() + (state * torch.linspace(-1, 1, state.size(-1))).sum()).backward()
        results.append((enc_states, state, encoder.rnn.weight_hh_l0.grad.clone()))
    (states_a, final_a, grad_a), (states_b, final_b, grad_b) = results
    assert states_a.shape == (4, 7, 12) and final_a.shape == final_b.shape
    torch.testing.assert_close(states_a, states_b, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(final_a, final_b, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(grad_a, grad_b, atol=1e-5, rtol=1e-4)
    assert states_a[2, 1:].abs().max() == 0  # pads are zero
