"""The gradient story: how ∂L/∂h_t, the loss gradient at each encoder state, shrinks with distance from the end.

For a vanilla RNN, h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), so ∂h_T/∂h_t is a product of T - t Jacobians
diag(1 - h_k²) W_hh: its norm shrinks (or grows) roughly geometrically, at a rate set by the largest singular
value of W_hh. LSTM and GRU carry a gated, additive path (C_t = f_t ⊙ C_{t-1} + i_t ⊙ g_t; GRU's
h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}) along which the gradient can pass nearly unchanged.

The measurement uses models without attention and with a unidirectional encoder, so the only path from
source token t to the loss runs through h_t, h_{t+1}, ..., h_T and the decoder's initial state.
"""

from __future__ import annotations

import torch
from torch import nn

from s2s.errors import S2SError
from s2s.outputs import write_file, written
from s2s.models.output import sequence_loss
from s2s.specials import PAD


def check_analysable(model: nn.Module) -> None:
    encoder, decoder = getattr(model, "encoder", None), getattr(model, "decoder", None)
    if encoder is None or decoder is None or not isinstance(getattr(encoder, "rnn", None), nn.RNNBase):
        raise S2SError("gradient analysis needs a zoo encoder-decoder (s2s.models.seq2seq.Seq2Seq).")
    if encoder.rnn.bidirectional or decoder.attention is not None:
        raise S2SError("gradient analysis needs a model without attention and with a unidirectional encoder, so that "
                       "every path from h_t to the loss runs through the recurrence; use --config (a fresh model "
                       "is built that way) or a checkpoint of such a model.")


def encoder_state_gradients(model: nn.Module, src: torch.Tensor, tgt_in: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ||∂L/∂h_t|| for t = 0..T-1 (source without padding, all of length T).

    The encoder is stepped one position at a time with the model's own weights so that every h_t is a node
    whose gradient includes all later paths; L is the decoder's summed teacher-forced loss.
    """
    check_analysable(model)
    if (src == PAD).any():
        raise ValueError("sources must all have the same length, without padding")
    rnn = model.encoder.rnn
    emb = model.encoder.embed(src)  # (batch, T, emb)
    state, states = None, []
    for t in range(src.size(1)):
        _, state = rnn(emb[:, t : t + 1], state)
        hidden = state[0] if isinstance(state, tuple) else state  # (layers, batch, hidden)
        hidden.retain_grad()
        states.append(hidden)
    src_mask = torch.ones_like(src, dtype=torch.bool)
    logits, _, _ = model.decoder(tgt_in, state, None, src_mask)
    sequence_loss(logits, tgt_out).backward()
    # the last layer's state at each step: (T, batch) norms, averaged over the batch
    return torch.stack([h.grad[-1].norm(dim=-1) for h in states]).mean(dim=1)


def gradients_by_distance(model: nn.Module, examples: list[tuple[list[int], list[int]]], length: int,
                          batch_size: int = 64) -> list[float]:
    """Average ||∂L/∂h_t|| by distance d = length - 1 - t from the last encoder step, over pairs whose source has
    at least `length` tokens (each cut to its first `length`). Index d of the result is distance d."""
    from s2s.data.batching import make_batch

    pairs = [(src[:length], tgt) for src, tgt in examples if len(src) >= length]
    if not pairs:
        raise S2SError(f"no source sentence has {length} tokens; choose a smaller --length.")
    model.eval()
    total = torch.zeros(length)
    for start in range(0, len(pairs), batch_size):
        chunk = pairs[start : start + batch_size]
        batch = make_batch([s for s, _ in chunk], [t for _, t in chunk], list(range(len(chunk))))
        model.zero_grad(set_to_none=True)
        total += encoder_state_gradients(model, batch.src, batch.tgt_in, batch.tgt_out).detach() * len(chunk)
    by_position = total / len(pairs)
    return by_position.flip(0).tolist()


def recurrent_spectrum(model: nn.Module) -> dict:
    """Spectral radius and largest singular value of the first encoder layer's recurrent weight (per gate block)."""
    rnn = model.encoder.rnn
    gates = {"RNN_TANH": ["h"], "LSTM": ["i", "f", "g", "o"], "GRU": ["r", "z", "n"]}[rnn.mode]
    blocks = rnn.weight_hh_l0.detach().chunk(len(gates))
    return {gate: {"spectral_radius": float(torch.linalg.eigvals(w).abs().max()),
                   "largest_singular_value": float(torch.linalg.matrix_norm(w, ord=2))} for gate, w in zip(gates, blocks)}


def clipping_demo(hidden_size: int = 64, steps: int = 30, length: int = 30, radius: float = 3.0, clip: float = 1.0,
                  seed: int = 0) -> dict:
    """Train a vanilla RNN whose recurrent weight has spectral radius `radius` (an exploding setup) to reproduce
    its input after `length` steps, with and without gradient-norm clipping; return per-step gradient norms
    (before clipping) and losses for both."""
    results = {}
    for label, max_norm in (("no clipping", None), (f"clip {clip}", clip)):
        torch.manual_seed(seed)
        rnn, readout = nn.RNN(1, hidden_size, batch_first=True), nn.Linear(hidden_size, 1)
        with torch.no_grad():
            w = torch.randn(hidden_size, hidden_size)
            rnn.weight_hh_l0.copy_(w * radius / torch.linalg.eigvals(w).abs().max())
        parameters = list(rnn.parameters()) + list(readout.parameters())
        optimizer = torch.optim.SGD(parameters, lr=0.05)
        x = torch.randn(32, length, 1) * 0.1
        target = x[:, :1, 0]
        norms, losses = [], []
        for _ in range(steps):
            outputs, _ = rnn(x)
            loss = nn.functional.mse_loss(readout(outputs[:, -1]), target)
            optimizer.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(parameters, max_norm if max_norm else float("inf"))
            optimizer.step()
            norms.append(float(norm))
            losses.append(float(loss.detach()))
        results[label] = {"grad_norm": norms, "loss": losses}
    return results


def load_subjects(config_path: str | None, checkpoint: str | None, cells: list[str], sentences: int):
    """The models to analyse and validation (source ids, target ids) pairs: fresh models of a config's sizes, one
    per cell, without attention and with a unidirectional encoder; or the model of a checkpoint."""
    from s2s.config import config_from_dict, load_config
    from s2s.data.corpus import build_corpus
    from s2s.models import build_model

    if config_path:
        config = load_config(config_path, ["model.attention=none", "model.bidirectional=false", "model.name="])
        corpus = build_corpus(config.data, log=lambda message: None)
        models = {}
        for cell in cells:
            config.model.cell = cell
            models[cell] = build_model(config.model, len(corpus.src_vocab), len(corpus.tgt_vocab))
    else:
        from s2s.checkpoint import load_checkpoint
        from s2s.decoding.translator import Translator

        translator = Translator.from_checkpoint(checkpoint, device="cpu")
        config = config_from_dict(load_checkpoint(checkpoint)["config"])
        corpus = build_corpus(config.data, log=lambda message: None, vocabularies=(
            translator.src_tokenizer, translator.tgt_tokenizer, translator.src_vocab, translator.tgt_vocab))
        models = {config.model.resolved_name: translator.model}
    split = corpus.splits["valid"]
    return models, list(zip(split.src_ids, split.tgt_ids))[:sentences]


def analyze_gradients(models: dict[str, nn.Module], examples, length: int, output_dir, spectral_model: str | None = None) -> dict:
    """Measure every model, write gradients.json, gradients.csv and (with matplotlib) gradients.png and
    clipping.png to output_dir; return the results."""
    import csv
    import json
    from pathlib import Path

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    results = {"length": length, "models": {}, "clipping": clipping_demo()}
    for name, model in models.items():
        results["models"][name] = {"grad_norm_by_distance": gradients_by_distance(model, examples, length),
                                   "recurrent_weight": recurrent_spectrum(model)}
    write_file(output_dir / "gradients.json", json.dumps(results, indent=2) + "\n")
    with written(output_dir / "gradients.csv") as handle:
        writer = csv.writer(handle)
        writer.writerow(["distance"] + list(models))
        for distance in range(length):
            writer.writerow([distance] + [f"{results['models'][n]['grad_norm_by_distance'][distance]:.6g}" for n in models])
    _plot(results, output_dir)
    return results


def _plot(results: dict, output_dir) -> None:
    from s2s import plotting

    plt = plotting.pyplot()
    if plt is None:
        print(f"note: {plotting.MISSING}")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, data in results["models"].items():
        norms = data["grad_norm_by_distance"]
        ax.semilogy(range(len(norms)), norms, marker="o", markersize=3, label=name)
    ax.set_xlabel("distance from the last encoder step (time steps)")
    ax.set_ylabel("mean ||∂L/∂h_t||")
    ax.set_title("Gradient reaching each encoder state")
    ax.legend()
    plotting.save(fig, output_dir / "gradients.png")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for label, data in results["clipping"].items():
        axes[0].semilogy(data["grad_norm"], label=label)
        axes[1].semilogy(data["loss"], label=label)
    axes[0].set_title("gradient norm before clipping")
    axes[1].set_title("training loss")
    for ax in axes:
        ax.set_xlabel("step")
        ax.legend()
    fig.suptitle("Vanilla RNN with recurrent spectral radius 3")
    plotting.save(fig, output_dir / "clipping.png")
