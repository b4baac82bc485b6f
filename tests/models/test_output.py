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
    ours = output_loss(hidden, out_layer, target, smoothing, chunk_rows=chunk_rows)
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
        loss = output_loss(hidden, out_layer, target, chunk_rows=3)
        reference = sequence_loss(out_layer(hidden), target)
    assert loss.grad_fn is None
    torch.testing.assert_close(loss, reference)


def test_output_loss_under_bf16_autocast_is_close_to_fp32():
    torch.manual_seed(5)
    out_layer = torch.nn.Linear(16, 40)
    hidden = torch.randn(12, 16, requires_grad=True)
    target = torch.randint(4, 40, (12,))
    reference = output_loss(hidden, out_layer, target)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # a model's hidden states come out of autocast in bf16
        low = output_loss(hidden.to(torch.bfloat16), out_layer, target)
    low.backward()
    assert low.dtype == torch.float32
    low, reference = low.detach(), reference.detach()
    assert abs(low.item() - reference.item()) < 0.02 * reference.item()
    assert out_layer.weight.grad.dtype == torch.float32 and hidden.grad.dtype == torch.float32


def test_inference_projection_pads_the_output_rows_and_matches_the_plain_layer():
    from s2s.models.decoder import ALIGN_ROWS, Decoder

    torch.manual_seed(2)
    decoder = Decoder("gru", vocab_size=101, emb_size=16, hidden_size=16, layers=1, dropout=0.0, attention=False,
                      tie_embeddings=True).eval()
    hidden = torch.randn(3, 5, 16)
    with torch.no_grad():
        assert decoder._padded is None  # only a Translator (or TextGenerator) prepares the copy
        decoder.prepare_padded_output()
        _, weight, bias = decoder._padded
        assert weight.shape == (2 * ALIGN_ROWS, 16) and weight[101:].abs().max() == 0 and bias.shape == (2 * ALIGN_ROWS,)
        calls = []
        decoder.out.register_forward_hook(lambda *args: calls.append(1))
        logits = decoder.project(hidden)
        assert calls == [] and logits.shape == (3, 5, 101)  # the padded copy, not the layer
        torch.testing.assert_close(logits, decoder.out(hidden))
        calls.clear()
        decoder.out.weight.mul_(2)  # an in-place change of W_o: the copy is stale, so the plain layer answers
        torch.testing.assert_close(decoder.project(hidden), decoder.out(hidden))
        assert calls == [1, 1]
    decoder.prepare_padded_output()
    decoder.train()  # training drops the copy (fused Adam updates W_o without bumping its version)
    assert decoder._padded is None
    decoder.eval().prepare_padded_output()
    calls.clear()
    hidden.requires_grad_()
    decoder.project(hidden).sum().backward()  # with gradients: the plain layer, so they reach W_o
    assert calls == [1] and decoder.out.weight.grad is not None and hidden.grad.shape == hidden.shape


def test_validation_decodes_with_the_weights_after_fused_adam_steps(tmp_path, make_config):
    """Fused Adam changes W_o in place without bumping its version: each validation's Translator must rebuild the
    padded copy, so that a trainer's translations equal those of the checkpoint it then saves."""
    from s2s.decoding.translator import Translator
    from s2s.training.trainer import Trainer

    run = tmp_path / "run"
    trainer = Trainer(make_config(run, train={"epochs": 2}), run, log=lambda message: None)
    trainer.train()  # validates after each epoch, so a copy was made after epoch 1
    translator = trainer.translator()
    decoder = translator.model.decoder
    assert decoder._padded is not None  # the tiny vocabulary is not a multiple of ALIGN_ROWS
    hidden = torch.randn(4, decoder.out.in_features)
    with torch.no_grad():
        torch.testing.assert_close(decoder.project(hidden), decoder.out(hidden))  # W_o as trained, not as at epoch 1
    sentences = trainer.corpus.splits["test"].src_text
    loaded = Translator.from_checkpoint(run / "last.pt", device="cpu").translate(sentences, beam=3)
    assert translator.translate(sentences, beam=3) == loaded
