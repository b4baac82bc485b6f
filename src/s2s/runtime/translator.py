"""OnnxTranslator: an ONNX export (s2s.export) behind the Translator API, decoded by onnxruntime and numpy alone.

It gives the torch Translator's outputs for the same checkpoint and options: the searches are the same code
(s2s.decoding.search, over numpy through s2s.runtime.search), so the two differ only where the graphs' float
arithmetic differs from torch's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

import numpy as np

from s2s.config import DECODE_MAXIMUM, DecodeConfig, config_from_dict
from s2s.data.readers import check_path
from s2s.data.tokenizers import same_tokenization, tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.decoding.translation import BatchTranslator, check_decode_options
from s2s.errors import S2SError
from s2s.pretrained import MODEL_FILE, is_pretrained_folder, looks_like_a_name, resolve
from s2s.runtime.graphs import decoder_graph, encoder_graph, model_spec, state_names
from s2s.runtime.manifest import check_files, read_manifest, read_side
from s2s.runtime.model import PRECISIONS, OnnxEnsemble, OnnxModel, count_weights, import_onnxruntime
from s2s.runtime.search import beam_search, greedy_search, pad
from s2s.runtime.weights import read_checkpoint


def check_onnx_flags(precision: str, device: str) -> None:
    """S2SError unless the onnx engine runs --precision `precision` on --device `device` (the flags of the commands
    that take --engine onnx: translate, evaluate, serve)."""
    if precision not in PRECISIONS:
        raise S2SError(f"--engine onnx runs --precision fp32 or int8, not {precision} (bf16 and int8-linear are the "
                       f"torch engine's).")
    if device not in ("auto", "cpu"):
        raise S2SError(f"--engine onnx runs on the CPU; drop --device {device}, or use --engine torch.")


class OnnxTranslator(BatchTranslator):
    def __init__(self, model, src_tokenizer, tgt_tokenizer, src_vocab: Vocab, tgt_vocab: Vocab,
                 decode: DecodeConfig | None = None, max_input_tokens: int = 400, precision: str = "fp32"):
        """model: an OnnxModel, an OnnxEnsemble, or any step model of s2s.runtime.search."""
        self.model, self.precision = model, precision
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.decode = decode or DecodeConfig()
        self.device = "cpu"
        self.max_input_tokens = max_input_tokens
        self.checkpoint: dict = {}  # from_export: path, step, epoch, the exported checkpoint, the manifest

    @classmethod
    def from_export(cls, path, precision: str = "fp32", threads: int | None = None) -> "OnnxTranslator":
        """A translator for one export folder, or for an ensemble when `path` is a list of several (their
        log-probabilities are averaged at every step; they must share tokenizers and vocabularies). A pretrained
        model's folder or short name (s2s pretrained lists them) stands for its export: the graphs are built in memory
        from its model.pt, without torch or onnx. precision: fp32, or int8 (the graphs quantized at load). threads:
        onnxruntime's intra-op threads (default: OMP_NUM_THREADS when set, else every CPU core this process may use).
        The decode: defaults are the first export's."""
        import_onnxruntime()
        if precision not in PRECISIONS:
            raise S2SError(f"the onnx engine runs precision fp32 or int8, not {precision!r} (bf16 and int8-linear are "
                           f"the torch engine's).")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise S2SError(f"threads must be at least 1 (got {threads!r}), or None for every usable CPU core.")
        given = list(path) if isinstance(path, (list, tuple)) else [path]
        for folder in given:
            check_path(folder, "OnnxTranslator.from_export: path", "a folder written by s2s export")
        folders = [export_folder(p) for p in given]
        if not folders:
            raise S2SError("no export folder given; pass at least one folder written by s2s's ONNX export.")
        members = [read_member(folder, precision, threads) for folder in folders]
        first = members[0]
        for folder, member in zip(folders[1:], members[1:]):
            for side in ("src", "tgt"):
                (tokenizer, vocab), (other_tokenizer, other_vocab) = first.sides[side], member.sides[side]
                if other_vocab.tokens != vocab.tokens or not same_tokenization(other_tokenizer, tokenizer):
                    raise S2SError(f"exports '{folders[0]}' and '{folder}' have different {side} vocabularies or "
                                   f"tokenizers, so they cannot be ensembled; ensemble exports of one run, or of runs "
                                   f"that share the same data and tokenizer settings.")
        (src_tokenizer, src_vocab), (tgt_tokenizer, tgt_vocab) = first.sides["src"], first.sides["tgt"]
        for member in members:  # before the first line: S2SError, not a traceback
            member.model.check(len(src_vocab), len(tgt_vocab))
            member.check_files()
        defaults = first.manifest.get("decode", {})  # the checkpoint config's decode: section
        decode = DecodeConfig(**{f.name: defaults[f.name] for f in fields(DecodeConfig) if f.name in defaults})
        try:  # before the first line: a default out of range is the manifest's fault (a beam above the vocabulary
            # is not: serve clamps it, as for a checkpoint)
            check_decode_options(DECODE_MAXIMUM["beam"], **{key: getattr(decode, key) for key in DECODE_MAXIMUM})
        except S2SError as error:
            raise S2SError(f"{first.manifest_path}: its decode defaults are not usable ({error}); export the "
                           f"checkpoint again.") from None
        models = [member.model for member in members]
        translator = cls(models[0] if len(models) == 1 else OnnxEnsemble(models), src_tokenizer, tgt_tokenizer,
                         src_vocab, tgt_vocab, decode, precision=precision)
        counts = [member.parameters for member in members]
        translator.checkpoint = {"path": str(folders[0]) if len(folders) == 1 else [str(f) for f in folders],
                                 **first.source, "manifest": first.manifest,
                                 "parameters": None if None in counts else sum(counts)}  # fp32 weights
        return translator

    def _search(self, ids: list[list[int]], beam: int, nbest: int, length_penalty: float, max_len_ratio: float,
                return_attention: bool, no_repeat_ngram: int, prefixes: list[list[int]] | None = None,
                sampling=None) -> list[list[tuple]]:
        """Greedy (beam 1) or beam search over one batch: per source, (ids, score, log_prob, attention) best first.
        Prefixes and sampling (above temperature 0) are the torch engine's: an S2SError names the flag."""
        if prefixes is not None or sampling is not None:
            flag, what = ("--prefix", "force target prefixes") if prefixes is not None else \
                ("--sample", "sample translations (but at --temperature 0, greedy)")
            raise S2SError(f"{flag} ({flag[2:]}= in the Python API): the onnx engine does not {what}; use --engine "
                           f"torch (s2s.Translator) for {flag}.")
        src, src_lengths = pad(ids)
        model = self.search_model()
        if beam == 1:
            return [[(tokens, score, score, attn)] for tokens, score, attn in
                    greedy_search(model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram)]
        return [[(h.tokens, h.score, h.log_prob, h.attention) for h in hyps] for hyps in
                beam_search(model, src, src_lengths, beam, nbest, length_penalty, max_len_ratio, return_attention,
                            no_repeat_ngram)]



def export_folder(path) -> Path:
    """The folder `path` names: an export folder as it is; a pretrained model's folder, or its short name, for the
    graphs read_member builds from its model.pt."""
    folder = Path(path)
    if not folder.exists() and looks_like_a_name(str(path)):
        folder = resolve(path)
    return folder


@dataclass
class Member:
    """One export read back: its tokenizers and vocabularies by side, its sessions, its manifest (for a pretrained
    folder, the one s2s export would write, without files), the number of its weights (None: not known)."""

    sides: dict
    model: OnnxModel
    manifest: dict
    manifest_path: Path
    parameters: int | None
    check_files: Callable[[], None] = lambda: None

    @property
    def source(self) -> dict:
        source = self.manifest.get("source", {})
        return {"step": source.get("step"), "epoch": source.get("epoch"), "exported_from": source.get("checkpoint")}


def read_member(folder: Path, precision: str, threads: int | None) -> Member:
    """An export folder (manifest.json, graphs, vocabularies, tokenizers), or a pretrained model's folder, whose
    graphs are built in memory from its model.pt (s2s.runtime.graphs): the same graphs s2s export writes."""
    if folder.is_dir() and not (folder / "manifest.json").exists() and is_pretrained_folder(folder):
        return read_pretrained(folder, precision, threads)
    manifest = read_manifest(folder)
    sides = {side: read_side(folder, manifest, side) for side in ("src", "tgt")}
    model = OnnxModel(folder / manifest["files"]["encoder"], folder / manifest["files"]["decoder"], manifest["states"],
                      threads, precision)
    counts = [count_weights(folder / manifest["files"][graph]) for graph in ("encoder", "decoder")]
    return Member(sides, model, manifest, folder / "manifest.json", None if None in counts else sum(counts),
                  lambda: check_files(folder, manifest))


def one_at_a_time(spec, weights: dict):
    """The encoder's serialized graph, then the decoder's, each built when its session is about to load: the
    encoder's bytes are gone before the decoder's session loads, and the weights once both graphs hold them (the
    peak memory of a cold start, docs/deploy.md)."""
    yield encoder_graph(spec, weights)
    decoder = decoder_graph(spec, weights)
    weights.clear()
    yield decoder


def read_pretrained(folder: Path, precision: str, threads: int | None) -> Member:
    """A pretrained model's folder as an export: its model.pt read without torch, the graphs built in memory."""
    path = folder / MODEL_FILE
    payload = read_checkpoint(path)
    config = config_from_dict(payload.get("config"), source=f"config inside checkpoint {path}")
    weights = payload.get("model")
    if not isinstance(weights, dict) or not all(isinstance(value, np.ndarray) for value in weights.values()):
        raise S2SError(f"checkpoint '{path}' holds no weights s2s can read; copy the model's folder again.")
    spec = model_spec(config.model, weights, f"checkpoint '{path}'")
    if precision == "int8":  # quantization needs float32 initializers, not float16 ones behind a Cast
        weights = {name: value.astype(np.float32) for name, value in weights.items()}
    sides = {}
    for side in ("src", "tgt"):
        try:
            sides[side] = tokenizer_from_state(payload[f"{side}_tokenizer"]), Vocab(payload[f"{side}_vocab"])
        except (S2SError, KeyError, ValueError, TypeError, AttributeError, RuntimeError) as error:
            raise S2SError(f"checkpoint '{path}': its {side} tokenizer or vocabulary cannot be rebuilt ({error}); copy "
                           f"the model's folder again.") from None
    parameters = sum(value.size for value in {id(value): value for value in weights.values()}.values())  # tied: once
    source = {"checkpoint": str(path), "step": payload.get("step"), "epoch": payload.get("epoch"), "run": config.name}
    graphs = one_at_a_time(spec, weights)
    del weights, payload  # the generator holds the weights now, and lets go of them once both graphs are built
    model = OnnxModel(folder / f"{MODEL_FILE} [encoder]", folder / f"{MODEL_FILE} [decoder]", state_names(spec),
                      threads, precision, graphs=graphs)
    manifest = {"model": {"name": config.model.resolved_name, **asdict(spec),
                          "src_vocab_size": len(sides["src"][1]), "tgt_vocab_size": len(sides["tgt"][1])},
                "states": state_names(spec), "decode": asdict(config.decode),
                "source": source,
                "data": {"dataset": config.data.dataset, "src": config.data.src, "tgt": config.data.tgt}}
    return Member(sides, model, manifest, path, parameters)
