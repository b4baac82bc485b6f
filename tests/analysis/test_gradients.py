import json

import pytest
import torch

from s2s.analysis.gradients import analyze_gradients, clipping_demo, gradients_by_distance
from s2s.config import ModelConfig
from s2s.errors import S2SError
from s2s.models import build_model


def vanilla_rnn(recurrent_weight: torch.Tensor):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="rnn", emb_size=8, hidden_size=16, bidirectional=False, dropout=0.0), 30, 30)
    with torch.no_grad():
        model.encoder.rnn.weight_hh_l0.copy_(recurrent_weight)
        model.encoder.embed.weight.mul_(0.01)  # small inputs and no biases keep tanh in its linear range
        model.encoder.rnn.bias_ih_l0.zero_()
        model.encoder.rnn.bias_hh_l0.zero_()
    return model


EXAMPLES = [([4 + (i + j) % 20 for j in range(12)], [5 + i % 20, 6]) for i in range(40)]


def test_small_recurrent_weight_vanishes_geometrically():
    norms = gradients_by_distance(vanilla_rnn(0.3 * torch.eye(16)), EXAMPLES, length=10)
    ratios = [norms[d + 1] / norms[d] for d in range(9)]
    assert all(0.25 < r < 0.35 for r in ratios)  # about 0.3 per step: the recurrent weight's eigenvalue


def test_near_identity_recurrence_keeps_the_gradient():
    norms = gradients_by_distance(vanilla_rnn(torch.eye(16)), EXAMPLES, length=10)
    assert norms[-1] / norms[0] > 0.9


def test_attention_models_are_refused_with_a_reason():
    model = build_model(ModelConfig(name="gru_attn", emb_size=8, hidden_size=16), 30, 30)
    with pytest.raises(S2SError, match="without attention and with a unidirectional encoder"):
        gradients_by_distance(model, EXAMPLES, length=5)


def test_clipping_keeps_an_exploding_rnn_finite():
    demo = clipping_demo(steps=15)
    assert max(demo["no clipping"]["loss"]) > 1e3 * demo["no clipping"]["loss"][0]
    assert max(demo["clip 1.0"]["loss"]) < 10 * demo["clip 1.0"]["loss"][0]


def test_analysis_writes_numbers_and_figures(tmp_path):
    results = analyze_gradients({"rnn": vanilla_rnn(0.5 * torch.eye(16))}, EXAMPLES, 6, tmp_path)
    data = json.loads((tmp_path / "gradients.json").read_text())
    assert len(data["models"]["rnn"]["grad_norm_by_distance"]) == 6
    assert data["models"]["rnn"]["recurrent_weight"]["h"]["spectral_radius"] == pytest.approx(0.5, abs=1e-5)
    assert (tmp_path / "gradients.csv").read_text().splitlines()[0] == "distance,rnn"
    assert results["clipping"].keys() == {"no clipping", "clip 1.0"}
    pytest.importorskip("matplotlib")
    assert (tmp_path / "gradients.png").stat().st_size > 1000 and (tmp_path / "clipping.png").is_file()


def test_cli_on_a_config_and_on_a_checkpoint(tmp_path, make_config):
    from s2s.cli import main
    from s2s.training.trainer import Trainer

    assert main(["analyze", "gradients", "--config", "configs/quickstart.yaml", "--cells", "rnn", "gru",
                 "--sentences", "16", "--length", "8", "--output", str(tmp_path / "fresh")]) == 0
    assert json.loads((tmp_path / "fresh" / "gradients.json").read_text())["models"].keys() == {"rnn", "gru"}
    config = make_config(tmp_path / "run", train={"max_steps": 2},
                         model={"attention": "none", "bidirectional": False, "cell": "lstm"})
    Trainer(config, tmp_path / "run", log=lambda m: None).train()
    assert main(["analyze", "gradients", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--length", "4",
                 "--output", str(tmp_path / "trained")]) == 0
    assert list(json.loads((tmp_path / "trained" / "gradients.json").read_text())["models"]) == ["lstm"]
