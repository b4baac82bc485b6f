import pytest
import torch
import torch.nn.functional as F

from s2s.data.vocab import PAD
from s2s.training.loss import SmoothedCrossEntropy, sequence_loss


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
