"""An export folder read back: manifest.json checked against the format, and the tokenizers and vocabularies
beside it (a SentencePiece model file goes back into the tokenizer state as its model_proto bytes); check_files
compares every file with the sha256 the manifest records for it (exports since issue 38 record them)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from s2s.data.tokenizers import tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.errors import S2SError
from s2s.specials import BOS, EOS, PAD, SPECIALS, UNK

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
    wrong = [f"{key} ({expected})" for key, kinds, expected in
             (("model", dict, "an object"), ("src_tokenizer", dict, "an object"), ("tgt_tokenizer", dict, "an object"),
              ("states", list, "a list of names"), ("files", dict, "an object"), ("decode", dict, "an object"),
              ("source", dict, "an object"), ("data", dict, "an object"), ("specials", dict, "an object"))
             if key in manifest and not isinstance(manifest[key], kinds)]
    if isinstance(manifest["states"], list) and not all(isinstance(name, str) for name in manifest["states"]):
        wrong.append("states (a list of names)")
    if wrong:
        raise S2SError(f"{path} has the wrong kind of value for {', '.join(wrong)}; the manifest is damaged: export "
                       f"the checkpoint again.")
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
    odd = [name for name in names if not isinstance(name, str) or Path(name).name != name or name in (".", "..")]
    if odd:
        raise S2SError(f"{path} names {odd[0]!r} as one of its files; an export's files are plain names in its folder: "
                       f"export the checkpoint again.")
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
    except (S2SError, KeyError, ValueError, TypeError, AttributeError, RuntimeError) as error:
        raise S2SError(f"ONNX export '{folder}': its {side} tokenizer cannot be rebuilt ({error}); export the "
                       f"checkpoint again.") from None
    path = folder / manifest["files"][f"{side}_vocab"]
    try:
        tokens = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise S2SError(f"{path} is not valid JSON ({error}); the export is damaged: copy the whole export folder "
                       f"again, or export the checkpoint again.") from None
    problem = vocabulary_problem(tokens)
    if problem:
        raise S2SError(f"{path} is not a vocabulary (a JSON list of distinct tokens, specials first): {problem}; "
                       f"export the checkpoint again.")
    vocab = Vocab(tokens)
    expected = manifest["model"].get(f"{side}_vocab_size")
    if expected is not None and expected != len(vocab):
        raise S2SError(f"{path} holds {len(vocab)} tokens but manifest.json says the model has {expected}; the "
                       f"export folder mixes files of different exports: export the checkpoint again.")
    return tokenizer, vocab


def vocabulary_problem(tokens) -> str | None:
    """What makes `tokens` no vocabulary (not a list, a token that is not a string, a repeated token, other specials
    first), or None."""
    if not isinstance(tokens, list):
        return f"it holds {type(tokens).__name__ if tokens is not None else 'null'}, not a list"
    others = [token for token in tokens if not isinstance(token, str)]
    if others:
        return f"{len(others)} of its entries are not strings (the first: {others[0]!r})"
    if tokens[: len(SPECIALS)] != SPECIALS:
        return f"it starts with {tokens[: len(SPECIALS)]}, not {SPECIALS}"
    if len(set(tokens)) != len(tokens):
        seen: set = set()
        repeated = next(token for token in tokens if token in seen or seen.add(token))
        return f"the token {repeated!r} is in it twice"
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_files(folder: Path, manifest: dict) -> None:
    """S2SError naming the first file of the export whose sha256 is not the one manifest.json records for it (a file
    damaged, or copied from another export). Exports written before the manifest recorded checksums have none to
    compare, and pass."""
    recorded = manifest.get("sha256")
    if recorded is None:
        return
    if not isinstance(recorded, dict):
        raise S2SError(f"{folder / 'manifest.json'}: its sha256 entry is not an object of file names and checksums; "
                       f"the manifest is damaged: export the checkpoint again.")
    for name, expected in recorded.items():
        path = folder / str(name)
        if not path.is_file():
            raise S2SError(f"ONNX export '{folder}' misses {name}, which manifest.json lists; copy the whole export "
                           f"folder, or export the checkpoint again.")
        if sha256(path) != expected:
            raise S2SError(f"{path} is not the file this export wrote (its sha256 differs from the one manifest.json "
                           f"records): it is damaged, or comes from another export; copy the whole export folder "
                           f"again, or export the checkpoint again.")
