"""Shipped pretrained models: folders pretrained/NAME/ holding model.pt (an s2s checkpoint with float16 weights),
its config, tokenizers, vocabularies and card.json; found by folder or by short name (`--checkpoint multi30k-de-en`).

No torch here: s2s.checkpoint resolves names through this module, and `s2s pretrained` lists the models quickly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from s2s.errors import S2SError

PRETRAINED_ENV = "S2S_PRETRAINED"  # a folder of pretrained models, instead of the repository's pretrained/
MODEL_FILE = "model.pt"
CARD_FILE = "card.json"
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]  # src/s2s/pretrained.py -> the repository (editable installs)


def pretrained_root() -> Path | None:
    """$S2S_PRETRAINED, else the repository's pretrained/ next to the package's source tree when it exists, else None."""
    if os.environ.get(PRETRAINED_ENV):
        return Path(os.environ[PRETRAINED_ENV])
    shipped = REPOSITORY_ROOT / "pretrained"
    return shipped if shipped.is_dir() else None


def is_pretrained_folder(path: str | Path) -> bool:
    return (Path(path) / MODEL_FILE).is_file()


def read_card(folder: str | Path) -> dict:
    """The folder's card.json, or {} when it has none or it is not JSON."""
    try:
        return json.loads((Path(folder) / CARD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def list_pretrained(root: str | Path | None = None) -> list[dict]:
    """[{"name", "folder", "card"}] of the pretrained folders (those holding model.pt) in `root`
    (default: pretrained_root()), by name."""
    root = pretrained_root() if root is None else Path(root)
    if root is None or not root.is_dir():
        return []
    return [{"name": folder.name, "folder": folder, "card": read_card(folder)}
            for folder in sorted(root.iterdir()) if is_pretrained_folder(folder)]


def aliases(card: dict) -> list[str]:
    """The other short names a card gives its model (card.json "aliases"), e.g. ["de-en"]."""
    names = card.get("aliases", []) if isinstance(card, dict) else []
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def looks_like_a_name(text: str) -> bool:
    """'multi30k-de-en' is a name; 'runs/x', 'best.pt' and '.' are paths."""
    return bool(text) and "/" not in text and os.sep not in text and not text.endswith(".pt") and text.strip(".") != ""


def resolve(path_or_name: str | Path) -> Path:
    """The path to load: an existing path as is; the folder of a shipped model given by name; a path that does not
    exist as is (the loader says it is missing). A name that is neither is an S2SError listing the shipped names."""
    path = Path(path_or_name)
    if path.exists() or not looks_like_a_name(str(path_or_name)):
        return path
    root = pretrained_root()
    if root is not None and is_pretrained_folder(root / str(path_or_name)):
        return root / str(path_or_name)
    models = list_pretrained(root)
    for model in models:  # a short name a card gives its model ("de-en" for everyday-de-en)
        if str(path_or_name) in aliases(model["card"]):
            return model["folder"]
    shipped = [model["name"] for model in models] + [alias for model in models for alias in aliases(model["card"])]
    where = (f"shipped models in {root}: {', '.join(shipped)}" if shipped else
             f"no shipped models in {root}" if root is not None else
             f"no pretrained folder (set {PRETRAINED_ENV}=DIR, a folder of pretrained models)")
    raise S2SError(f"'{path_or_name}' is neither a file, a folder nor the name of a shipped pretrained model ({where}). "
                   f"Pass a .pt file, a run folder, a pretrained folder or one of those names; s2s pretrained lists them.")


def format_size(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def format_listing(models: list[dict], root: Path | None) -> str:
    """The table `s2s pretrained` prints: name, direction, test BLEU, model.pt size and folder of each model."""
    if not models:
        where = f"in {root}" if root is not None else f"(no pretrained/ folder; set {PRETRAINED_ENV}=DIR)"
        return f"no pretrained models {where}"
    rows = [("name", "short name", "direction", "test BLEU", "size", "folder")]
    for model in models:
        card, folder = model["card"], model["folder"]
        bleu = card.get("test", {}).get("bleu")
        rows.append((model["name"], ", ".join(aliases(card)) or "-", card.get("direction", "?"),
                     f"{bleu:.2f} ({card['test'].get('set', 'test')})" if bleu is not None else "?",
                     format_size((folder / MODEL_FILE).stat().st_size), str(folder)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows)
