"""Typed configuration: dataclasses for each config section, YAML loading, `--set` overrides and validation."""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from s2s.errors import S2SError


@dataclass
class DataConfig:
    """Where the parallel text comes from and how it is tokenized."""

    dataset: str = "numbers"  # "numbers" (built-in task), "multi30k", "tatoeba" (everyday German-English), "files" (the
    #   *_src/*_tgt paths), "corpora" (several of these in one run: data.corpora), or "text" (one language: the *_text
    #   paths, for language models; an LM on a parallel dataset models its target side, data.tgt)
    corpora: list = field(default_factory=list)  # dataset "corpora": each entry a dataset name (multi30k, tatoeba) or a
    #   mapping {dataset: multi30k|tatoeba|files, name, weight, data_dir, mirror, train_src, train_tgt, valid_src, ...};
    #   weight N reads that corpus's training pairs N times an epoch; every corpus with a validation split is a dev set,
    #   scored on its own, and their mean BLEU (or the loss over all) chooses the best checkpoint (docs/configs.md)
    src: str = "en"  # language codes, used by multi30k and tatoeba
    tgt: str = "de"
    train_src: str = ""
    train_tgt: str = ""
    valid_src: str = ""
    valid_tgt: str = ""
    test_src: str = ""
    test_tgt: str = ""
    train_text: str = ""  # dataset "text": one sentence per line, one language
    valid_text: str = ""
    test_text: str = ""
    data_dir: str = ""  # where a downloaded dataset lives; empty: data/{dataset} (data/multi30k, data/tatoeba)
    mirror: str = ""  # a local folder to copy a dataset from instead of downloading
    numbers_train: int = 20000  # built-in task sizes
    numbers_valid: int = 500
    numbers_test: int = 1000
    numbers_max_digits: int = 12
    numbers_seed: int = 1234
    tokenizer: str = "sentencepiece"  # a registered tokenizer: sentencepiece, whitespace, treebank, wordpunct, toktok, char
    sp_model_type: str = "bpe"  # bpe or unigram
    sp_byte_fallback: bool = False  # a character SentencePiece did not learn becomes its UTF-8 bytes (pieces <0xNN>),
    #   not <unk>: any text a person types comes through, and the target side can write it back
    sp_split_digits: bool = False  # every digit its own piece, so numbers are copied digit by digit
    vocab_size: int = 8000  # sentencepiece vocabulary size (per side, or shared when joint)
    joint_vocab: bool = False  # one tokenizer and vocabulary for both sides
    min_freq: int = 1  # word/char tokenizers: tokens seen fewer times become <unk>
    train_limit: int = 0  # use only the first N training pairs (0: all); for quick experiments and tests
    max_len: int = 100  # pairs with more tokens than this on either side are dropped from training
    subword_alpha: float = 0.0  # sentencepiece: sample a new segmentation of the training text every epoch
    #   (bpe: BPE-dropout probability, 0.1 in Provilkov et al. 2020; unigram: sampling smoothing, Kudo 2018); 0: off
    subword_sides: str = "both"  # which sides are sampled: both, src or tgt (validation and test stay deterministic)
    lowercase: bool = False
    augment_no_final_punct: float = 0.0  # share of training pairs that lose their final . ! ? on both sides
    #   (text as people type it; data/augment.py); validation and test text never change
    augment_lowercase: float = 0.0  # share of training pairs whose source side is lower-cased (the target keeps its case)
    augment_numbers: float = 0.0  # share of the training pairs with the same numbers on both sides that get other
    #   numbers (1-7 digits), the same on both sides: numbers are copied, not remembered
    augment_names: float = 0.0  # share of the training pairs naming Tom, Mary or John on both sides that get another
    #   name on both sides, half of the time a real one, else one made up for the pair (many scripts and letters): names
    #   are copied, not remembered
    augment_places: float = 0.0  # the same for the cities Boston and Chicago: a real city written alike in German and
    #   English, or one made up for the pair ("Kelobach"), so that "Salzburg" is copied, not translated ("salt castle")
    augment_fragments: float = 0.0  # share of the German-English training pairs (with a noun phrase or a name at the
    #   start of both sides) replaced by that phrase alone, unpunctuated ("Ein kleines Mädchen" - "A little girl",
    #   "Hund" - "dog"): short inputs get short translations instead of "dog dog dog"
    cache: bool = True  # keep the encoded training pairs and the learned tokenizers/vocabularies for later runs
    cache_dir: str = ""  # where (docs/large_corpora.md); empty: $S2S_CACHE, else $XDG_CACHE_HOME/s2s, else ~/.cache/s2s
    workers: int = 0  # processes that tokenize the training text (0: one per core; 1: this process only); corpora of
    #   up to 50,000 pairs are always tokenized in this process. The encoded ids do not depend on it.


AUGMENT_KEYS = tuple(item.name for item in dataclasses.fields(DataConfig) if item.name.startswith("augment_"))  # data.augment_*


@dataclass
class ModelConfig:
    """The network: a registered model name, or cell + attention for the built-in zoo."""

    name: str = ""  # a registered model; empty means "{cell}" or "{cell}_attn" from the two fields below
    cell: str = "gru"  # rnn, lstm or gru
    attention: str = "dot"  # dot or none
    emb_size: int = 256
    hidden_size: int = 512
    layers: int = 1
    bidirectional: bool = True  # each direction has hidden_size/2 units; the decoder starts from [fwd; bwd]
    dropout: float = 0.2
    word_dropout: float = 0.0  # training only: each source and target-input token becomes <unk> with this probability
    tie_embeddings: bool = False  # share target embedding and output weights (needs emb_size == hidden_size)
    input_feeding: bool = False  # feed the last attentional state into the decoder RNN (Luong et al. 2015); needs attention
    src_embeddings: str = ""  # word vectors (word2vec/GloVe/fastText text format) for the source embedding rows they cover
    tgt_embeddings: str = ""  # the same for the target side (a language model's only embedding)
    freeze_embeddings: bool = False  # keep the embedding tables loaded from src/tgt_embeddings fixed during training
    rescale_embeddings: bool = True  # scale loaded vectors to the spread of the table's random init (false: as in the file)

    @property
    def resolved_name(self) -> str:
        if self.name:
            return self.name
        return self.cell if self.attention == "none" else f"{self.cell}_attn"


@dataclass
class TrainConfig:
    """Optimisation, schedule, validation and checkpoints."""

    epochs: int = 10
    max_steps: int = 0  # stop after this many updates (0: no limit)
    time_budget_minutes: float = 0.0  # stop after this much wall time (0: no limit)
    batch_tokens: int = 4000  # target tokens per batch, padding included
    accum_steps: int = 1  # batches per update (gradient accumulation): k batches of batch_tokens make one update,
    #   its loss averaged over all their target tokens; steps, the schedule, logging and checkpoints count updates
    lr: float = 1e-3
    schedule: str = "plateau"  # constant, plateau (halve when the validation metric stalls), inverse_sqrt, cosine
    warmup_steps: int = 0
    plateau_patience: int = 1
    plateau_factor: float = 0.5
    min_lr: float = 1e-5
    optimizer: str = "adam"  # adam (weight_decay is an L2 term added to the gradient, as torch's Adam does) or adamw
    #   (decoupled: each update also shrinks the weights by lr * weight_decay, Loshchilov & Hutter 2019)
    weight_decay: float = 0.0
    clip_norm: float = 1.0  # gradient-norm clipping (0 disables)
    max_nonfinite_steps: int = 5  # stop after this many updates in a row with a non-finite loss or gradient
    label_smoothing: float = 0.0
    ema_decay: float = 0.0  # keep an exponential moving average of the weights, updated after every update with this
    #   decay (e.g. 0.999); validation, best.pt and kept checkpoints use it (0: off)
    teacher_forcing: float = 1.0  # probability that a decoder input is the reference token, not the model's previous
    #   prediction (scheduled sampling, Bengio et al. 2015); 1.0: the whole target in one call; with a schedule, the floor
    teacher_forcing_schedule: str = "constant"  # constant, linear or inverse_sigmoid: decay from 1.0 to teacher_forcing
    teacher_forcing_decay_steps: int = 0  # linear: updates to reach the floor; inverse_sigmoid: updates to get halfway
    bptt: int = 0  # language models: 0 trains sentence by sentence; N > 0 cuts the text, as one stream, into windows
    #   of N tokens (truncated backpropagation through time; the state is carried across windows, detached)
    early_stopping_metric: str = "bleu"  # bleu or loss
    patience: int = 5  # validations without improvement before stopping (0 disables)
    valid_every: int = 0  # validate every N steps (0: once per epoch)
    valid_beam: int = 1  # beam size for validation BLEU
    log_every: int = 50
    seed: int = 1
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    amp: str = "auto"  # auto (bf16/fp16 on CUDA; bf16 on CPUs with AMX or AVX512-BF16, else fp32), none, bf16, fp16
    threads: int = 0  # torch CPU threads (0: torch default)
    keep_checkpoints: int = 0  # also keep the N latest and the N best validation checkpoints (checkpoints/), for s2s average
    tensorboard: bool = False  # also log metrics and validation attention maps to RUN_DIR/tensorboard
    run_dir: str = "runs/{name}"  # {name} is replaced by the config file's stem


@dataclass
class DecodeConfig:
    """Defaults for translation: greedy when beam is 1."""

    beam: int = 1
    nbest: int = 1
    length_penalty: float = 1.0  # score / length**alpha
    max_len_ratio: float = 2.0  # at most max_len_ratio * source tokens + 10 output tokens
    no_repeat_ngram: int = 0  # forbid repeating any n-gram of this many output tokens (0: off)
    batch_size: int = 64  # sentences per decoding batch


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    imports: list = field(default_factory=list)  # modules to import before building (your own registered models)
    name: str = ""  # run name; defaults to the config file's stem

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS = {"data": DataConfig, "model": ModelConfig, "train": TrainConfig, "decode": DecodeConfig}
CHOICES = {
    ("data", "dataset"): ("numbers", "multi30k", "tatoeba", "files", "corpora", "text"),
    ("data", "sp_model_type"): ("bpe", "unigram"),
    ("data", "subword_sides"): ("both", "src", "tgt"),
    ("model", "cell"): ("rnn", "lstm", "gru"),
    ("model", "attention"): ("dot", "none"),
    ("train", "schedule"): ("constant", "plateau", "inverse_sqrt", "cosine"),
    ("train", "early_stopping_metric"): ("bleu", "loss"),
    ("train", "optimizer"): ("adam", "adamw"),
    ("train", "amp"): ("auto", "none", "bf16", "fp16"),
    ("train", "teacher_forcing_schedule"): ("constant", "linear", "inverse_sigmoid"),
}
POSITIVE = {
    ("train", "epochs"), ("data", "vocab_size"), ("data", "max_len"), ("data", "min_freq"), ("model", "emb_size"),
    ("model", "hidden_size"), ("model", "layers"), ("train", "batch_tokens"), ("train", "lr"),
    ("decode", "beam"), ("decode", "nbest"), ("train", "max_nonfinite_steps"), ("decode", "batch_size"), ("decode", "max_len_ratio"),
    ("data", "numbers_max_digits"), ("train", "valid_beam"), ("train", "accum_steps"),
}
NON_NEGATIVE = {
    ("train", "max_steps"), ("train", "time_budget_minutes"), ("train", "clip_norm"),
    ("train", "warmup_steps"), ("train", "patience"), ("train", "valid_every"), ("train", "weight_decay"),
    ("train", "threads"), ("data", "train_limit"), ("data", "workers"), ("data", "numbers_train"), ("data", "numbers_valid"), ("data", "numbers_test"),
    ("decode", "length_penalty"), ("train", "keep_checkpoints"), ("decode", "no_repeat_ngram"),
    ("train", "teacher_forcing_decay_steps"), ("train", "bptt"),
}
# The largest value of each decoding option: the decode: section, the CLI flags and the Python API refuse more. Far
# above any useful setting, they stop work that cannot be meant (a beam of 100000 ran for minutes and took 1.5 GB; beam
# studies go up to 1000). A beam is also at most the target vocabulary, which only a checkpoint knows.
DECODE_MAXIMUM = {"beam": 1000, "nbest": 1000, "length_penalty": 10.0, "max_len_ratio": 100.0, "no_repeat_ngram": 100,
                  "batch_size": 100_000}
LARGEST_INT = 2**63 - 1  # what torch and numpy hold
MAX_ACCUM_STEPS = 1024  # train.accum_steps: batches per update; far above any useful setting


class Origins:
    """Where config values came from, for error messages: the config file (or "config"), or the --set flag that gave
    the value."""

    def __init__(self, source: str, overrides: dict[str, str] | None = None):
        self.source, self.overrides = source, overrides or {}

    def __call__(self, *keys: str) -> str:
        """The origin of a message about `keys` ('section.key'): 'x.yaml', '--set train.epochs=0', or both joined."""
        flags = list(dict.fromkeys(self.overrides[key] for key in keys if key in self.overrides))
        from_file = not keys or any(key not in self.overrides for key in keys)
        return " and ".join(([self.source] if from_file else []) + flags)


def _did_you_mean(key: str, options) -> str:
    close = difflib.get_close_matches(key, list(options), n=1)
    return f" Did you mean '{close[0]}'?" if close else f" Valid keys: {', '.join(sorted(options))}."


def _coerce(value: Any, typ: type, where: str) -> Any:
    """Return value converted to typ, or raise S2SError naming `where`."""
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
    elif typ is int:
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str):
            try:
                number = int(value.strip())
            except ValueError:
                pass
        if number is not None:
            if abs(number) > LARGEST_INT:
                raise S2SError(f"{where} has {len(str(abs(number)))} digits, too large for an integer setting (at most "
                               f"2**63 - 1).")
            return number
    elif typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:  # an integer of hundreds of digits
                raise S2SError(f"{where} has {len(str(abs(value)))} digits, too large for a number setting.") from None
        if isinstance(value, str):  # YAML 1.1 reads 5e-4 as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif typ is str:
        if value is None:  # `key:` or `--set key=` clears a string
            return ""
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif typ is list:
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [v for v in value.split(",") if v]
    raise S2SError(f"{where} must be of type {typ.__name__}, got {value!r} ({type(value).__name__}).")


def _parse_scalar(text: str) -> Any:
    """Parse a --set value the way YAML would ('3' -> 3, 'true' -> True, 'a,b' stays a string)."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)
    except (yaml.YAMLError, RecursionError):
        return text


def config_from_dict(raw: dict, source: str = "config", overrides: dict[str, str] | None = None) -> Config:
    """Build and validate a Config from a nested dict; unknown keys are errors with a did-you-mean. Errors name
    `source`, or for the keys in `overrides` ({'section.key': '--set section.key=value'}) the --set flag."""
    where = Origins(source, overrides)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise S2SError(f"{source}: the top level must be a mapping of sections (data, model, train, decode).")
    config = Config()
    top_keys = set(SECTIONS) | {"imports", "name"}
    for key, value in raw.items():
        if key not in top_keys:
            raise S2SError(f"{where(str(key))}: unknown section '{key}'.{_did_you_mean(str(key), top_keys)}")
        if key in SECTIONS:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise S2SError(f"{where(key)}: section '{key}' must be a mapping of key: value, got {value!r}.")
            section = getattr(config, key)
            hints = get_type_hints(type(section))
            for sub_key, sub_value in value.items():
                dotted = f"{key}.{sub_key}"
                if sub_key not in hints:
                    raise S2SError(f"{where(dotted)}: unknown key '{dotted}'.{_did_you_mean(str(sub_key), hints)}")
                setattr(section, sub_key, _coerce(sub_value, hints[sub_key], f"{where(dotted)}: '{dotted}'"))
        else:
            setattr(config, key, _coerce(value, get_type_hints(Config)[key], f"{where(key)}: '{key}'"))
    validate(config, where)
    return config


def validate(config: Config, source: str | Origins = "config") -> None:
    """Check choices and ranges; raise S2SError naming the key, the allowed values and where the value came from."""
    where = source if isinstance(source, Origins) else Origins(source)
    if not all(isinstance(module, str) for module in config.imports):
        raise S2SError(f"{where('imports')}: 'imports' must be a list of module names, got {config.imports!r}.")
    for name, section_type in SECTIONS.items():
        for key, typ in get_type_hints(section_type).items():
            value = getattr(getattr(config, name), key)
            if typ is float and not math.isfinite(value):
                raise S2SError(f"{where(f'{name}.{key}')}: '{name}.{key}' must be a finite number, got {value}.")
    for (section, key), options in CHOICES.items():
        value = getattr(getattr(config, section), key)
        if value not in options:
            raise S2SError(f"{where(f'{section}.{key}')}: '{section}.{key}' is {value!r}; choose one of {', '.join(options)}.")
    for section, key in POSITIVE:
        value = getattr(getattr(config, section), key)
        if not value > 0:
            hint = " (train.max_steps can stop a run earlier)" if key == "epochs" else ""
            raise S2SError(f"{where(f'{section}.{key}')}: '{section}.{key}' must be > 0, got {value}{hint}.")
    for section, key in NON_NEGATIVE:
        value = getattr(getattr(config, section), key)
        if value < 0:
            raise S2SError(f"{where(f'{section}.{key}')}: '{section}.{key}' must be >= 0, got {value}.")
    limits = [(f"decode.{key}", getattr(config.decode, key), maximum) for key, maximum in DECODE_MAXIMUM.items()]
    limits.append(("train.valid_beam", config.train.valid_beam, DECODE_MAXIMUM["beam"]))
    limits.append(("train.accum_steps", config.train.accum_steps, MAX_ACCUM_STEPS))
    for key, value, maximum in limits:
        if value > maximum:
            raise S2SError(f"{where(key)}: '{key}' must be <= {maximum}, got {value}.")
    for section, key, closed in (("model", "dropout", False), ("model", "word_dropout", False),
                                 ("train", "label_smoothing", False), ("data", "subword_alpha", False),
                                 *(("data", key, True) for key in AUGMENT_KEYS),
                                 ("train", "ema_decay", False),
                                 ("train", "teacher_forcing", True)):
        value = getattr(getattr(config, section), key)
        if not (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0):
            raise S2SError(f"{where(f'{section}.{key}')}: '{section}.{key}' must be in [0, 1{']' if closed else ')'}, "
                           f"got {value}.")
    augments = [f"data.{key}" for key in AUGMENT_KEYS if getattr(config.data, key)]
    if augments and config.data.dataset in ("numbers", "text"):
        raise S2SError(f"{where(*augments, 'data.dataset')}: {', '.join(augments)} makes variants of parallel training "
                       f"pairs read from files, but 'data.dataset' is {config.data.dataset!r}; set it to 0, or train on "
                       f"multi30k, tatoeba, files or corpora.")
    if config.data.subword_alpha and config.data.tokenizer != "sentencepiece":
        raise S2SError(f"{where('data.subword_alpha', 'data.tokenizer')}: 'data.subword_alpha' samples SentencePiece "
                       f"segmentations, but 'data.tokenizer' is {config.data.tokenizer!r}; set data.tokenizer: "
                       f"sentencepiece or data.subword_alpha: 0.")
    if config.model.bidirectional and config.model.hidden_size % 2:
        raise S2SError(
            f"{where('model.hidden_size', 'model.bidirectional')}: a bidirectional encoder splits 'model.hidden_size' "
            f"between two directions, so it must be even (got {config.model.hidden_size})."
        )
    if config.model.tie_embeddings and config.model.emb_size != config.model.hidden_size:
        raise S2SError(
            f"{where('model.tie_embeddings', 'model.emb_size', 'model.hidden_size')}: 'model.tie_embeddings' shares "
            f"the target embedding with the output layer, so 'model.emb_size' ({config.model.emb_size}) must equal "
            f"'model.hidden_size' ({config.model.hidden_size})."
        )
    if config.model.input_feeding and config.model.attention == "none" and not config.model.name:
        raise S2SError(f"{where('model.input_feeding', 'model.attention')}: 'model.input_feeding' feeds the attentional "
                       f"state back into the decoder, so it needs attention; set model.attention: dot or "
                       f"model.input_feeding: false.")
    _validate_learning_options(config, where)
    if config.decode.nbest > config.decode.beam:
        raise S2SError(f"{where('decode.nbest', 'decode.beam')}: 'decode.nbest' ({config.decode.nbest}) cannot exceed "
                       f"'decode.beam' ({config.decode.beam}).")
    corpus_entries(config.data, where)
    if config.data.dataset == "files" and not (config.data.train_src and config.data.train_tgt):
        raise S2SError(f"{where('data.dataset', 'data.train_src', 'data.train_tgt')}: data.dataset is 'files' but "
                       f"'data.train_src'/'data.train_tgt' are not set.")
    if config.data.dataset == "text" and not (config.data.train_text and config.data.valid_text):
        raise S2SError(f"{where('data.dataset', 'data.train_text', 'data.valid_text')}: data.dataset is 'text' but "
                       f"'data.train_text'/'data.valid_text' are not set; give one-language files, one sentence per line.")


@dataclass
class CorpusEntry:
    """One corpus of data.corpora: a named dataset (its splits) or files of your own."""

    dataset: str = ""  # multi30k, tatoeba or files
    name: str = ""  # how logs and scores call it; default: the dataset's name
    weight: int = 1  # its training pairs are read this many times an epoch (upsampling a small corpus)
    data_dir: str = ""  # multi30k, tatoeba: where the download lives (default data/{dataset})
    mirror: str = ""  # multi30k, tatoeba: a local folder to copy the download from
    train_src: str = ""  # files: the paths; a corpus with valid_src/valid_tgt is also a dev set
    train_tgt: str = ""
    valid_src: str = ""
    valid_tgt: str = ""
    test_src: str = ""
    test_tgt: str = ""


CORPUS_DATASETS = ("multi30k", "tatoeba", "files")


def corpus_entries(data: DataConfig, where: Origins | None = None) -> list[CorpusEntry]:
    """data.corpora as checked CorpusEntry objects (an empty list unless data.dataset is 'corpora')."""
    where = where or Origins("config")
    origin = where("data.corpora")
    if data.dataset != "corpora":
        if data.corpora:
            raise S2SError(f"{where('data.corpora', 'data.dataset')}: 'data.corpora' lists corpora but 'data.dataset' is "
                           f"{data.dataset!r}; set data.dataset: corpora to train on them, or remove data.corpora.")
        return []
    if not data.corpora:
        raise S2SError(f"{where('data.corpora', 'data.dataset')}: data.dataset is 'corpora' but 'data.corpora' is empty; "
                       f"list them, e.g. corpora: [multi30k, tatoeba].")
    hints = get_type_hints(CorpusEntry)
    entries = []
    for number, item in enumerate(data.corpora, 1):
        here = f"{origin}: data.corpora entry {number}"
        if isinstance(item, str):
            item = {"dataset": item}
        if not isinstance(item, dict):
            raise S2SError(f"{here} is {item!r}; give a dataset name (multi30k, tatoeba) or a mapping such as "
                           f"{{dataset: files, train_src: a.de, train_tgt: a.en}}.")
        entry = CorpusEntry()
        for key, value in item.items():
            if key not in hints:
                raise S2SError(f"{here} has an unknown key '{key}'.{_did_you_mean(str(key), hints)}")
            setattr(entry, key, _coerce(value, hints[key], f"{here}: '{key}'"))
        if entry.dataset not in CORPUS_DATASETS:
            raise S2SError(f"{here}: 'dataset' is {entry.dataset!r}; choose one of {', '.join(CORPUS_DATASETS)}.")
        if entry.weight < 1:
            raise S2SError(f"{here}: 'weight' must be a whole number >= 1 (times its training pairs are read an "
                           f"epoch), got {entry.weight}.")
        paths = [key for key in hints if key.endswith(("_src", "_tgt"))]
        if entry.dataset == "files":
            if not (entry.train_src and entry.train_tgt):
                raise S2SError(f"{here}: a 'files' corpus needs 'train_src' and 'train_tgt'.")
            if bool(entry.valid_src) != bool(entry.valid_tgt) or bool(entry.test_src) != bool(entry.test_tgt):
                raise S2SError(f"{here}: give 'valid_src' with 'valid_tgt' (and 'test_src' with 'test_tgt'), or neither.")
        elif any(getattr(entry, key) for key in paths):
            raise S2SError(f"{here}: a {entry.dataset} corpus brings its own splits; file paths such as 'train_src' "
                           f"belong to a corpus with dataset: files.")
        entry.name = entry.name or entry.dataset
        entries.append(entry)
    names = [entry.name for entry in entries]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise S2SError(f"{origin}: data.corpora names {', '.join(map(repr, repeated))} more than once; give each entry "
                       f"its own 'name' (or use 'weight' to read one corpus more often).")
    if not any(entry.dataset != "files" or entry.valid_src for entry in entries):
        raise S2SError(f"{origin}: no corpus in data.corpora has a validation split, which picks the best checkpoint; "
                       f"add valid_src/valid_tgt to a files corpus or list multi30k or tatoeba.")
    return entries


def _validate_learning_options(config: Config, where: Origins) -> None:
    """Teacher forcing and pretrained embeddings: the combinations that cannot work."""
    train, model = config.train, config.model
    if train.teacher_forcing_schedule != "constant":
        if train.teacher_forcing >= 1.0:
            raise S2SError(f"{where('train.teacher_forcing_schedule', 'train.teacher_forcing')}: "
                           f"'train.teacher_forcing_schedule' {train.teacher_forcing_schedule!r} decays the "
                           f"ratio from 1.0 to the floor 'train.teacher_forcing', which is 1.0; set a floor below 1 "
                           f"(e.g. train.teacher_forcing: 0.5) or the schedule to constant.")
        if not train.teacher_forcing_decay_steps:
            raise S2SError(f"{where('train.teacher_forcing_schedule', 'train.teacher_forcing_decay_steps')}: "
                           f"'train.teacher_forcing_schedule' {train.teacher_forcing_schedule!r} needs "
                           f"'train.teacher_forcing_decay_steps' > 0 (how many updates the decay takes).")
    if model.freeze_embeddings and not (model.src_embeddings or model.tgt_embeddings):
        raise S2SError(f"{where('model.freeze_embeddings')}: 'model.freeze_embeddings' keeps pretrained vectors fixed, "
                       f"but neither 'model.src_embeddings' nor 'model.tgt_embeddings' names a vectors file.")
    if model.freeze_embeddings and model.tgt_embeddings and model.tie_embeddings:
        raise S2SError(f"{where('model.freeze_embeddings', 'model.tgt_embeddings', 'model.tie_embeddings')}: "
                       f"'model.freeze_embeddings' with 'model.tgt_embeddings' would also freeze the output layer, "
                       f"which 'model.tie_embeddings' shares with the target embedding; untie them or do not freeze.")


def parse_overrides(overrides: list[str]) -> dict[str, tuple[Any, str]]:
    """{'section.key': (value parsed as YAML, '--set section.key=value')} of --set strings; a key given twice is an
    error (the last one would win unseen)."""
    parsed: dict[str, tuple[Any, str]] = {}
    for item in overrides:
        if "=" not in item:
            raise S2SError(f"--set expects section.key=value (e.g. train.epochs=3), got '{item}'.")
        dotted, text = item.split("=", 1)
        dotted = dotted.strip()
        if dotted in parsed:
            raise S2SError(f"--set {dotted} is given twice ({parsed[dotted][1]} and --set {item}); give it once.")
        parsed[dotted] = (_parse_scalar(text), f"--set {item}")
    return parsed


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `section.key=value` strings to a raw config dict (before validation)."""
    for dotted, (value, flag) in parse_overrides(overrides).items():
        parts = dotted.split(".")
        node = raw
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise S2SError(f"{flag}: '{part}' is not a section.")
            node = child
        node[parts[-1]] = value
    return raw


def override_origins(overrides: list[str]) -> dict[str, str]:
    """{'section.key': '--set section.key=value'}: which flag gave each overridden key, for config_from_dict."""
    return {dotted: flag for dotted, (_, flag) in parse_overrides(overrides).items()}


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A key given twice in one YAML mapping."""


class UniqueKeyLoader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (PyYAML would keep the last one silently)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # '<<' merges are meant to be overridden; complex keys are left to the loader
                key = self.construct_object(key_node)
                if key in seen:
                    raise DuplicateKeyError(None, None, f"'{key}' is given twice (first on line {seen[key].line + 1})",
                                            key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if path.is_dir():
        raise S2SError(f"config file '{path}' is a folder; pass a YAML file such as configs/quickstart.yaml to --config.")
    if not path.is_file():
        raise S2SError(f"config file '{path}' does not exist; pass a YAML file such as configs/quickstart.yaml to --config.")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)
    except OSError as error:
        raise S2SError(f"config file '{path}' cannot be read: {error.strerror or error}.") from None
    except UnicodeDecodeError as error:
        raise S2SError(f"config file '{path}' is not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8.") from None
    except DuplicateKeyError as error:
        raise S2SError(f"config file '{path}', line {error.problem_mark.line + 1}: {error.problem}; keep one "
                       f"(PyYAML would silently use the last).") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = "; ".join(str(part) for part in (error.context, error.problem) if part)
        raise S2SError(f"config file '{path}'{where}: YAML syntax error: {what}. Fix the YAML there "
                       f"(indent with spaces, 'key: value' pairs).") from None
    except yaml.YAMLError as error:
        raise S2SError(f"config file '{path}' is not valid YAML: {error}") from None
    return raw or {}


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (or start from defaults), apply --set overrides, validate."""
    raw = read_yaml(path) if path else {}
    raw = apply_overrides(raw, overrides or [])
    source = str(path) if path else "config"
    config = config_from_dict(raw, source, override_origins(overrides or []))
    if not config.name:
        config.name = Path(path).stem if path else "run"
    return config


def save_config(config: Config, path: Path) -> None:
    path.write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
