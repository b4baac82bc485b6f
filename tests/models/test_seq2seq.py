import pytest
import torch

from s2s.config import ModelConfig
from s2s.data.batching import pad
from s2s.models import INIT_FILLS, build_model, count_parameters, no_init
from s2s.models.encoder import merge_directions
from s2s.registry import MODELS
from s2s.specials import BOS, EOS, PAD

ZOO = ["rnn", "rnn_attn", "lstm", "lstm_attn", "gru", "gru_attn"]


def tiny(name, **options):
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, emb_size=16, hidden_size=32, dropout=0.0, **options)
    return build_model(cfg, 23, 19).eval()


def test_zoo_holds_exactly_the_six_models():
    assert MODELS.names()[:6] == ZOO


@pytest.mark.parametrize("name", ZOO)
def test_forward_shape(name):
    model = tiny(name)
    src = pad([[5, 6, 7], [8, 9]])
    logits = model(src, torch.tensor([3, 2]), torch.tensor([[BOS, 4, 5, 6], [BOS, 7, PAD, PAD]]))
    assert logits.shape == (2, 4, 19)


@pytest.mark.parametrize("name", ZOO)
def test_padding_does_not_change_results(name):
    """A sentence alone and the same sentence padded inside a batch give the same logits."""
    model = tiny(name)
    alone = model(torch.tensor([[5, 6, 7]]), torch.tensor([3]), torch.tensor([[BOS, 4, 5]]))
    src = pad([[9, 10, 11, 12, 13, 14], [5, 6, 7]])
    batched = model(src, torch.tensor([6, 3]), torch.tensor([[BOS, 8, 8], [BOS, 4, 5]]))
    assert torch.allclose(alone[0], batched[1], atol=1e-5)


@pytest.mark.parametrize("name", ZOO)
def test_whole_target_decoder_equals_step_by_step(name):
    """The fused decoder (one RNN call) computes what a tutorial-style step loop computes."""
    model = tiny(name)
    src, lengths = pad([[5, 6, 7, 8], [9, 10]]), torch.tensor([4, 2])
    tgt_in = torch.tensor([[BOS, 4, 5, 6, 7], [BOS, 8, 9, 10, 11]])
    fused = model(src, lengths, tgt_in)
    enc_states, state, mask = model.encode(src, lengths)
    steps = []
    for t in range(tgt_in.size(1)):
        logits, state, _ = model.decoder(tgt_in[:, t : t + 1], state, enc_states, mask)
        steps.append(logits)
    assert torch.allclose(fused, torch.cat(steps, dim=1), atol=1e-5)


def test_bidirectional_state_is_forward_then_backward_per_layer():
    layers, batch, half = 2, 3, 4
    state = torch.arange(layers * 2 * batch * half, dtype=torch.float).view(layers * 2, batch, half)
    merged = merge_directions(state, layers)
    assert merged.shape == (layers, batch, 2 * half)
    assert torch.equal(merged[1, 2], torch.cat([state[2, 2], state[3, 2]]))


def test_tied_embeddings_share_one_tensor():
    model = tiny("gru_attn", tie_embeddings=False)
    tied = build_model(ModelConfig(name="gru_attn", emb_size=32, hidden_size=32, tie_embeddings=True), 23, 19)
    assert tied.decoder.out.weight is tied.decoder.embed.weight
    assert count_parameters(tied) < count_parameters(build_model(ModelConfig(name="gru_attn", emb_size=32, hidden_size=32), 23, 19))
    assert model.decoder.out.weight is not model.decoder.embed.weight


def test_tied_output_layer_starts_at_the_untied_scale():
    # With nn.Embedding's N(0, 1) rows the tied layer's initial logits had std ~sqrt(512) ~ 23 and training
    # started from a near one-hot softmax (the first tied Multi30k run trailed the untied one by 0.4 in loss).
    torch.manual_seed(0)
    cfg = dict(name="gru_attn", emb_size=512, hidden_size=512)
    tied, untied = build_model(ModelConfig(**cfg, tie_embeddings=True), 50, 5000), build_model(ModelConfig(**cfg), 50, 5000)
    hidden = torch.tanh(torch.randn(64, 512))  # attentional states are tanh outputs
    tied_std, untied_std = tied.decoder.out(hidden).std().item(), untied.decoder.out(hidden).std().item()
    assert tied_std < 2 * untied_std
    assert tied_std < 1.0
    assert torch.count_nonzero(tied.decoder.embed.weight[PAD]) == 0


@pytest.mark.parametrize("name", ZOO)
def test_each_model_overfits_a_tiny_batch(name):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, emb_size=32, hidden_size=64, dropout=0.0), 20, 20)
    src = pad([[4, 5, 6, 7], [8, 9, 10], [11, 12, 13, 14, 15], [16, 17]])
    lengths = torch.tensor([4, 3, 5, 2])
    tgt = [[7, 6, 5, 4], [10, 9, 8], [15, 14, 13, 12, 11], [17, 16]]  # reverse the source
    tgt_in, tgt_out = pad([[BOS] + t for t in tgt]), pad([t + [EOS] for t in tgt])
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        logits = model(src, lengths, tgt_in)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 20), tgt_out.reshape(-1), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


@pytest.mark.parametrize("name,tie", [("gru_attn", False), ("lstm", False), ("rnn_attn", True)])
def test_training_loss_equals_logits_then_cross_entropy(name, tie):
    """forward(..., tgt_out=...) (output layer fused into the loss) gives the loss and gradients of the logits path."""
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, emb_size=32 if tie else 16, hidden_size=32, dropout=0.0, tie_embeddings=tie)
    model = build_model(cfg, 23, 19)
    src, lengths = pad([[5, 6, 7, 8], [9, 10]]), torch.tensor([4, 2])
    tgt_in, tgt_out = torch.tensor([[BOS, 4, 5, 6], [BOS, 7, PAD, PAD]]), torch.tensor([[4, 5, 6, EOS], [7, EOS, PAD, PAD]])
    fused = model(src, lengths, tgt_in, tgt_out=tgt_out, label_smoothing=0.1)
    fused_grads = torch.autograd.grad(fused, list(model.parameters()))
    logits = model(src, lengths, tgt_in)
    reference = torch.nn.functional.cross_entropy(logits.reshape(-1, 19), tgt_out.reshape(-1), ignore_index=PAD,
                                                  label_smoothing=0.1, reduction="sum")
    reference_grads = torch.autograd.grad(reference, list(model.parameters()))
    torch.testing.assert_close(fused, reference)
    for got, expected in zip(fused_grads, reference_grads):
        torch.testing.assert_close(got, expected)


def test_word_dropout_replaces_real_tokens_with_unk_at_the_rate_asked():
    from s2s.models.seq2seq import drop_words
    from s2s.specials import UNK

    torch.manual_seed(0)
    tokens = torch.tensor([[BOS] + [7] * 999 + [PAD] * 200] * 10)
    dropped = drop_words(tokens, 0.2)
    assert (dropped[:, 0] == BOS).all() and (dropped[:, 1000:] == PAD).all()  # specials stay
    rate = float((dropped[:, 1:1000] == UNK).float().mean())
    assert 0.18 < rate < 0.22 and set(dropped.unique().tolist()) == {PAD, UNK, BOS, 7}


def test_word_dropout_acts_in_training_only():
    model = tiny("gru_attn", word_dropout=0.5)
    src, lengths, tgt_in = pad([[5, 6, 7, 8]]), torch.tensor([4]), torch.tensor([[BOS, 4, 5, 6]])
    assert torch.equal(model(src, lengths, tgt_in), model(src, lengths, tgt_in))  # eval: deterministic
    plain = tiny("gru_attn")
    assert torch.equal(model(src, lengths, tgt_in), plain(src, lengths, tgt_in))
    model.train()
    torch.manual_seed(1)
    assert not torch.equal(model(src, lengths, tgt_in), plain(src, lengths, tgt_in))


ATTN = ["rnn_attn", "lstm_attn", "gru_attn"]


@pytest.mark.parametrize("name", ATTN)
def test_input_feeding_teacher_forcing_equals_decoding_step_by_step(name):
    model = tiny(name, input_feeding=True)
    src, lengths = pad([[5, 6, 7, 8], [9, 10]]), torch.tensor([4, 2])
    tgt_in = torch.tensor([[BOS, 4, 5, 6, 7], [BOS, 8, 9, 10, 11]])
    whole = model(src, lengths, tgt_in).log_softmax(-1)
    enc_states, state, mask = model.encode(src, lengths)
    steps = []
    for t in range(tgt_in.size(1)):
        log_probs, state, _ = model.decode_step(tgt_in[:, t], state, enc_states, mask)
        steps.append(log_probs)
    assert torch.allclose(whole, torch.stack(steps, dim=1), atol=1e-5)


@pytest.mark.parametrize("name", ATTN)
def test_input_feeding_adds_the_last_attentional_state_to_the_rnn_input(name):
    """With the weights on the fed s̃ zeroed, an input-fed model computes exactly what the plain model computes."""
    fed, plain = tiny(name, input_feeding=True), tiny(name)
    emb = plain.decoder.embed.embedding_dim
    assert fed.decoder.rnn.weight_ih_l0.shape[1] == emb + 32
    src, lengths, tgt_in = pad([[5, 6, 7], [8, 9]]), torch.tensor([3, 2]), torch.tensor([[BOS, 4, 5], [BOS, 6, 7]])
    before = fed(src, lengths, tgt_in)
    with torch.no_grad():
        state = fed.state_dict()
        for key, value in plain.state_dict().items():
            if key == "decoder.rnn.weight_ih_l0":
                state[key][:, :emb] = value
                state[key][:, emb:] = 0.0
            else:
                state[key].copy_(value)
    fed.load_state_dict(state)  # the target embedding and W_o are copies in a state_dict (without the padding rows)
    assert torch.allclose(fed(src, lengths, tgt_in), plain(src, lengths, tgt_in), atol=1e-6)
    assert not torch.allclose(before, plain(src, lengths, tgt_in), atol=1e-3)


def test_input_feeding_without_attention_is_a_config_error():
    from s2s.config import config_from_dict
    from s2s.errors import S2SError

    with pytest.raises(S2SError, match="'model.input_feeding' feeds the attentional state back.*model.attention: dot"):
        config_from_dict({"model": {"attention": "none", "input_feeding": True}})


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_without_attention_the_source_reaches_the_decoder_only_through_the_context_vector(name):
    """h_0 of the decoder is the encoder's final state (the context vector) and the decoder reads nothing else of the
    source: replacing every other encoder state leaves the output unchanged, changing the context vector does not."""
    model = tiny(name)
    src, lengths = pad([[5, 6, 7, 8], [9, 10]]), torch.tensor([4, 2])
    tgt_in = torch.tensor([[BOS, 4, 5], [BOS, 8, 9]])
    enc_states, context, mask = model.encode(src, lengths)
    _, encoder_final = model.encoder(src, lengths)
    assert all(torch.equal(a, b) for a, b in zip(context if name == "lstm" else [context],
                                                  encoder_final if name == "lstm" else [encoder_final]))
    logits, _, _ = model.decoder(tgt_in, context, enc_states, mask)
    other_states, _, _ = model.decoder(tgt_in, context, torch.randn_like(enc_states), mask)
    assert torch.equal(logits, other_states)
    changed = tuple(s + 0.5 for s in context) if name == "lstm" else context + 0.5
    other_context, _, _ = model.decoder(tgt_in, changed, enc_states, mask)
    assert not torch.allclose(logits, other_context)


def test_no_init_leaves_tensors_as_they_are_and_restores_the_fills_even_after_an_error() -> None:
    saved = {name: getattr(torch.nn.init, name) for name in INIT_FILLS}
    with pytest.raises(ValueError), no_init():
        zeros = torch.zeros(4, 4)
        torch.nn.init.uniform_(zeros)
        torch.nn.init.kaiming_uniform_(zeros)
        assert not zeros.any()
        linear = torch.nn.Linear(3, 3)  # its reset_parameters calls the fills through torch.nn.init
        raise ValueError("stop")
    assert linear.weight.shape == (3, 3)
    assert {name: getattr(torch.nn.init, name) for name in INIT_FILLS} == saved
    assert torch.nn.init.uniform_(torch.zeros(8)).any()
