"""The trainer: teacher-forced (or scheduled-sampling) training on token batches, validation (loss, perplexity, BLEU),
checkpoints, early stopping. training/lm_trainer.py extends it to language models."""

from __future__ import annotations

import contextlib
import json
import math
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from s2s.checkpoint import checkpoint_name, load_checkpoint, save_checkpoint
from s2s.config import Config, apply_overrides, config_from_dict, load_config, override_origins, save_config
from s2s.data.batching import Batch, gather_batch, token_batches
from s2s.data.corpus import Corpus, build_corpus, sampled_training_ids
from s2s.data.token_ids import TokenIds
from s2s.data.tokenizers import tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.decoding.alignment import WORD_START
from s2s.decoding.translator import Translator
from s2s.device import amp_choice, autocast, keep_freed_memory, limit_onednn_cache
from s2s.errors import S2SError
from s2s.evaluation.metrics import corpus_scores
from s2s.models import build_model, count_parameters
from s2s.models.decoder import pad_optimizer_state
from s2s.training.embeddings import freeze_embeddings, load_embeddings
from s2s.progress import progress
from s2s.registry import import_user_modules
from s2s.specials import UNK
from s2s.training.distributed import Ranks
from s2s.training.loss import model_loss
from s2s.training.schedule import PER_UPDATE, build_scheduler, teacher_forcing_ratio
from s2s.training.tensorboard import TensorBoardLog


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, device: torch.device,
                   kind: str = "adam") -> torch.optim.Adam:
    """Adam (kind "adam": weight_decay is L2 on the gradient) or AdamW (kind "adamw": decoupled weight decay); the
    fused kernel (one pass over each parameter, 4x faster than the default per-tensor loop on CPU) where torch has one
    for the device."""
    fused = device.type in ("cpu", "cuda")
    return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay, fused=fused,
                            decoupled_weight_decay=kind == "adamw")


LOW_COVERAGE = 0.5  # below this share of known training tokens, --init-from's vocabulary does not fit the data


def vocabulary_coverage(corpus: Corpus) -> dict[str, float]:
    """{side: the share of the training split's tokens that are not <unk>} for each side that has tokens. A bare
    word-start piece (SentencePiece's '▁' before a word it splits off) is not counted: it is known to every
    vocabulary and says nothing of the word."""
    train = corpus.splits["train"]
    shares = {}
    for side, token_ids, vocab in (("source", train.src_ids, corpus.src_vocab), ("target", train.tgt_ids, corpus.tgt_vocab)):
        bare = [i for i, token in enumerate(vocab.tokens) if token and not token.strip(WORD_START)]
        ids = token_ids.ids[~np.isin(token_ids.ids, bare)] if bare else token_ids.ids
        if len(ids):
            shares[side] = 1.0 - float((ids == UNK).mean())
    return shares


def coverage_warning(shares: dict[str, float], init_from: str) -> str | None:
    """The log line for an --init-from checkpoint whose vocabulary covers under LOW_COVERAGE of a side's training
    tokens (the rest are <unk>: the model learns to write <unk>), or None."""
    low = {side: share for side, share in shares.items() if share < LOW_COVERAGE}
    if not low:
        return None
    covered = ", ".join(f"{100 * share:.1f} % of the {side} training tokens" for side, share in shares.items())
    return (f"warning: the vocabularies of --init-from {init_from} cover {covered}; the rest are <unk>, so fine-tuning "
            f"on this data trains the model to read and write <unk> (a BLEU near 0). Fine-tune a checkpoint trained on "
            f"this language pair and tokenization, or train a new model without --init-from, which learns its "
            f"vocabularies from this data.")


def vocabularies_from_state(state: dict) -> tuple:
    """(src_tokenizer, tgt_tokenizer, src_vocab, tgt_vocab) from a Trainer.vocabulary_state() (or a checkpoint)."""
    return (tokenizer_from_state(state["src_tokenizer"]), tokenizer_from_state(state["tgt_tokenizer"]),
            Vocab(state["src_vocab"]), Vocab(state["tgt_vocab"]))


class StepResult(NamedTuple):
    """One training step (one update), as Trainer.train_step returns it. The tensors stay on the device: reading them
    waits for the GPU, so the training loop reads a window of steps at once (Trainer.read_steps)."""

    loss: torch.Tensor  # () this rank's summed loss over the update's batches
    tokens: int  # non-padding target tokens of all ranks' batches of the update
    grads_finite: torch.Tensor  # () bool, the same on every rank; False: the update was skipped on the device
    step: int


class Trainer:
    monolingual = False  # the data's target side only (language models)

    def __init__(self, config: Config, run_dir: Path, log=None, resume: dict | None = None,
                 init_from: str | Path | None = None):
        """resume: a last.pt payload; training continues exactly where it stopped (weights, optimizer,
        schedule, RNG states, position in the epoch's batches).
        init_from: a checkpoint (file, run folder or pretrained name) to fine-tune: a new run starts from its weights,
        tokenizers and vocabularies, on the config's data, with a fresh optimizer and schedule at step 0. The config's
        model shape and tokenizer/vocabulary settings must be the checkpoint's (check_init_config).

        Inside distributed.process_group (torchrun) this process is one rank of a data-parallel job: it trains on its
        share of each epoch's batches, and only rank 0 logs, validates and writes the run folder."""
        self.config, self.run_dir = config, Path(run_dir)
        self.ranks = Ranks.current()
        self.log = log or (lambda message: tqdm.write(message, file=sys.stderr))
        if not self.ranks.is_main:
            self.log = lambda message: None  # rank 0 logs for the whole job
        train = config.train
        seed_everything(train.seed)
        if train.threads:
            torch.set_num_threads(train.threads)
        import_user_modules(config.imports)
        self.device = self.ranks.device(train.device)
        keep_freed_memory()  # large CPU tensors reused rather than page-faulted in again at every step
        limit_onednn_cache()  # oneDNN's cache of per-shape LSTM/bf16 primitives doubled LSTM training's memory
        self.amp, amp_reason = amp_choice(train.amp, self.device)
        if resume is not None and init_from is not None:
            raise ValueError("resume continues a run, init_from starts a new one: give one of them")
        self.init_from = str(init_from) if init_from is not None else None
        start = load_checkpoint(init_from) if init_from is not None else None  # the checkpoint to fine-tune
        if start is not None:
            check_init_config(config, start, self.init_from)
        vocabularies = None
        if resume is not None or start is not None:  # the run's (checkpoint's) tokenizers and vocabularies, not new ones
            vocabularies = vocabularies_from_state(resume if resume is not None else start)
        elif not self.ranks.is_main:  # rank 0 learns them once (below); the other ranks wait for them here
            vocabularies = vocabularies_from_state(self.ranks.broadcast(None))
        self.check_task(config)
        self.corpus: Corpus = build_corpus(config.data, log=self.log, vocabularies=vocabularies, monolingual=self.monolingual)
        if resume is None and start is None and self.ranks.is_main:
            self.ranks.broadcast(self.vocabulary_state())
        if train.valid_beam > len(self.corpus.tgt_vocab):
            raise S2SError(f"'train.valid_beam' {train.valid_beam} is larger than the target vocabulary "
                           f"({len(self.corpus.tgt_vocab)} tokens); set it to at most {len(self.corpus.tgt_vocab)}.")
        self.model = build_model(config.model, len(self.corpus.src_vocab), len(self.corpus.tgt_vocab))
        self.embedding_coverage = {}  # {side: (rows found, vocabulary size)} of model.src/tgt_embeddings
        if start is not None:
            self._load_weights(start["model"], f"--init-from {self.init_from}", "fine-tune with the checkpoint's model settings")
            self.log(f"initialised from {self.init_from} (its step {start.get('step', '?')}): its weights, tokenizers and "
                     f"vocabularies; a fresh optimizer and schedule from step 0"
                     + ("; model.src/tgt_embeddings are not read (the embeddings are the checkpoint's)"
                        if config.model.src_embeddings or config.model.tgt_embeddings else ""))
            shares = vocabulary_coverage(self.corpus)
            if self.monolingual:  # a language model's two sides are one text
                shares.pop("source", None)
            low = coverage_warning(shares, self.init_from)
            if low:
                self.log(low)
        elif resume is None:  # a resumed run's weights come from last.pt
            self.embedding_coverage = load_embeddings(self.model, config.model, self.corpus.src_vocab, self.corpus.tgt_vocab, self.log)
        freeze_embeddings(self.model, config.model)
        if train.teacher_forcing < 1.0 and not getattr(self.model, "scheduled_sampling", False):
            raise S2SError(f"'train.teacher_forcing' {train.teacher_forcing} feeds the model's own predictions back in "
                           f"(scheduled sampling), which model {config.model.resolved_name} does not support; set "
                           f"train.teacher_forcing: 1.0.")
        self.model = self.model.to(self.device)
        self.train_model = self.ranks.wrap(self.model)  # what training steps call; self.model is what checkpoints hold
        self.optimizer = make_optimizer(self.model, train.lr, train.weight_decay, self.device, train.optimizer)
        self._sampled: tuple = (0, None)  # (epoch, its sampled training ids) with data.subword_alpha
        planned = self.planned_steps() if train.schedule == "cosine" else 0  # only cosine needs the run's length
        self.scheduler = build_scheduler(train, self.optimizer, planned)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp == torch.float16)
        # the exponential moving average of the weights (train.ema_decay): torch's AveragedModel with its EMA update,
        # a copy of the model whose weights are lerped towards the trained ones after every update (the first copies)
        self.ema = AveragedModel(self.model, multi_avg_fn=get_ema_multi_avg_fn(train.ema_decay)) if train.ema_decay else None
        self.step = self.epoch = 0
        self.batch_in_epoch = 0  # batches of the current epoch already trained on
        self.best = None
        self.bad_validations = 0
        self.nonfinite_in_a_row = self.nonfinite_total = 0
        self.unread: list[StepResult] = []  # steps trained but not yet read back from the device
        self.train_seconds = 0.0
        self.kept: list[tuple[int, float]] = []  # (step, validation metric) of the checkpoints in checkpoints/
        self.stop_signal = 0  # set by SIGINT/SIGTERM: save and stop after the current step
        self.log(f"model {config.model.resolved_name}: {count_parameters(self.model):,} parameters; device {self.device}; "
                 f"{amp_reason}")
        if self.ranks.world_size > 1:
            self.log(f"data parallel: {self.ranks.world_size} processes x train.batch_tokens "
                     f"{train.batch_tokens} = global batch of {self.ranks.world_size * train.batch_tokens} tokens; "
                     f"train.lr {train.lr:g} is used as given (not scaled)")
        if train.accum_steps > 1:
            self.log(f"gradient accumulation: train.accum_steps {train.accum_steps} batches per update, up to "
                     f"{train.accum_steps * self.ranks.world_size * train.batch_tokens} tokens; train.lr {train.lr:g} "
                     f"is used as given (not scaled)")
        if self.ema is not None:
            self.log(f"train.ema_decay {train.ema_decay:g}: validation, best.pt and kept checkpoints use the weights' "
                     f"moving average; the trained weights' scores are logged as valid_*_raw")
        self.metrics_path = self.run_dir / "metrics.jsonl"
        if resume is None:
            refuse_finished_run(self.run_dir)
        else:  # before writing anything: a last.pt that does not fit leaves the run folder as it was
            self._restore(resume)
        if self.ranks.is_main:
            self._write_run_folder()
        self.tensorboard = TensorBoardLog(self.run_dir / "tensorboard") if train.tensorboard and self.ranks.is_main else None

    def check_task(self, config: Config) -> None:
        """Refuse the settings that belong to language models."""
        if config.data.dataset == "text":
            raise S2SError(f"data.dataset 'text' is one language's text, which trains language models (model.name: "
                           f"rnn_lm, lstm_lm or gru_lm), not {config.model.resolved_name}; give parallel data for translation.")
        if config.train.bptt:
            raise S2SError(f"'train.bptt' cuts one language's text into windows for a language model; "
                           f"{config.model.resolved_name} translates sentence pairs, so set train.bptt: 0.")

    # ---- run folder ---------------------------------------------------------------------------
    def _write_run_folder(self) -> None:
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise S2SError(f"cannot create run folder '{self.run_dir}': {error.strerror}. Set train.run_dir to a writable path.") from None
        save_config(self.config, self.run_dir / "config.yaml")
        corpus = self.corpus
        for side, tokenizer, vocab in (("src", corpus.src_tokenizer, corpus.src_vocab), ("tgt", corpus.tgt_tokenizer, corpus.tgt_vocab)):
            (self.run_dir / f"{side}.vocab").write_text("\n".join(vocab.tokens) + "\n", encoding="utf-8")
            state = tokenizer.state()
            if "model_proto" in state:
                (self.run_dir / f"{side}.spm.model").write_bytes(state["model_proto"])
        if self.config.data.dataset == "numbers":  # the generated text, so users can translate and score it
            data_dir = self.run_dir / "data"
            data_dir.mkdir(exist_ok=True)
            for name, split in corpus.splits.items():
                for lang, lines in ((self.config.data.src, split.src_text), (self.config.data.tgt, split.tgt_text)):
                    (data_dir / f"{name}.{lang}").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def _record(self, entry: dict) -> None:
        if not self.ranks.is_main:
            return
        with open(self.metrics_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        if self.tensorboard is not None:
            self.tensorboard.record(entry)

    def vocabulary_state(self) -> dict:
        corpus = self.corpus
        return {"src_vocab": corpus.src_vocab.tokens, "tgt_vocab": corpus.tgt_vocab.tokens,
                "src_tokenizer": corpus.src_tokenizer.state(), "tgt_tokenizer": corpus.tgt_tokenizer.state()}

    def scored_model(self) -> nn.Module:
        """The model that validation scores and best.pt holds: the weights' moving average with train.ema_decay,
        else the trained model."""
        return self.model if self.ema is None else self.ema.module

    def checkpoint_payload(self, with_optimizer: bool) -> dict:
        """with_optimizer (last.pt): the trained weights and everything a resumed run needs, the moving average
        included. Without (best.pt, kept checkpoints): the scored model's weights, for translation."""
        payload = {
            "config": self.config.to_dict(),
            "model": (self.model if with_optimizer else self.scored_model()).state_dict(),
            **self.vocabulary_state(),
            "step": self.step, "epoch": self.epoch, "best": self.best,
            **({"init_from": self.init_from} if self.init_from else {}),
        }
        if with_optimizer:
            payload["trainer"] = {
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "scaler": self.scaler.state_dict(), "batch_in_epoch": self.batch_in_epoch,
                "world_size": self.ranks.world_size,
                "bad_validations": self.bad_validations, "train_seconds": self.train_seconds,
                "nonfinite_total": self.nonfinite_total, "kept": self.kept, "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "python_rng": random.getstate(),
                **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
            }
        return payload

    def _load_weights(self, weights: dict, source: str, fix: str) -> None:
        try:
            self.model.load_state_dict(weights)
        except RuntimeError as error:
            raise S2SError(f"{source} holds weights that do not fit the model the config describes "
                           f"({str(error).splitlines()[0]}); {fix}.") from None

    def _restore(self, payload: dict) -> None:
        if "trainer" not in payload:
            raise S2SError("this checkpoint has no optimizer state (best.pt is for translation); resume from last.pt.")
        state = payload["trainer"]
        self._load_weights(payload["model"], f"last.pt in '{self.run_dir}'",
                           "resume with the run's model settings, or start a new run with --run-dir")
        self.optimizer.load_state_dict(state["optimizer"])  # its settings (lr, weight decay and its kind) win
        saved_kind = "adamw" if self.optimizer.param_groups[0].get("decoupled_weight_decay") else "adam"
        if saved_kind != self.config.train.optimizer:
            self.log(f"train.optimizer is {self.config.train.optimizer}, but last.pt was trained with {saved_kind}: the "
                     f"resumed run continues with {saved_kind} (start a new run, or --init-from, to change it)")
        pad_optimizer_state(self.optimizer)  # a run from before the target vocabulary was padded
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
        elif self.ema is not None:
            self.log("train.ema_decay: last.pt holds no moving average of the weights (the run trained without one); "
                     "it starts from the resumed weights")
        elif "ema" in state:
            self.log("train.ema_decay is 0: the moving average of the weights in last.pt is dropped")
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.best = payload["step"], payload["epoch"], payload["best"]
        self.init_from = payload.get("init_from")  # a fine-tuning run keeps saying what it started from
        self.batch_in_epoch, self.bad_validations = state["batch_in_epoch"], state["bad_validations"]
        self.train_seconds, self.nonfinite_total = state["train_seconds"], state["nonfinite_total"]
        self.kept = [tuple(entry) for entry in state.get("kept", [])]
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        version, internal, gauss = state["python_rng"]
        random.setstate((version, tuple(internal), gauss))
        saved_world_size = state.get("world_size", 1)  # checkpoints from before data-parallel training: 1
        if self.batch_in_epoch and saved_world_size != self.ranks.world_size:
            self.log(f"last.pt was written by {saved_world_size} process(es) and this run has {self.ranks.world_size}: "
                     f"the position within epoch {self.epoch} does not carry over, so that epoch restarts from its beginning")
            self.epoch, self.batch_in_epoch = self.epoch - 1, 0
        self.log(f"resuming at step {self.step}, epoch {self.epoch}, batch {self.batch_in_epoch} of the epoch")
        if self.ranks.is_main:
            self._rewind_metrics()

    def _rewind_metrics(self) -> None:
        """Move the metrics records past the resumed step aside: an interrupted run logs steps after its last.pt,
        which this run repeats; left in place they would log those steps twice (and curves would start over)."""
        if not self.metrics_path.is_file():
            return
        kept, later = [], []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines(keepends=True):
            try:
                step = json.loads(line).get("step", 0)
            except json.JSONDecodeError:
                step = 0  # not ours to judge: keep it
            (later if step > self.step else kept).append(line)
        if later:
            aside = self.metrics_path.with_name("metrics.interrupted.jsonl")
            with open(aside, "a", encoding="utf-8") as handle:
                handle.writelines(later)
            self.metrics_path.write_text("".join(kept), encoding="utf-8")
            self.log(f"metrics.jsonl: {len(later)} record(s) of the interrupted run after step {self.step} moved to "
                     f"{aside.name} (this run repeats those steps)")

    # ---- training -----------------------------------------------------------------------------
    def train_step(self, *batches: Batch) -> StepResult:
        """One update from one batch, or from the train.accum_steps batches whose gradients it accumulates: the loss
        is summed over all their target tokens (of every rank) and divided by their number, as for one batch holding
        them all. Queued on the device without waiting for it (no host-device synchronisation on CUDA).
        A non-finite loss (on any rank) or gradient skips the update, decided on the device; read_steps logs it."""
        self.train_model.train()
        # counted on the host batches, before they move to the device
        tokens = self.ranks.sum([sum(batch.num_tokens for batch in batches)])[0]
        self.optimizer.zero_grad(set_to_none=True)
        summed_loss = None
        for number, batch in enumerate(batches, 1):
            batch = batch.to(self.device)
            with self.ranks.gradient_sync(self.train_model, sync=number == len(batches)):
                with autocast(self.device, self.amp):
                    loss = self.batch_loss(batch)
                # a non-finite loss makes every gradient NaN (and DDP spreads them to all ranks), so that the one check
                # on the gradients below, or fp16's grad scaler, skips the update on every rank
                guard = torch.where(torch.isfinite(loss.detach()), 1.0, math.nan)
                # DDP averages the ranks' gradients, so x world_size makes the sum over the batches (sum of all ranks'
                # token losses) / all tokens; fp16: each batch's loss is scaled, the sum unscaled once below
                self.scaler.scale(loss * guard * self.ranks.world_size / tokens).backward()
            summed_loss = loss.detach() if summed_loss is None else summed_loss + loss.detach()
        self.step += 1
        self.scaler.unscale_(self.optimizer)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.train.clip_norm or float("inf"))
        grads_finite = torch.isfinite(grad_norm)
        if self.scaler.is_enabled():  # fp16: the scaler skips a step with inf/NaN gradients and lowers its scale
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self._optimizer_step_if(grads_finite)
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        if self.config.train.schedule in PER_UPDATE:
            self.scheduler.step()
        return StepResult(summed_loss, tokens, grads_finite, self.step)

    def batch_loss(self, batch: Batch) -> torch.Tensor:
        """The summed training loss of a batch on the device; teacher-forced unless train.teacher_forcing < 1."""
        train = self.config.train
        return model_loss(self.model, self.train_model, batch, train.label_smoothing, teacher_forcing_ratio(train, self.step))

    def batch_maker(self, epoch: int, pin: bool):
        """A function from an entry of epoch_batches(epoch) to the batch it names."""
        src_ids, tgt_ids = self.epoch_ids(epoch)
        return lambda indices: gather_batch(src_ids, tgt_ids, indices, pin)

    def _optimizer_step_if(self, finite: torch.Tensor) -> None:
        """optimizer.step(), skipped on the device where `finite` is False: fused Adam reads a found_inf tensor as
        torch.amp.GradScaler.step hands it over. An optimizer without that input waits for the flag."""
        if not getattr(self.optimizer, "_step_supports_amp_scaling", False):
            if finite:
                self.optimizer.step()
            return
        self.optimizer.found_inf = (~finite).float()
        try:
            self.optimizer.step()
        finally:
            del self.optimizer.found_inf

    def read_steps(self) -> list[tuple[float, int]]:
        """Read the unread steps back from the device (one wait for it): log each skipped update, stop at
        train.max_nonfinite_steps in a row, and return (summed loss of all ranks, target tokens) of the others."""
        steps, self.unread = self.unread, []
        if not steps:
            return []
        losses = self.ranks.sum(torch.stack([result.loss.float() for result in steps]).tolist())
        grads_finite = torch.stack([result.grads_finite for result in steps]).tolist()
        trained = []
        for result, loss, grads_ok in zip(steps, losses, grads_finite):
            if math.isfinite(loss) and (grads_ok or self.scaler.is_enabled()):  # fp16: the scaler's overflow skips are routine
                self.nonfinite_in_a_row = 0
                trained.append((loss, result.tokens))
            else:
                self._skip_nonfinite_step(result.step, loss)
        return trained

    def _skip_nonfinite_step(self, step: int, loss: float) -> None:
        self.nonfinite_in_a_row += 1
        self.nonfinite_total += 1
        limit = self.config.train.max_nonfinite_steps
        self.log(f"step {step}: non-finite loss or gradient (loss {loss}); update skipped "
                 f"({self.nonfinite_in_a_row} in a row, limit {limit})")
        if self.nonfinite_in_a_row >= limit:
            raise S2SError(f"{limit} training steps in a row had a non-finite loss or gradient (step {step}). "
                           f"Lower train.lr (now {self.optimizer.param_groups[0]['lr']:g}), keep train.clip_norm > 0, "
                           f"or set train.amp: none. The last good checkpoint in {self.run_dir} is intact.")

    def _out_of_budget(self) -> bool:
        train = self.config.train
        if train.max_steps and self.step >= train.max_steps:
            return True
        return bool(train.time_budget_minutes) and self.train_seconds >= 60 * train.time_budget_minutes

    def planned_steps(self) -> int:
        """The updates this run will make without early stopping: train.max_steps, else epochs x batches per epoch
        (as in the first epoch; with sampled segmentations later epochs differ by a batch or two)."""
        train = self.config.train
        per_epoch = math.ceil(len(self.epoch_batches(1)) / train.accum_steps)
        return min(train.max_steps or math.inf, train.epochs * per_epoch)

    def epoch_ids(self, epoch: int) -> tuple[TokenIds, TokenIds]:
        """The training pairs' (src_ids, tgt_ids) for this epoch: the fixed encoding, or with data.subword_alpha a
        segmentation sampled with a seed of the run's seed and the epoch (so a resumed run samples the same)."""
        split = self.corpus.splits["train"]
        if not self.config.data.subword_alpha:
            return split.src_ids, split.tgt_ids
        if self._sampled[0] != epoch:
            self._sampled = (epoch, sampled_training_ids(self.corpus, self.config.data, self.config.train.seed * 1000 + epoch))
        return self._sampled[1]

    def epoch_batches(self, epoch: int) -> list:
        """This rank's batches of the epoch (arrays of training-pair indices): the epoch's seeded token batches,
        dealt round-robin over the ranks (all of them in a single process)."""
        train = self.config.train
        src_ids, tgt_ids = self.epoch_ids(epoch)
        return self.ranks.shard(token_batches(src_ids.lengths, tgt_ids.lengths, train.batch_tokens, seed=train.seed * 1000 + epoch))

    def train(self) -> dict:
        """Train until epochs, max_steps, the time budget, early stopping or a signal end it; return a summary."""
        with self._stop_on_signals():
            summary = self._train_loop()
        return summary

    def _train_loop(self) -> dict:
        train = self.config.train
        pin = self.device.type == "cuda"
        stop = self._out_of_budget()
        while not stop and (self.epoch < train.epochs or self.batch_in_epoch):
            if self.batch_in_epoch == 0:
                self.epoch += 1
            batches = self.epoch_batches(self.epoch)
            make_batch = self.batch_maker(self.epoch, pin)
            bar = progress(batches, desc=f"epoch {self.epoch}", unit="batch", leave=False,
                           initial=self.batch_in_epoch, disable=not self.ranks.is_main)
            window_loss = window_tokens = 0.0
            window_start = time.perf_counter()
            # each update takes the next train.accum_steps batches (the epoch's last update what is left)
            for first in range(self.batch_in_epoch, len(batches), train.accum_steps):
                group = batches[first : first + train.accum_steps]
                started = time.perf_counter()
                self.unread.append(self.train_step(*map(make_batch, group)))
                self.batch_in_epoch += len(group)
                logging = self.step % train.log_every == 0
                validating = bool(train.valid_every) and self.step % train.valid_every == 0
                if logging or validating or self.batch_in_epoch == len(batches):  # timed: it waits for the device
                    for loss, tokens in self.read_steps():
                        window_loss += loss
                        window_tokens += tokens
                self.train_seconds += time.perf_counter() - started
                # the ranks agree on these, so that they all stop at the same step (also on a signal to one of them)
                stop_signal, self.train_seconds = self.ranks.max([self.stop_signal, self.train_seconds])
                bar.update(len(group))
                if logging and window_tokens:
                    elapsed = time.perf_counter() - window_start
                    entry = {"step": self.step, "epoch": self.epoch, "train_loss": round(window_loss / window_tokens, 4),
                             "tokens_per_s": round(window_tokens / elapsed, 1), "lr": self.optimizer.param_groups[0]["lr"]}
                    if train.teacher_forcing < 1.0:
                        entry["teacher_forcing"] = round(teacher_forcing_ratio(train, self.step), 4)
                    self._record(entry)
                    bar.set_postfix(loss=f"{entry['train_loss']:.3f}", tok_s=f"{entry['tokens_per_s']:.0f}", refresh=False)
                    window_loss = window_tokens = 0.0
                    window_start = time.perf_counter()
                if self.batch_in_epoch == len(batches):
                    self.batch_in_epoch = 0  # epoch complete: a checkpoint from here starts the next epoch
                if stop_signal:
                    bar.close()
                    return self._save_and_stop_on_signal(stop_signal)
                if validating:
                    stop = self.validate_and_checkpoint()
                if stop or self._out_of_budget():
                    stop = True
                    break
            bar.close()
            if not train.valid_every or self.step % train.valid_every:
                stop = self.validate_and_checkpoint() or stop
        self.log(f"done: {self.step} steps, {self.epoch} epochs, {self.train_seconds / 60:.1f} training minutes; "
                 f"best validation {train.early_stopping_metric} {self._best_value()}; checkpoints in {self.run_dir}")
        return {"best": self.best, "steps": self.step, "epochs": self.epoch, "interrupted": 0}

    def _best_value(self):
        """The best validation metric as logged: BLEU, or the loss (self.best holds it negated, higher is better)."""
        if self.best is None or self.config.train.early_stopping_metric == "bleu":
            return self.best
        return round(-self.best, 4)

    @contextlib.contextmanager
    def _stop_on_signals(self):
        """SIGINT/SIGTERM: finish the current step, save last.pt, stop. A second SIGINT stops at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_stop(signum, frame):
            if self.stop_signal and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self.stop_signal = signum
            self.log(f"{signal.Signals(signum).name}: saving a checkpoint after this step (Ctrl-C again to quit at once)")

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _save_and_stop_on_signal(self, signum: int) -> dict:
        self._save("last.pt", with_optimizer=True)
        self.log(f"stopped at step {self.step} (epoch {self.epoch}, batch {self.batch_in_epoch}); saved "
                 f"{self.run_dir / 'last.pt'}. Continue with: s2s train --resume {self.run_dir}")
        return {"best": self.best, "steps": self.step, "epochs": self.epoch, "interrupted": signum}

    def _save(self, name: str, with_optimizer: bool) -> None:
        self.read_steps()  # a checkpoint counts every skipped step, and none is written past the non-finite limit
        if self.ranks.is_main:  # every rank holds the same weights; rank 0 writes them
            save_checkpoint(self.checkpoint_payload(with_optimizer), self.run_dir / name)

    # ---- validation ---------------------------------------------------------------------------
    @torch.no_grad()
    def validation_loss(self, model: nn.Module | None = None) -> tuple[float, int]:
        """(loss per target token, target tokens) of `model` (the trained model by default) on the validation set."""
        model = self.model if model is None else model
        model.eval()
        split = self.corpus.splits["valid"]
        total, tokens = 0.0, 0
        for indices in token_batches(split.src_ids.lengths, split.tgt_ids.lengths, self.config.train.batch_tokens):
            batch = gather_batch(split.src_ids, split.tgt_ids, indices).to(self.device)
            with autocast(self.device, self.amp):
                total += float(model_loss(model, model, batch))
            tokens += batch.num_tokens
        return total / tokens, tokens

    def translator(self, model: nn.Module | None = None) -> Translator:
        """A Translator of `model` (the trained model by default) with the run's tokenizers and vocabularies."""
        corpus = self.corpus
        model = self.model if model is None else model
        return Translator(model, corpus.src_tokenizer, corpus.tgt_tokenizer, corpus.src_vocab, corpus.tgt_vocab,
                          self.config.decode, self.device)

    def validate(self, model: nn.Module) -> dict:
        """The validation scores of `model`: loss, perplexity, BLEU and chrF."""
        loss, _ = self.validation_loss(model)
        split = self.corpus.splits["valid"]
        hypotheses = self.translator(model).translate(split.src_text, beam=self.config.train.valid_beam, nbest=1)
        result = {"valid_loss": round(loss, 4), "valid_ppl": round(math.exp(min(loss, 50)), 3)}
        if len(split.parts) < 2:
            scores = corpus_scores(hypotheses, split.tgt_text)
            return {**result, "valid_bleu": scores["bleu"], "valid_chrf": scores["chrf"]}
        # several dev sets (data.corpora): each scored on its own; their mean is the metric that chooses
        for name, (start, end) in split.parts.items():
            scores = corpus_scores(hypotheses[start:end], split.tgt_text[start:end])
            result.update({f"valid_bleu_{name}": scores["bleu"], f"valid_chrf_{name}": scores["chrf"]})
        for metric in ("bleu", "chrf"):
            result[f"valid_{metric}"] = round(sum(result[f"valid_{metric}_{name}"] for name in split.parts) / len(split.parts), 2)
        return result

    def validation_scores(self) -> dict:
        """validate() of the scored model (scored_model), and with train.ema_decay the trained model's own scores as
        valid_*_raw beside those of the moving average."""
        scored = self.scored_model()
        result = self.validate(scored)
        if self.ema is not None:
            result.update({f"{key}_raw": value for key, value in self.validate(self.model).items()})
        if self.tensorboard is not None and getattr(getattr(scored, "decoder", None), "attention", None) is not None:
            translations = self.translator(scored).translate_detailed(self.corpus.splits["valid"].src_text[:2], beam=1,
                                                                      return_attention=True)
            for line, translation in enumerate(translations, 1):
                self.tensorboard.attention(f"valid_line_{line}", translation.attention, self.step)
        return result

    def validate_and_checkpoint(self) -> bool:
        """Validate, log, save last (and best); return True when early stopping says stop.
        Rank 0 validates while the other ranks wait for its result, so that all of them take the same decisions.
        The scored model's metric (the moving average's with train.ema_decay) picks best.pt and drives the plateau
        schedule and early stopping."""
        train = self.config.train
        result = self.ranks.broadcast(self.validation_scores() if self.ranks.is_main else None)
        metric = result["valid_bleu"] if train.early_stopping_metric == "bleu" else -result["valid_loss"]
        improved = self.best is None or metric > self.best
        if improved:
            self.best, self.bad_validations = metric, 0
        else:
            self.bad_validations += 1
        if train.schedule == "plateau":
            self.scheduler.step(metric)
        entry = {"step": self.step, "epoch": self.epoch, **result, "lr": self.optimizer.param_groups[0]["lr"],
                 "train_minutes": round(self.train_seconds / 60, 3), "best": improved}
        self._record(entry)
        scores = "".join(f" {name} {result[key]:.2f}" for name, key in (("BLEU", "valid_bleu"), ("chrF", "valid_chrf")) if key in result)
        parts = self.corpus.splits["valid"].parts
        if len(parts) > 1:
            scores += " (mean of " + ", ".join(f"{name} {result[f'valid_bleu_{name}']:.2f}" for name in parts) + ")"
        if "valid_loss_raw" in result:  # train.ema_decay: the scores above are the moving average's
            scores += f"; trained weights: loss {result['valid_loss_raw']:.3f}" + "".join(
                f" {name} {result[key]:.2f}" for name, key in (("BLEU", "valid_bleu_raw"), ("chrF", "valid_chrf_raw")) if key in result)
        self.log(f"epoch {self.epoch} step {self.step}: valid loss {result['valid_loss']:.3f} ppl {result['valid_ppl']:.2f}"
                 f"{scores}{' (best)' if improved else ''}")
        self._save("last.pt", with_optimizer=True)
        if improved:
            self._save("best.pt", with_optimizer=False)
        if train.keep_checkpoints:
            self._keep_checkpoint(metric)
        return bool(train.patience) and self.bad_validations >= train.patience

    def _keep_checkpoint(self, metric: float) -> None:
        """Save checkpoints/step{N}.pt (weights and its validation metric); delete those that are neither among the
        train.keep_checkpoints latest nor among as many best."""
        if not self.ranks.is_main:
            return
        folder = self.run_dir / "checkpoints"
        folder.mkdir(exist_ok=True)
        save_checkpoint({**self.checkpoint_payload(with_optimizer=False), "valid_metric": metric,
                         "metric_name": self.config.train.early_stopping_metric}, folder / checkpoint_name(self.step))
        self.kept.append((self.step, metric))
        n = self.config.train.keep_checkpoints
        latest = sorted(self.kept)[-n:]
        best = sorted(self.kept, key=lambda entry: (-entry[1], -entry[0]))[:n]
        for entry in self.kept:
            if entry not in latest and entry not in best:
                (folder / checkpoint_name(entry[0])).unlink(missing_ok=True)
        self.kept = sorted(set(latest) | set(best))


# What a resumed run cannot change: its weights' shapes and the tokenizers and vocabularies it was trained with.
RESUME_KEEPS = ("model.name", "model.cell", "model.attention", "model.emb_size", "model.hidden_size", "model.layers",
                "model.bidirectional", "model.tie_embeddings", "model.input_feeding", "data.tokenizer",
                "data.sp_model_type", "data.vocab_size", "data.joint_vocab", "data.min_freq", "data.lowercase",
                "data.sp_byte_fallback", "data.sp_split_digits")


def resume_config(run_dir: Path, overrides: list[str], config_path: str | None = None) -> tuple[Config, dict]:
    """The run's own config (plus --set overrides) and its last.pt payload. A different --config is refused with a diff."""
    payload = load_checkpoint(Path(run_dir) / "last.pt")
    saved = config_from_dict(payload["config"], f"config inside {run_dir}/last.pt")
    config = config_from_dict(apply_overrides(saved.to_dict(), overrides), f"config of the run in {run_dir}",
                              override_origins(overrides))
    config.name = saved.name
    if config_path:
        asked = load_config(config_path, overrides)
        asked.name = saved.name
        diff = _config_diff(config.to_dict(), asked.to_dict())
        if diff:
            raise S2SError(f"--config {config_path} differs from the config of the run in {run_dir}:\n  " + "\n  ".join(diff) +
                           "\nResume without --config to keep the run's config, or name the fields to change with --set.")
    origins = override_origins(overrides)
    for key in RESUME_KEEPS:
        section, field = key.split(".")
        before, after = getattr(getattr(saved, section), field), getattr(getattr(config, section), field)
        if before != after:  # only --set changes them here: a different --config was refused above
            raise S2SError(f"{origins.get(key) or origins.get(section) or '--set'}: a resumed run keeps its model's "
                           f"shape, tokenizers and vocabularies, so '{key}' stays {before!r} (asked: {after!r}); train "
                           f"a new run with --run-dir to change it.")
    trained = payload.get("trainer", {})
    if payload.get("epoch", 0) >= config.train.epochs and not trained.get("batch_in_epoch"):
        raise S2SError(f"the run in {run_dir} has already trained {payload['epoch']} epochs (train.epochs is "
                       f"{config.train.epochs}), so there is nothing to continue; ask for more, e.g. --set "
                       f"train.epochs={payload['epoch'] + 10}.")
    if config.train.max_steps and payload.get("step", 0) >= config.train.max_steps:
        raise S2SError(f"the run in {run_dir} has already made {payload['step']} updates (train.max_steps is "
                       f"{config.train.max_steps}), so there is nothing to continue; raise it with --set "
                       f"train.max_steps=N or set it to 0 (no limit).")
    return config, payload


def _config_diff(old: dict, new: dict, prefix: str = "", old_name: str = "run") -> list[str]:
    """One line per differing key ('model.hidden_size: run has 32, --config has 64'), nested sections as dotted keys."""
    lines = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            lines += _config_diff(a, b, f"{prefix}{key}.", old_name)
        elif a != b:
            lines.append(f"{prefix}{key}: {old_name} has {a!r}, --config has {b!r}")
    return lines


def check_init_config(config: Config, payload: dict, given: str) -> None:
    """Refuse to fine-tune the checkpoint `payload` (--init-from `given`) with a config whose model shape or
    tokenizer and vocabulary settings (RESUME_KEEPS) differ from the checkpoint's, with the differences."""
    saved = config_from_dict(payload["config"], f"config inside {given}")

    def kept(c: Config) -> dict:
        return {key: getattr(getattr(c, section), field) for key in RESUME_KEEPS for section, field in [key.split(".")]}

    diff = _config_diff(kept(saved), kept(config), old_name="checkpoint")
    if diff:
        raise S2SError(f"--init-from {given}: the config's model shape, tokenizer or vocabulary settings differ from "
                       f"the checkpoint's:\n  " + "\n  ".join(diff) + "\nFine-tuning keeps the checkpoint's model and "
                       f"vocabularies: set these as the checkpoint has them (change the data, train and decode sections).")


def refuse_finished_run(run_dir: Path) -> None:
    """A new run never writes into a folder that holds another run's checkpoints or metrics (it would mix them)."""
    found = [name for name in ("last.pt", "best.pt", "metrics.jsonl") if (Path(run_dir) / name).exists()]
    if found:
        raise S2SError(f"run folder '{run_dir}' already holds a run ({', '.join(found)}). Continue it with "
                       f"`s2s train --resume {run_dir}`, train into another folder with --run-dir (or "
                       f"--set train.run_dir=...), or delete the folder to start over.")


def run_dir_for(config: Config) -> Path:
    return Path(config.train.run_dir.replace("{name}", config.name))
