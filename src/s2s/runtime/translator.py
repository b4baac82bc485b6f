"""OnnxTranslator: an ONNX export (s2s.export) behind the Translator API, decoded by onnxruntime and numpy alone.

It gives the torch Translator's outputs for the same checkpoint and options: the searches are the same step for step
(s2s.runtime.search), so the two differ only where the graphs' float arithmetic differs from torch's.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from s2s.config import DECODE_MAXIMUM, DecodeConfig
from s2s.data.readers import check_path
from s2s.data.vocab import Vocab
from s2s.decoding.translation import BatchTranslator, check_decode_options
from s2s.errors import S2SError
from s2s.runtime.manifest import check_files, read_manifest, read_side
from s2s.runtime.model import PRECISIONS, OnnxEnsemble, OnnxModel, count_weights, import_onnxruntime
from s2s.runtime.search import beam_search, greedy_search, pad


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
        log-probabilities are averaged at every step; they must share tokenizers and vocabularies). precision:
        fp32, or int8 (the graphs quantized at load). threads: onnxruntime's intra-op threads (default:
        OMP_NUM_THREADS when set, else every CPU core this process may use). The decode: defaults are the first export's."""
        import_onnxruntime()
        if precision not in PRECISIONS:
            raise S2SError(f"the onnx engine runs precision fp32 or int8, not {precision!r} (bf16 and int8-linear are "
                           f"the torch engine's).")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise S2SError(f"threads must be at least 1 (got {threads!r}), or None for every usable CPU core.")
        given = list(path) if isinstance(path, (list, tuple)) else [path]
        for folder in given:
            check_path(folder, "OnnxTranslator.from_export: path", "a folder written by s2s export")
        folders = [Path(p) for p in given]
        if not folders:
            raise S2SError("no export folder given; pass at least one folder written by s2s's ONNX export.")
        manifests = [read_manifest(folder) for folder in folders]
        (src_tokenizer, src_vocab), (tgt_tokenizer, tgt_vocab) = (read_side(folders[0], manifests[0], side)
                                                                  for side in ("src", "tgt"))
        for folder, manifest in zip(folders[1:], manifests[1:]):
            for side, vocab, tokenizer in (("src", src_vocab, src_tokenizer), ("tgt", tgt_vocab, tgt_tokenizer)):
                other_tokenizer, other_vocab = read_side(folder, manifest, side)
                if other_vocab.tokens != vocab.tokens or other_tokenizer.state() != tokenizer.state():
                    raise S2SError(f"exports '{folders[0]}' and '{folder}' have different {side} vocabularies or "
                                   f"tokenizers, so they cannot be ensembled; ensemble exports of one run, or of runs "
                                   f"that share the same data and tokenizer settings.")
        models = [OnnxModel(folder / manifest["files"]["encoder"], folder / manifest["files"]["decoder"],
                            manifest["states"], threads, precision) for folder, manifest in zip(folders, manifests)]
        for folder, manifest, member in zip(folders, manifests, models):  # before the first line: S2SError, not a traceback
            member.check(len(src_vocab), len(tgt_vocab))
            check_files(folder, manifest)
        manifest = manifests[0]
        defaults = manifest.get("decode", {})  # the checkpoint config's decode: section
        decode = DecodeConfig(**{f.name: defaults[f.name] for f in fields(DecodeConfig) if f.name in defaults})
        try:  # before the first line: a default out of range is the manifest's fault (a beam above the vocabulary
            # is not: serve clamps it, as for a checkpoint)
            check_decode_options(DECODE_MAXIMUM["beam"], **{key: getattr(decode, key) for key in DECODE_MAXIMUM})
        except S2SError as error:
            raise S2SError(f"{folders[0] / 'manifest.json'}: its decode defaults are not usable ({error}); export the "
                           f"checkpoint again.") from None
        translator = cls(models[0] if len(models) == 1 else OnnxEnsemble(models), src_tokenizer, tgt_tokenizer,
                         src_vocab, tgt_vocab, decode, precision=precision)
        source = manifest.get("source", {})
        counts = [count_weights(folder / m["files"][graph]) for folder, m in zip(folders, manifests)
                  for graph in ("encoder", "decoder")]
        translator.checkpoint = {"path": str(folders[0]) if len(folders) == 1 else [str(f) for f in folders],
                                 "step": source.get("step"), "epoch": source.get("epoch"),
                                 "exported_from": source.get("checkpoint"), "manifest": manifest,
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
        if beam == 1:
            return [[(tokens, score, score, attn)] for tokens, score, attn in
                    greedy_search(self.model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram)]
        return [[(h.tokens, h.score, h.log_prob, h.attention) for h in hyps] for hyps in
                beam_search(self.model, src, src_lengths, beam, nbest, length_penalty, max_len_ratio, return_attention,
                            no_repeat_ngram)]

