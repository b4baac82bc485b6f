"""Translator: a checkpoint's model, tokenizers and vocabularies behind `translate(lines)`; one output per input line."""

from __future__ import annotations

import torch

from s2s.checkpoint import check_payload, load_checkpoint
from s2s.config import DecodeConfig, config_from_dict
from s2s.data.batching import pad
from s2s.data.readers import check_lines, check_path
from s2s.data.tokenizers import same_tokenization, tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.decoding.beam import beam_search
from s2s.decoding.common import prefix_tokens
from s2s.decoding.ensemble import Ensemble
from s2s.decoding.greedy import greedy_search
from s2s.decoding.precision import apply_precision
from s2s.decoding.sampling import sample_search
from s2s.decoding.scoring import score_lines
from s2s.decoding.translation import BatchTranslator, Translation  # noqa: F401  (Translation: imported from here too)
from s2s.decoding.translation import check_decode_options
from s2s.device import autocast, resolve_device
from s2s.errors import S2SError
from s2s.models import build_model, count_parameters, no_init
from s2s.registry import MODELS, import_user_modules


def load_model(path) -> tuple:
    """(model in eval mode, checkpoint payload, its Config) from a checkpoint file or run folder. The model is built
    without its random initialisation and takes the weights as the file stores them (float16 ones become float32 in
    load_state_dict's copy): half of the load time of a cold start; the payload's weights stay as stored."""
    payload = load_checkpoint(path, upcast=False)
    check_payload(payload, path)
    config = config_from_dict(payload["config"], source=f"config inside checkpoint {path}")
    import_user_modules(config.imports)
    for side in ("src_tokenizer", "tgt_tokenizer"):  # before any line is read: a tokenizer state that cannot load
        try:
            tokenizer_from_state(payload[side])
        except (S2SError, KeyError, ValueError, TypeError, AttributeError, RuntimeError) as error:
            reason = (f"it has no {error} entry" if isinstance(error, KeyError) else
                      str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__)
            raise S2SError(f"checkpoint '{path}': its {side.replace('_', ' ')} cannot be rebuilt ({reason}); the "
                           f"checkpoint was altered: use the run's best.pt or last.pt.") from None
    with no_init():  # load_state_dict (strict) sets every parameter
        model = build_model(config.model, len(payload["src_vocab"]), len(payload["tgt_vocab"]))
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError as error:  # its first line names the model class; the next ones the keys and shapes
        details = [line.strip() for line in str(error).splitlines()[1:] if line.strip()] or [str(error)]
        raise S2SError(f"checkpoint '{path}': its weights do not fit the model its config describes "
                       f"({'; '.join(details)[:500]}).") from None
    return model.eval(), payload, config


class Translator(BatchTranslator):
    def __init__(self, model, src_tokenizer, tgt_tokenizer, src_vocab: Vocab, tgt_vocab: Vocab,
                 decode: DecodeConfig | None = None, device: torch.device | str = "cpu", max_input_tokens: int = 400,
                 precision: str = "fp32"):
        """precision: fp32, bf16 (autocast, where native), int8 (dynamic quantization of the linear and GRU/LSTM
        layers, CPU) or int8-linear (the linear layers only)."""
        self.model, self.amp = apply_precision(model.to(device).eval(), precision, torch.device(device))
        self.precision = precision
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.decode = decode or DecodeConfig()
        self.device = torch.device(device)
        self.max_input_tokens = max_input_tokens
        self.checkpoint: dict = {}  # from_checkpoint: path, step, epoch and the run's config

    @classmethod
    def from_checkpoint(cls, path, device: str = "auto", precision: str = "fp32") -> "Translator":
        """A translator for one checkpoint, or for an ensemble when `path` is a list of several (their
        log-probabilities are averaged at every step; they must share tokenizers and vocabularies). The decode:
        defaults and the reported config are the first checkpoint's."""
        paths = list(path) if isinstance(path, (list, tuple)) else [path]
        if not paths:
            raise S2SError("no checkpoint given; pass at least one .pt file or run folder.")
        for given in paths:
            check_path(given, "Translator.from_checkpoint: path", "a checkpoint file, run folder or pretrained model's name")
        loaded = [load_model(p) for p in paths]
        model, payload, config = loaded[0]
        if MODELS.task(config.model.resolved_name) == "language_model":
            raise S2SError(f"checkpoint '{paths[0]}' holds a language model ({config.model.resolved_name}), which does not "
                           f"translate; sample from it with s2s generate, score a text with s2s evaluate --text FILE.")
        for other_path, (_, other, _) in zip(paths[1:], loaded[1:]):
            for key in ("src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer"):
                same = other[key] == payload[key] if key.endswith("vocab") else \
                    same_tokenization(tokenizer_from_state(other[key]), tokenizer_from_state(payload[key]))
                if not same:
                    raise S2SError(f"checkpoints '{paths[0]}' and '{other_path}' have different {key.replace('_', ' ')}s, "
                                   f"so they cannot be ensembled; ensemble checkpoints of one run, or of runs that "
                                   f"share the same data and tokenizer settings.")
        if len(loaded) > 1:
            model = Ensemble([m for m, _, _ in loaded])
        translator = cls(model, tokenizer_from_state(payload["src_tokenizer"]), tokenizer_from_state(payload["tgt_tokenizer"]),
                         Vocab(payload["src_vocab"]), Vocab(payload["tgt_vocab"]), config.decode, resolve_device(device),
                         precision=precision)
        translator.checkpoint = {"path": str(paths[0]) if len(paths) == 1 else [str(p) for p in paths],
                                 "step": payload.get("step"), "epoch": payload.get("epoch"), "config": config,
                                 "parameters": count_parameters(model)}  # the fp32 model: int8 packs its weights
        return translator

    def score(self, src_lines: list[str], tgt_lines: list[str], batch_size: int | None = None) -> list[dict]:
        """Forced decoding: per pair, in input order, {"log_prob", "mean", "tokens"} of the target given the source
        (s2s.decoding.scoring.score_lines); batch_size defaults to the checkpoint's decode.batch_size. Both lists
        are checked as translate_detailed checks its lines (s2s.data.readers.check_lines)."""
        src_lines = check_lines(src_lines, "Translator.score: src_lines")
        tgt_lines = check_lines(tgt_lines, "Translator.score: tgt_lines")
        batch_size = self.decode.batch_size if batch_size is None else batch_size
        check_decode_options(len(self.tgt_vocab), batch_size=batch_size)
        return score_lines(self, src_lines, tgt_lines, batch_size)

    def _search(self, ids: list[list[int]], beam: int, nbest: int, length_penalty: float, max_len_ratio: float,
                return_attention: bool, no_repeat_ngram: int, prefixes: list[list[int]] | None = None,
                sampling=None) -> list[list[tuple]]:
        """Greedy (beam 1), beam search or sampling over one batch: per source, (ids, score, log_prob, attention) best
        first (samples: in draw order)."""
        src = pad(ids).to(self.device)
        src_lengths = torch.tensor([len(x) for x in ids])
        prefix = None if prefixes is None else prefix_tokens(prefixes, self.device)
        model = self.search_model()
        with autocast(self.device, self.amp):
            if sampling is not None:
                return [[(tokens, score, score, attn) for tokens, score, attn in samples] for samples in
                        sample_search(model, src, src_lengths, sampling, max_len_ratio, return_attention,
                                      no_repeat_ngram, prefix)]
            if beam == 1:
                return [[(tokens, score, score, attn)] for tokens, score, attn in
                        greedy_search(model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram,
                                      prefix)]
            return [[(h.tokens, h.score, h.log_prob, h.attention) for h in hyps] for hyps in
                    beam_search(model, src, src_lengths, beam, nbest, length_penalty, max_len_ratio,
                                return_attention, no_repeat_ngram, prefix)]
