import pytest
import torch
import torch.nn.functional as F

from s2s.models.output import LinearCrossEntropy, SmoothedCrossEntropy, output_loss, sequence_loss
from s2s.specials import PAD


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_fused_loss_and_gradient_equal_torch_cross_entropy(smoothing):
    torch.manual_seed(0)
    logits = (3 * torch.randn(4, 5, 11)).requires_grad_()
    target = torch.randint(4, 11, (4, 5))
    target[0, 3:] = PAD
    target[2, 1:] = PAD
    ours = sequence_loss(logits, target, smoothing)
    (grad_ours,) = torch.autograd.grad(0.5 * ours, logits)
    reference = F.cross_entropy(logits.reshape(-1, 11), target.reshape(-1), ignore_index=PAD,
                                label_smoothing=smoothing, reduction="sum")
    (grad_reference,) = torch.autograd.grad(0.5 * reference, logits)
    torch.testing.assert_close(ours, reference)
    torch.testing.assert_close(grad_ours, grad_reference)
    assert grad_ours[2, 1:].abs().max() == 0  # padding positions get no gradient


def test_fused_loss_passes_gradcheck():
    torch.manual_seed(1)
    logits = torch.randn(6, 7, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([4, 5, PAD, 6, 4, 5])
    assert torch.autograd.gradcheck(lambda x: SmoothedCrossEntropy.apply(x, target, 0.2), (logits,))


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("chunk_rows", [1, 4, 7, 100])  # chunk boundaries inside, at and past the rows
def test_output_loss_equals_linear_then_cross_entropy(smoothing, chunk_rows):
    torch.manual_seed(2)
    out_layer = torch.nn.Linear(6, 13)
    hidden = torch.randn(3, 5, 6, requires_grad=True)
    target = torch.randint(4, 13, (3, 5))
    target[1, 2:] = PAD
    ours = output_loss(hidden, out_layer.weight, out_layer.bias, target, smoothing, chunk_rows=chunk_rows)
    grads_ours = torch.autograd.grad(0.7 * ours, [hidden, out_layer.weight, out_layer.bias])
    reference = F.cross_entropy(out_layer(hidden).reshape(-1, 13), target.reshape(-1), ignore_index=PAD,
                                label_smoothing=smoothing, reduction="sum")
    grads_reference = torch.autograd.grad(0.7 * reference, [hidden, out_layer.weight, out_layer.bias])
    torch.testing.assert_close(ours, reference)
    for got, expected in zip(grads_ours, grads_reference):
        torch.testing.assert_close(got, expected)
    assert grads_ours[0][1, 2:].abs().max() == 0  # padding positions get no gradient


def test_output_loss_passes_gradcheck():
    torch.manual_seed(3)
    hidden = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(9, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(9, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([4, 5, PAD, 6, 8, 4, PAD])
    assert torch.autograd.gradcheck(lambda h, w, b: LinearCrossEntropy.apply(h, w, b, target, 0.2, 3), (hidden, weight, bias))


def test_output_loss_without_grad_stores_nothing_and_matches():
    torch.manual_seed(4)
    out_layer = torch.nn.Linear(6, 13)
    hidden, target = torch.randn(2, 4, 6), torch.randint(4, 13, (2, 4))
    with torch.no_grad():
        loss = output_loss(hidden, out_layer.weight, out_layer.bias, target, chunk_rows=3)
        reference = sequence_loss(out_layer(hidden), target)
    assert loss.grad_fn is None
    torch.testing.assert_close(loss, reference)


def test_output_loss_under_bf16_autocast_is_close_to_fp32():
    torch.manual_seed(5)
    out_layer = torch.nn.Linear(16, 40)
    hidden = torch.randn(12, 16, requires_grad=True)
    target = torch.randint(4, 40, (12,))
    reference = output_loss(hidden, out_layer.weight, out_layer.bias, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a model's hidden states come out of autocast in bf16
        low = output_loss(hidden.to(torch.bfloat16), out_layer.weight, out_layer.bias, target)
    low.backward()
    assert low.dtype == torch.float32
    low, reference = low.detach(), reference.detach()
    assert abs(low.item() - reference.item()) < 0.02 * reference.item()
    assert out_layer.weight.grad.dtype == torch.float32 and hidden.grad.dtype == torch.float32


def test_the_target_vocabulary_is_padded_when_the_model_is_built_and_checkpoints_hold_the_real_rows():
    from s2s.models.decoder import ALIGN_ROWS, Decoder

    def build(vocab_size, tied):
        torch.manual_seed(2)
        return Decoder("gru", vocab_size=vocab_size, emb_size=16, hidden_size=16, layers=1, dropout=0.0,
                       attention=False, tie_embeddings=tied)

    for tied in (True, False):
        decoder = build(101, tied)
        assert decoder.out.weight.shape == (2 * ALIGN_ROWS, 16) and decoder.out.bias.shape == (2 * ALIGN_ROWS,)
        assert decoder.embed.weight.shape == (2 * ALIGN_ROWS, 16) and (decoder.out.weight is decoder.embed.weight) == tied
        assert decoder.out.weight[101:].abs().max() == 0 and decoder.out.bias[101:].abs().max() == 0
        state = decoder.state_dict()
        assert {state[k].shape[0] for k in ("embed.weight", "out.weight", "out.bias")} == {101}
        hidden = torch.randn(3, 5, 16)
        logits = decoder.project(hidden)
        assert logits.shape == (3, 5, 101)
        torch.testing.assert_close(logits, F.linear(hidden, state["out.weight"], state["out.bias"]))
        other = build(101, tied)  # the same seed, so the same weights: perturb them and load the saved ones back
        with torch.no_grad():
            other.out.bias.add_(1.0)
        other.load_state_dict(state)
        assert torch.equal(other.out.bias, decoder.out.bias) and torch.equal(other.out.weight, decoder.out.weight)
    assert build(128, True).out.weight.shape == (128, 16)  # already a multiple: no padding
    from s2s.models.encoder import make_rnn

    torch.manual_seed(2)  # the real rows are initialised as the unpadded layers, built in the same order, would be
    embed, _, plain = torch.nn.Embedding(101, 16, padding_idx=PAD), make_rnn("gru", 16, 16, 1, 0.0), torch.nn.Linear(16, 101)
    padded = build(101, False)
    assert torch.equal(padded.embed.weight[:101], embed.weight) and torch.equal(padded.out.weight[:101], plain.weight)


def test_the_padding_rows_stay_zero_and_never_enter_the_loss_during_training():
    from s2s.models.decoder import Decoder

    torch.manual_seed(3)
    decoder = Decoder("gru", vocab_size=70, emb_size=8, hidden_size=8, layers=1, dropout=0.0, attention=False,
                      tie_embeddings=True)
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=0.1, weight_decay=0.1)
    tgt_in, tgt_out = torch.randint(4, 70, (4, 6)), torch.randint(4, 70, (4, 6))
    for _ in range(3):
        hidden, _, _ = decoder.features(tgt_in, torch.zeros(1, 4, 8), None, None)
        loss = output_loss(hidden, *decoder.output_weights(), tgt_out, 0.1)
        reference = F.cross_entropy(decoder.project(hidden).reshape(-1, 70), tgt_out.reshape(-1), label_smoothing=0.1,
                                    reduction="sum")  # softmax and smoothing over the 70 real columns only
        torch.testing.assert_close(loss, reference)
        optimizer.zero_grad()
        loss.backward()
        assert decoder.out.weight.grad[70:].abs().max() == 0 and decoder.out.bias.grad[70:].abs().max() == 0
        optimizer.step()
    assert decoder.out.weight[70:].abs().max() == 0 and decoder.out.bias[70:].abs().max() == 0


def test_validation_decodes_with_the_weights_after_fused_adam_steps(tmp_path, make_config):
    """A trainer's validation translations equal those of the checkpoint it then saves (W_o padded or not)."""
    from s2s.decoding.translator import Translator
    from s2s.training.trainer import Trainer

    run = tmp_path / "run"
    trainer = Trainer(make_config(run, train={"epochs": 2}), run, log=lambda message: None)
    trainer.train()
    translator = trainer.translator()
    sentences = trainer.corpus.splits["test"].src_text
    loaded = Translator.from_checkpoint(run / "last.pt", device="cpu").translate(sentences, beam=3)
    assert translator.translate(sentences, beam=3) == loaded
