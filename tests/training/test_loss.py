import torch

from s2s.models.output import sequence_loss
from s2s.training.loss import model_loss


def test_model_loss_uses_the_fused_path_only_for_models_that_declare_it():
    class LogitsOnly(torch.nn.Module):  # a user's model: returns logits, knows nothing of tgt_out
        def __init__(self):
            super().__init__()
            self.out = torch.nn.Linear(3, 9)

        def forward(self, src, src_lengths, tgt_in):
            return self.out(torch.ones(*tgt_in.shape, 3))

    from s2s.data.batching import make_batch

    batch = make_batch([[4, 5]], [[6, 7, 8]], [0])
    model = LogitsOnly()
    expected = sequence_loss(model(batch.src, batch.src_lengths, batch.tgt_in), batch.tgt_out)
    torch.testing.assert_close(model_loss(model, model, batch), expected)
