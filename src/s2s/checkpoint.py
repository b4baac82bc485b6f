"""Checkpoints: self-contained (weights, config, tokenizers, vocabularies), written atomically, loaded without pickle code."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import torch

from s2s.version import __version__
from s2s.errors import S2SError
from s2s.outputs import replaced_atomically
from s2s.pretrained import MODEL_FILE, resolve
from s2s.specials import SPECIALS

FORMAT_VERSION = 1
PAYLOAD_KEYS = ("config", "model", "src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer")  # what decoding reads
# the zoo's weights whose rows are one per token: (state_dict key, the vocabulary they belong to)
VOCAB_ROWS = (("encoder.embed.weight", "src_vocab"), ("decoder.embed.weight", "tgt_vocab"),
              ("decoder.out.weight", "tgt_vocab"), ("decoder.out.bias", "tgt_vocab"))


def checkpoint_name(step: int) -> str:
    """The file name of a kept validation checkpoint (train.keep_checkpoints) in RUN_DIR/checkpoints/."""
    return f"step{step:07d}.pt"


def checkpoint_bytes(payload: dict) -> memoryview:
    """The checkpoint file's bytes: `payload` with the format and s2s versions, as torch.save writes it."""
    buffer = io.BytesIO()
    torch.save({"format_version": FORMAT_VERSION, "s2s_version": __version__, **payload}, buffer)
    return buffer.getbuffer()


def save_checkpoint(payload: dict, path: str | Path) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: a crash never leaves a half checkpoint."""
    path = Path(path)
    content = checkpoint_bytes(payload)
    try:
        with replaced_atomically(path, binary=True, durable=True) as handle:
            handle.write(content)
    except OSError as error:
        raise S2SError(f"cannot write checkpoint '{path}': {error.strerror or error}. The previous checkpoint there "
                       "is intact; free disk space or choose another train.run_dir.") from None


def checkpoint_file(path: str | Path) -> Path:
    """The file a checkpoint path names: a .pt file as is; a run folder's best.pt, else last.pt; a pretrained
    folder's model.pt; a shipped model's name through s2s.pretrained.resolve. S2SError for a folder with none."""
    path = resolve(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt", MODEL_FILE):
            if (path / name).is_file():
                return path / name
        raise S2SError(f"folder '{path}' holds no best.pt, last.pt or model.pt; pass a .pt file, a run folder "
                       "(runs/NAME) or a pretrained folder (pretrained/NAME).")
    return path


def load_checkpoint(path: str | Path, map_location="cpu", upcast: bool = True) -> dict:
    """Load with weights_only=True (no code runs); refuse files that are not s2s checkpoints of this format.

    `path` is a .pt file, a run folder (its best.pt, else last.pt), a pretrained folder (its model.pt) or the name
    of a shipped pretrained model (s2s.pretrained.resolve). Weights stored as float16 (pretrained models) come back
    as float32, the dtype models are built and run in, unless upcast=False."""
    path = checkpoint_file(path)
    if not path.is_file():
        raise S2SError(f"checkpoint '{path}' does not exist; pass a file such as runs/quickstart/best.pt or a run folder.")
    if not zipfile.is_zipfile(path):
        raise S2SError(f"checkpoint '{path}' is corrupt or truncated, or not a checkpoint at all (s2s checkpoints are "
                       "torch zip files such as runs/NAME/best.pt).")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise S2SError(f"checkpoint '{path}' was refused: it holds objects that could run code when loaded "
                       f"({str(error).splitlines()[0]}). Only load checkpoints written by s2s.") from None
    except Exception as error:  # a damaged file fails in many ways (zip, unpickler, storage errors)
        raise S2SError(f"checkpoint '{path}' is corrupt or truncated and cannot be read ({str(error).splitlines()[0]}). "
                       "Use another checkpoint (best.pt / last.pt) from the run folder.") from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise S2SError(f"'{path}' is a torch file but not an s2s checkpoint (no format_version).")
    if payload["format_version"] != FORMAT_VERSION:
        raise S2SError(f"checkpoint '{path}' has format version {payload['format_version']} (written by s2s "
                       f"{payload.get('s2s_version', '?')}); this s2s {__version__} reads format {FORMAT_VERSION}.")
    return upcast_weights(payload) if upcast else payload


def check_payload(payload: dict, path) -> None:
    """S2SError naming the checkpoint and what disagrees, for a payload a model cannot be built from as it is: a
    missing entry (config, weights, vocabularies, tokenizers), a vocabulary that is not a list of distinct strings
    with the specials first, or one whose size differs from the rows of the zoo's embeddings and output layer in the
    weights (a vocabulary cut short or taken from another run)."""
    missing = [key for key in PAYLOAD_KEYS if key not in payload]
    if missing:
        raise S2SError(f"checkpoint '{path}' lacks {', '.join(missing)}; it is not a complete s2s checkpoint: use the "
                       f"run's best.pt or last.pt, or a pretrained model.")
    wrong = [key for key in ("config", "model", "src_tokenizer", "tgt_tokenizer") if not isinstance(payload[key], dict)]
    if wrong:
        raise S2SError(f"checkpoint '{path}': its {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not a "
                       f"mapping as s2s writes {'it' if len(wrong) == 1 else 'them'}; the checkpoint was altered: use "
                       f"the run's best.pt or last.pt.")
    for side in ("src_vocab", "tgt_vocab"):
        tokens = payload[side]
        if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens) \
                or tokens[: len(SPECIALS)] != SPECIALS or len(set(tokens)) != len(tokens):
            raise S2SError(f"checkpoint '{path}': its {side} is not a vocabulary (a list of distinct token strings, "
                           f"{', '.join(SPECIALS)} first); the checkpoint was altered: use the run's best.pt or last.pt.")
    for key, side in VOCAB_ROWS:
        weight = payload["model"].get(key)
        if torch.is_tensor(weight) and weight.dim() and weight.size(0) != len(payload[side]):
            raise S2SError(f"checkpoint '{path}': its {side} holds {len(payload[side])} tokens but the weights "
                           f"{key} have {weight.size(0)} rows, one per token; the vocabulary was cut short or comes "
                           f"from another run: use the run's best.pt or last.pt, whose vocabularies match its weights.")


def upcast_weights(payload: dict) -> dict:
    """The payload with float16-stored weights ("weights_dtype": "float16", pretrained models) as float32, exactly
    (every float16 value is a float32 value). Models are built and run in float32; load_state_dict would convert
    too, but done here every reader of payload["model"] (averaging, exports) gets float32. "weights_dtype" then
    says float32 and "stored_weights_dtype" what the file held."""
    if payload.get("weights_dtype") != "float16":
        return payload
    model = {key: value.float() if value.is_floating_point() else value for key, value in payload["model"].items()}
    return {**payload, "model": model, "weights_dtype": "float32", "stored_weights_dtype": "float16"}


def kept_checkpoints(run_dir: str | Path) -> list[dict]:
    """The kept validation checkpoints of a run (train.keep_checkpoints): [{"path", "step", "metric"}], by step."""
    folder = Path(run_dir) / "checkpoints"
    paths = sorted(folder.glob("step*.pt")) if folder.is_dir() else []
    if not paths:
        raise S2SError(f"'{run_dir}' has no kept checkpoints in {folder}; train with train.keep_checkpoints: N "
                       f"(e.g. --set train.keep_checkpoints=5), or pass the .pt files to average yourself.")
    kept = []
    for path in paths:
        payload = load_checkpoint(path)
        kept.append({"path": path, "step": payload["step"], "metric": payload.get("valid_metric")})
    return sorted(kept, key=lambda entry: entry["step"])


def select_kept(run_dir: str | Path, last: int = 0, best: int = 0) -> list[Path]:
    """Paths of the `last` latest or the `best` best (by the run's validation metric) kept checkpoints."""
    kept = kept_checkpoints(run_dir)
    chosen = kept[-last:] if last else sorted(kept, key=lambda entry: (-_metric(entry), -entry["step"]))[:best]
    return [entry["path"] for entry in sorted(chosen, key=lambda entry: entry["step"])]


def _metric(entry: dict) -> float:
    return float("-inf") if entry["metric"] is None else entry["metric"]


def average_checkpoints(paths: list[str | Path]) -> dict:
    """A checkpoint whose weights are the element-wise mean of the given checkpoints' weights (Vaswani et al. 2017;
    Junczys-Dowmunt et al. 2016). Everything else (config, vocabularies, step) comes from the last one given."""
    if not paths:
        raise S2SError("nothing to average: give at least one checkpoint.")
    payloads = [load_checkpoint(path) for path in paths]
    for path, payload in zip(paths, payloads):  # an average of a damaged checkpoint would be damaged too
        check_payload(payload, path)
    first = payloads[0]
    for path, payload in zip(paths[1:], payloads[1:]):
        if payload["src_vocab"] != first["src_vocab"] or payload["tgt_vocab"] != first["tgt_vocab"]:
            raise S2SError(f"'{path}' and '{paths[0]}' have different vocabularies; average checkpoints of one run only.")
        shapes = {key: tuple(value.shape) for key, value in payload["model"].items()}
        if shapes != {key: tuple(value.shape) for key, value in first["model"].items()}:
            raise S2SError(f"'{path}' and '{paths[0]}' hold different model shapes; average checkpoints of one run only.")
    averaged = {}
    for key, value in payloads[-1]["model"].items():
        if value.is_floating_point():
            averaged[key] = torch.stack([p["model"][key].float() for p in payloads]).mean(0).to(value.dtype)
        else:  # integer buffers (counters) are not averaged
            averaged[key] = value
    result = {key: value for key, value in payloads[-1].items()
              if key not in ("trainer", "format_version", "s2s_version", "valid_metric", "metric_name", "weights_dtype",
                             "stored_weights_dtype")}  # the mean is float32 however the inputs were stored
    return {**result, "model": averaged, "averaged_from": [str(path) for path in paths]}
