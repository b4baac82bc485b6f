"""Figures for reports and analyses: matplotlib with the headless Agg backend, an optional dependency."""

from __future__ import annotations

from pathlib import Path

from s2s.outputs import written

MISSING = "matplotlib is not installed, so no figures were drawn (pip install 's2s[plots]'); the numbers are in the JSON/Markdown."


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save(fig, path: Path) -> None:
    """Draw the figure into `path` (a device in place, a file written whole), in the format its suffix names (.svg,
    .pdf, ...), else PNG."""
    fig.tight_layout()
    suffix = Path(path).suffix[1:].lower()
    with written(path, binary=True) as handle:
        fig.savefig(handle, dpi=110, format=suffix if suffix in fig.canvas.get_supported_filetypes() else "png")
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)


def plot_by_length(rows: list[dict], path: Path, metric: str = "bleu") -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bars = ax.bar([row["bucket"] for row in rows], [row[metric] for row in rows], color="#4878a8")
    for bar, row in zip(bars, rows):
        ax.annotate(f"n={row['sentences']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("source length (words)")
    ax.set_ylabel(metric.upper() if metric == "bleu" else "chrF")
    ax.set_title(f"{'BLEU' if metric == 'bleu' else 'chrF'} by source length")
    ax.margins(y=0.12)
    save(fig, path)


def plot_training(records: list[dict], path: Path, selected_step: int | None = None, title: str = "") -> None:
    """Train and validation loss, and validation BLEU, against steps; the evaluated checkpoint's step marked."""
    plt = pyplot()
    train = [r for r in records if "train_loss" in r]
    valid = [r for r in records if "valid_loss" in r]
    fig, (loss_ax, bleu_ax) = plt.subplots(1, 2, figsize=(10, 3.6))
    loss_ax.plot([r["step"] for r in train], [r["train_loss"] for r in train], label="train loss", color="#4878a8", lw=1)
    loss_ax.plot([r["step"] for r in valid], [r["valid_loss"] for r in valid], "o-", label="validation loss", color="#d65f5f", ms=3)
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss (nats per token)")
    ppl_ax = loss_ax.secondary_yaxis("right", functions=(_exp, _log))
    ppl_ax.set_ylabel("perplexity")
    bleu_ax.plot([r["step"] for r in valid], [r["valid_bleu"] for r in valid], "o-", color="#6acc64", ms=3, label="validation BLEU")
    bleu_ax.set_xlabel("step")
    bleu_ax.set_ylabel("BLEU")
    if selected_step is not None:
        for ax in (loss_ax, bleu_ax):
            ax.axvline(selected_step, color="gray", ls="--", lw=1, label=f"evaluated checkpoint (step {selected_step})")
        chosen = [r for r in valid if r["step"] == selected_step]
        if chosen:
            bleu_ax.plot([selected_step], [chosen[0]["valid_bleu"]], "*", color="black", ms=12)
    loss_ax.legend(fontsize=8)
    bleu_ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    save(fig, path)


def _exp(x):
    import numpy as np

    return np.exp(np.clip(x, -50, 50))


def _log(x):
    import numpy as np

    return np.log(np.maximum(x, 1e-12))


def plot_attention(src_tokens: list[str], out_tokens: list[str], weights: list[list[float]], path: Path, title: str = "") -> None:
    """Heatmap: output tokens (rows, ending with </s>) against source tokens (columns)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.2 + 0.38 * len(src_tokens), 1.2 + 0.3 * len(out_tokens)))
    ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(src_tokens)), src_tokens, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(out_tokens)), out_tokens, fontsize=8)
    ax.set_xlabel("source tokens")
    ax.set_ylabel("output tokens")
    if title:
        ax.set_title(title, fontsize=9)
    save(fig, path)


def plot_compare(runs: dict[str, list[dict]], path: Path) -> None:
    """Overlaid curves of several runs: validation BLEU against training minutes, and train loss against steps."""
    plt = pyplot()
    fig, (bleu_ax, loss_ax) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, records in runs.items():
        valid = [r for r in records if "valid_bleu" in r]
        train = [r for r in records if "train_loss" in r]
        line, = bleu_ax.plot([r.get("train_minutes", 0.0) for r in valid], [r["valid_bleu"] for r in valid], "o-", ms=3, label=name)
        loss_ax.plot([r["step"] for r in train], [r["train_loss"] for r in train], lw=1, color=line.get_color(), label=name)
    bleu_ax.set_xlabel("training minutes")
    bleu_ax.set_ylabel("validation BLEU")
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("train loss")
    bleu_ax.legend(fontsize=8)
    loss_ax.legend(fontsize=8)
    save(fig, path)


def plot_word_map(words: list[str], coordinates, path: Path, title: str = "") -> None:
    """Words placed at their 2-D coordinates (words, 2), e.g. the first two principal components of their vectors."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.scatter(coordinates[:, 0], coordinates[:, 1], color="#4878a8", s=14)
    for word, (x, y) in zip(words, coordinates):
        ax.annotate(word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9)
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.margins(0.15)
    if title:
        ax.set_title(title, fontsize=10)
    save(fig, path)
