"""train.optimizer: how weight_decay acts (Adam's L2 term against AdamW's decoupled shrink)."""

import pytest
import torch

from s2s.checkpoint import load_checkpoint
from s2s.config import load_config
from s2s.errors import S2SError
from s2s.training.trainer import Trainer, make_optimizer


def one_step(kind: str, weight_decay: float) -> torch.Tensor:
    """One update of a weight of 1.0 whose loss gradient is zero: only weight decay moves it."""
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(1.0)
    optimizer = make_optimizer(model, lr=0.01, weight_decay=weight_decay, device=torch.device("cpu"), kind=kind)
    model.weight.grad = torch.zeros_like(model.weight)
    optimizer.step()
    return model.weight.detach().clone()


def test_adamw_shrinks_by_lr_times_decay():
    # decoupled: w <- w - lr * wd * w, and Adam's own step is 0 for a zero gradient
    assert one_step("adamw", 0.1).item() == pytest.approx(1.0 - 0.01 * 0.1, abs=1e-7)


def test_adam_l2_goes_through_adams_normalisation():
    # L2: the gradient becomes wd * w = 0.1, and Adam's first step moves by lr whatever the gradient's size
    assert one_step("adam", 0.1).item() == pytest.approx(1.0 - 0.01, abs=1e-6)


def test_no_decay_leaves_the_weight():
    assert one_step("adamw", 0.0).item() == 1.0
    assert one_step("adam", 0.0).item() == 1.0


def test_unknown_optimizer_is_refused_by_name(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  optimizer: sgd\n")
    with pytest.raises(S2SError, match=r"train\.optimizer.*adamw"):
        load_config(path)


def test_resuming_keeps_the_checkpoints_optimizer_and_says_so(tmp_path, make_config):
    Trainer(make_config(tmp_path, train={"max_steps": 2, "epochs": 3, "optimizer": "adamw", "weight_decay": 0.1}),
            tmp_path, log=lambda message: None).train()
    messages = []
    resumed = Trainer(make_config(tmp_path, train={"max_steps": 3, "epochs": 3}), tmp_path, log=messages.append,
                      resume=load_checkpoint(tmp_path / "last.pt"))
    assert any("last.pt was trained with adamw: the resumed run continues with adamw" in m for m in messages)
    group = resumed.optimizer.param_groups[0]
    assert group["decoupled_weight_decay"] and group["weight_decay"] == 0.1
