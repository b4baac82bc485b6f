"""An export folder read back: manifest.json checked against the format, and the tokenizers and vocabularies
beside it (a SentencePiece model file goes back into the tokenizer state as its model_proto bytes)."""

from __future__ import annotations

import json
from pathlib import Path

from s2s.data.tokenizers import tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.errors import S2SError
from s2s.specials import BOS, EOS, PAD, UNK

FORMAT, FORMAT_VERSION = "s2s-onnx", 1
REQUIRED_KEYS = ("model", "states", "files", "src_tokenizer", "tgt_tokenizer")
REQUIRED_FILES = ("encoder", "decoder", "src_vocab", "tgt_vocab")
EXPORT_HINT = "export a checkpoint first (s2s export --checkpoint CKPT --output DIR), or translate it with --engine torch"


def read_manifest(folder: Path) -> dict:
    """The folder's manifest.json, with every file it names present; S2SError saying what is missing otherwise."""
    if not folder.exists():
        raise S2SError(f"ONNX export folder '{folder}' does not exist; {EXPORT_HINT}.")
    if not folder.is_dir():
        raise S2SError(f"'{folder}' is a file, not an ONNX export folder (encoder.onnx, decoder.onnx, manifest.json); "
                       f"{EXPORT_HINT}.")
    path = folder / "manifest.json"
    if not path.is_file():
        raise S2SError(f"'{folder}' has no manifest.json, so it is not an s2s ONNX export; {EXPORT_HINT}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise S2SError(f"{path} is not valid JSON ({error}); the export is damaged: export the checkpoint again.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise S2SError(f"{path} has format {found!r}, not {FORMAT!r}; give a folder written by s2s's ONNX export.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise S2SError(f"{path} has format_version {manifest.get('format_version')!r} (written by s2s "
                       f"{manifest.get('s2s_version', '?')}); this s2s reads format_version {FORMAT_VERSION}: export "
                       f"the checkpoint again with this s2s, or install the s2s that wrote it.")
    missing = [key for key in REQUIRED_KEYS if key not in manifest]
    if missing:
        raise S2SError(f"{path} lacks {', '.join(missing)}; the export is incomplete: export the checkpoint again.")
    specials = manifest.get("specials", {"pad": PAD, "unk": UNK, "bos": BOS, "eos": EOS})
    if specials != {"pad": PAD, "unk": UNK, "bos": BOS, "eos": EOS}:
        raise S2SError(f"{path} has special token ids {specials}; this s2s decodes with pad={PAD}, unk={UNK}, "
                       f"bos={BOS}, eos={EOS}.")
    files = manifest["files"]
    unnamed = [key for key in REQUIRED_FILES if not isinstance(files, dict) or not files.get(key)]
    if unnamed:
        raise S2SError(f"{path} names no {', '.join(unnamed)} file under files; export the checkpoint again.")
    names = [files[key] for key in REQUIRED_FILES]
    names += [manifest[side]["model_file"] for side in ("src_tokenizer", "tgt_tokenizer") if "model_file" in manifest[side]]
    absent = [name for name in names if not (folder / name).is_file()]
    if absent:
        raise S2SError(f"ONNX export '{folder}' misses {', '.join(absent)}; copy the whole export folder, or export "
                       f"the checkpoint again.")
    return manifest


def read_side(folder: Path, manifest: dict, side: str) -> tuple:
    """(tokenizer, vocabulary) of side "src" or "tgt"."""
    state = dict(manifest[f"{side}_tokenizer"])
    model_file = state.pop("model_file", None)
    if model_file:
        state["model_proto"] = (folder / model_file).read_bytes()
    try:
        tokenizer = tokenizer_from_state(state)
    except (KeyError, ValueError, RuntimeError) as error:
        raise S2SError(f"ONNX export '{folder}': its {side} tokenizer cannot be rebuilt ({error}); export the "
                       f"checkpoint again.") from None
    path = folder / manifest["files"][f"{side}_vocab"]
    try:
        vocab = Vocab(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, UnicodeDecodeError) as error:
        raise S2SError(f"{path} is not a vocabulary (a JSON list of tokens, specials first): {error}.") from None
    expected = manifest["model"].get(f"{side}_vocab_size")
    if expected is not None and expected != len(vocab):
        raise S2SError(f"{path} holds {len(vocab)} tokens but manifest.json says the model has {expected}; the "
                       f"export folder mixes files of different exports: export the checkpoint again.")
    return tokenizer, vocab
