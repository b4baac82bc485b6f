"""Training a language model: the trainer of translation models on one language's text, with perplexity as the
validation score. Sentence by sentence by default; with train.bptt > 0 the training text is one stream in
train.batch_tokens // train.bptt rows, cut into windows of bptt tokens, and the state at the end of a window starts
the next one, detached from its graph (truncated backpropagation through time: gradients reach back at most bptt steps).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from s2s.config import Config
from s2s.data.batching import TextBatch, gather_text_batch, stream_window, stream_windows, text_stream, token_batches
from s2s.errors import S2SError
from s2s.evaluation.perplexity import text_nll
from s2s.models.lm import detach_state
from s2s.registry import MODELS, import_user_modules
from s2s.training.trainer import Trainer


class LanguageModelTrainer(Trainer):
    monolingual = True

    def __init__(self, config: Config, run_dir: Path, log=None, resume: dict | None = None,
                 init_from: str | Path | None = None):
        self.carried = None  # stream mode: the state the next window starts from (None: zeros)
        self._stream: tuple[int, np.ndarray | None] = (0, None)  # (epoch, its training stream)
        super().__init__(config, run_dir, log, resume, init_from)
        if config.train.bptt and self.ranks.world_size > 1:
            raise S2SError("train.bptt (stream mode) carries each row's state through the whole text, which data-parallel "
                           "processes would cut apart; train it in one process, or sentence by sentence (train.bptt: 0).")

    def check_task(self, config: Config) -> None:
        name = config.model.resolved_name
        if config.train.early_stopping_metric != "loss":
            raise S2SError(f"'train.early_stopping_metric' is 'bleu', but {name} is a language model, scored by "
                           f"perplexity; set train.early_stopping_metric: loss.")
        if config.train.teacher_forcing < 1.0:
            raise S2SError(f"'train.teacher_forcing' applies to translation models; {name} is a language model, whose "
                           f"inputs are the text itself. Set train.teacher_forcing: 1.0.")

    # ---- batches ------------------------------------------------------------------------------
    def rows(self) -> int:
        """Stream mode: parallel rows of the stream, so that a window holds about train.batch_tokens tokens."""
        return max(1, self.config.train.batch_tokens // self.config.train.bptt)

    def stream(self, epoch: int) -> np.ndarray:
        """The epoch's training text as a stream (rows, width) (built once; anew per epoch only with sampled subwords)."""
        if self._stream[1] is None or (self.config.data.subword_alpha and self._stream[0] != epoch):
            self._stream = (epoch, text_stream(self.epoch_ids(epoch)[1], self.rows()))
        return self._stream[1]

    def epoch_batches(self, epoch: int) -> list:
        """Sentence mode: this rank's seeded token batches of sentence indices. Stream mode: the windows' start
        columns, in order (the carried state needs them in order)."""
        train = self.config.train
        if train.bptt:
            return stream_windows(self.stream(epoch).shape[1], train.bptt)
        ids = self.epoch_ids(epoch)[1]
        return self.ranks.shard(token_batches(ids.lengths, ids.lengths, train.batch_tokens, seed=train.seed * 1000 + epoch))

    def batch_maker(self, epoch: int, pin: bool):
        bptt = self.config.train.bptt
        if not bptt:
            ids = self.epoch_ids(epoch)[1]
            return lambda indices: gather_text_batch(ids, indices, pin)
        if self.batch_in_epoch == 0:
            self.carried = None  # each epoch's stream starts from a zero state
        stream = self.stream(epoch)
        return lambda start: stream_window(stream, start, bptt, pin)

    def batch_loss(self, batch: TextBatch) -> torch.Tensor:
        train = self.config.train
        loss, state = self.train_model(batch.tokens_in, self.carried, targets=batch.tokens_out,
                                       label_smoothing=train.label_smoothing)
        if train.bptt:
            self.carried = detach_state(state)  # the next window starts here; its gradients stop here
        return loss

    # ---- checkpoints: stream mode keeps the carried state, so that a resumed run goes on exactly -----------------
    def checkpoint_payload(self, with_optimizer: bool) -> dict:
        payload = super().checkpoint_payload(with_optimizer)
        if with_optimizer and self.carried is not None:
            payload["trainer"]["carried_state"] = self.carried
        return payload

    def _restore(self, payload: dict) -> None:
        super()._restore(payload)
        carried = payload["trainer"].get("carried_state")
        if carried is not None:
            self.carried = tuple(s.to(self.device) for s in carried) if isinstance(carried, tuple) else carried.to(self.device)

    # ---- validation: perplexity ---------------------------------------------------------------
    def validation_loss(self, model: nn.Module | None = None) -> tuple[float, int]:
        train = self.config.train
        model = self.model if model is None else model
        nll, tokens = text_nll(model, self.corpus.splits["valid"].tgt_ids, train.bptt, train.batch_tokens, self.device, self.amp)
        return nll / tokens, tokens

    def validate(self, model: nn.Module) -> dict:
        loss, _ = self.validation_loss(model)
        return {"valid_loss": round(loss, 4), "valid_ppl": round(math.exp(min(loss, 50)), 3)}


def make_trainer(config: Config, run_dir: Path, log=None, resume: dict | None = None,
                 init_from: str | Path | None = None) -> Trainer:
    """The trainer for the config's model: a LanguageModelTrainer when its registry task is "language_model"."""
    import_user_modules(config.imports)
    trainer = LanguageModelTrainer if MODELS.task(config.model.resolved_name) == "language_model" else Trainer
    return trainer(config, run_dir, log, resume, init_from)
