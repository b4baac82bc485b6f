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
        root = Path(os.environ[PRETRAINED_ENV])
        if not root.is_dir():
            raise S2SError(f"{PRETRAINED_ENV}={root} {'is a file' if root.exists() else 'does not exist'}; set "
                           f"{PRETRAINED_ENV} to a folder of pretrained models (NAME/model.pt and NAME/card.json), "
                           f"or unset it to use the shipped ones.")
        return root
    shipped = REPOSITORY_ROOT / "pretrained"
    return shipped if shipped.is_dir() else None


def is_pretrained_folder(path: str | Path) -> bool:
    return (Path(path) / MODEL_FILE).is_file()


def read_card(folder: str | Path) -> dict:
    """The folder's card.json; an S2SError naming the file when it is missing, not JSON, not an object, or lacks a
    field `s2s pretrained` shows (direction, test.bleu as a number)."""
    path = Path(folder) / CARD_FILE
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise S2SError(f"{path} does not exist; a pretrained model's folder holds model.pt and its card.json "
                       f"(scripts/package_pretrained.py writes both).") from None
    except OSError as error:
        raise S2SError(f"cannot read {path}: {error.strerror or error}.") from None
    except (ValueError, UnicodeDecodeError) as error:
        raise S2SError(f"{path} is not valid JSON ({error}); the card is damaged or cut short: copy the model's "
                       f"folder again, or package it again (scripts/package_pretrained.py).") from None
    if not isinstance(card, dict):
        raise S2SError(f"{path} holds a JSON {type(card).__name__ if card is not None else 'null'}, not an object "
                       f"with the model's name, direction and test scores; package the model again "
                       f"(scripts/package_pretrained.py).")
    test = card.get("test")
    bleu = test.get("bleu") if isinstance(test, dict) else None
    lacking = [name for name, ok in (("direction", isinstance(card.get("direction"), str)),
                                     ("test.bleu", isinstance(bleu, (int, float)) and not isinstance(bleu, bool)))
               if not ok]
    if lacking:
        raise S2SError(f"{path} lacks {', '.join(lacking)} (or {'it is' if len(lacking) == 1 else 'they are'} not of "
                       f"the kind s2s writes: direction a string, test an object with bleu a number); package the "
                       f"model again (scripts/package_pretrained.py).")
    return card


def list_pretrained(root: str | Path | None = None) -> list[dict]:
    """[{"name", "folder", "card", "problem"}] of the pretrained folders (those holding model.pt) in `root`
    (default: pretrained_root()), by name. A card read_card refuses is {} and "problem" says why (else None).
    Hidden folders (.NAME: a packaging's staging folder, an editor's) are not models."""
    root = pretrained_root() if root is None else Path(root)
    if root is None or not root.is_dir():
        return []
    models = []
    for folder in sorted(root.iterdir()):
        if not folder.name.startswith(".") and is_pretrained_folder(folder):
            try:
                card, problem = read_card(folder), None
            except S2SError as error:
                card, problem = {}, str(error)
            models.append({"name": folder.name, "folder": folder, "card": card, "problem": problem})
    return models


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
    """The table `s2s pretrained` prints: name, direction, test BLEU, model.pt size and folder of each model; a model
    whose card read_card refuses shows ? and its problem on a line below the table (s2s pretrained then exits 2)."""
    if not models:
        where = f"in {root}" if root is not None else f"(no pretrained/ folder; set {PRETRAINED_ENV}=DIR)"
        return f"no pretrained models {where}"
    rows = [("name", "short name", "direction", "test BLEU", "size", "folder")]
    for model in models:
        card, folder = model["card"], model["folder"]
        bleu = card["test"]["bleu"] if card else None
        rows.append((model["name"], ", ".join(aliases(card)) or "-", card.get("direction", "?"),
                     f"{bleu:.2f} ({card['test'].get('set', 'test')})" if bleu is not None else "?",
                     format_size((folder / MODEL_FILE).stat().st_size), str(folder)))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    table = "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1] for row in rows)
    problems = [f"problem: {model['problem']}" for model in models if model.get("problem")]
    return "\n".join([table, *problems])
