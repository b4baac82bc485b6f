"""torch.hub entry points: the shipped pretrained models as ready s2s Translators, offline.

    import torch
    translator = torch.hub.load("path/to/this/repository", "de_en", source="local")   # everyday German -> English
    translator.translate(["Wie geht es dir?"])
    torch.hub.load("path/to/this/repository", "multi30k_de_en", source="local")      # the image-caption model

Each entry point loads pretrained/NAME/ next to this file (model.pt: float16 weights, upcast to float32 on loading;
the decoding chosen on validation is its default). s2s itself is imported from this repository's src/ when it is
not installed.
"""

import sys
from pathlib import Path

dependencies = ["torch", "sentencepiece"]

REPOSITORY = Path(__file__).resolve().parent


def _translator(name: str, device: str, precision: str):
    try:
        import s2s  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPOSITORY / "src"))
    from s2s.decoding.translator import Translator
    from s2s.errors import S2SError
    from s2s.pretrained import MODEL_FILE

    folder = REPOSITORY / "pretrained" / name
    if not (folder / MODEL_FILE).is_file():
        raise S2SError(f"the pretrained model '{name}' is not in this repository ({folder}/{MODEL_FILE} is missing); "
                       f"check out a version that ships it (pretrained/README.md lists them), or package one with "
                       f"scripts/package_pretrained.py.")
    return Translator.from_checkpoint(folder, device=device, precision=precision)


def multi30k_de_en(device: str = "cpu", precision: str = "fp32"):
    """German -> English (Multi30k), a GRU encoder-decoder with attention; returns an s2s Translator
    (translator.translate(lines) -> list of str). precision: fp32, bf16, int8 or int8-linear, as s2s translate."""
    return _translator("multi30k-de-en", device, precision)


def multi30k_en_de(device: str = "cpu", precision: str = "fp32"):
    """English -> German (Multi30k), a GRU encoder-decoder with attention; returns an s2s Translator
    (translator.translate(lines) -> list of str). precision: fp32, bf16, int8 or int8-linear, as s2s translate."""
    return _translator("multi30k-en-de", device, precision)


def everyday_de_en(device: str = "cpu", precision: str = "fp32"):
    """German -> English for everyday sentences (Tatoeba and Multi30k together), a GRU encoder-decoder with
    attention; returns an s2s Translator. The model `s2s translate --checkpoint de-en` uses."""
    return _translator("everyday-de-en", device, precision)


def everyday_en_de(device: str = "cpu", precision: str = "fp32"):
    """English -> German for everyday sentences (Tatoeba and Multi30k together), a GRU encoder-decoder with
    attention; returns an s2s Translator. The model `s2s translate --checkpoint en-de` uses."""
    return _translator("everyday-en-de", device, precision)


de_en = everyday_de_en  # the short names: the models that serve most people
en_de = everyday_en_de
