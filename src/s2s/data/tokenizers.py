"""Tokenizers (SentencePiece, NLTK word tokenizers that need no downloads, characters, whitespace), one registry."""

from __future__ import annotations

import io
import itertools
import re
from typing import Iterable

import numpy as np

from s2s.errors import S2SError
from s2s.registry import TOKENIZERS


class Tokenizer:
    """Text <-> list of string tokens. `state()` is a plain dict that rebuilds the tokenizer via `from_state`."""

    name = ""

    def __init__(self, lowercase: bool = False):
        self.lowercase = lowercase

    def train(self, lines: Iterable[str]) -> None:
        """Learn from training text, read once as it comes (only subword tokenizers learn anything)."""

    def tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def tokenize_lines(self, lines: list[str]) -> list[list[str]]:
        """tokenize() of each line; a tokenizer that can do a batch at once overrides this."""
        return [self.tokenize(line) for line in lines]

    def tokenize_to_ids(self, lines: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(table, ids, lengths): tokenize_lines(lines) as one flat int array of indices into `table` (the tokens,
        in a table of this call's own) and each line's token count; what encodes a large corpus without a Python
        object per token."""
        index: dict[str, int] = {}
        tokenized = self.tokenize_lines(lines)
        lengths = np.fromiter(map(len, tokenized), dtype=np.int64, count=len(tokenized))
        ids = np.fromiter((index.setdefault(token, len(index)) for line in tokenized for token in line), dtype=np.int64,
                          count=int(lengths.sum()))
        return list(index), ids, lengths

    def detokenize(self, tokens: list[str]) -> str:
        raise NotImplementedError

    def _prepare(self, text: str) -> str:
        return text.lower() if self.lowercase else text

    def state(self) -> dict:
        return {"name": self.name, "lowercase": self.lowercase}

    @classmethod
    def from_state(cls, state: dict) -> "Tokenizer":
        return TOKENIZERS.get(state["name"])(lowercase=state["lowercase"])


def build_tokenizer(name: str, **options) -> Tokenizer:
    return TOKENIZERS.build(name, **options)


def tokenizer_from_state(state: dict) -> Tokenizer:
    return TOKENIZERS.get(state["name"]).from_state(state)


@TOKENIZERS.register("whitespace", "split on spaces; for pre-tokenized text and the built-in numbers task")
class WhitespaceTokenizer(Tokenizer):
    name = "whitespace"

    def tokenize(self, text: str) -> list[str]:
        return self._prepare(text).split()

    def detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


@TOKENIZERS.register("char", "characters; spaces become '▁'")
class CharTokenizer(Tokenizer):
    name = "char"

    def tokenize(self, text: str) -> list[str]:
        return list(" ".join(self._prepare(text).split()).replace(" ", "▁"))

    def detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens).replace("▁", " ").strip()


class _NltkTokenizer(Tokenizer):
    """An NLTK word tokenizer that needs no data download; detokenized with NLTK's Treebank detokenizer."""

    def __init__(self, lowercase: bool = False):
        super().__init__(lowercase)
        from nltk.tokenize.treebank import TreebankWordDetokenizer

        self._tokenizer = self._make()
        self._detokenizer = TreebankWordDetokenizer()

    def _make(self):
        raise NotImplementedError

    def tokenize(self, text: str) -> list[str]:
        return self._tokenizer.tokenize(self._prepare(text))

    def detokenize(self, tokens: list[str]) -> str:
        return self._detokenizer.detokenize(tokens)


@TOKENIZERS.register("treebank", "NLTK Penn Treebank word tokenizer")
class TreebankTokenizer(_NltkTokenizer):
    name = "treebank"

    def _make(self):
        from nltk.tokenize import TreebankWordTokenizer

        return TreebankWordTokenizer()


@TOKENIZERS.register("wordpunct", "NLTK WordPunct tokenizer (splits on every punctuation run)")
class WordPunctTokenizer(_NltkTokenizer):
    name = "wordpunct"

    def _make(self):
        from nltk.tokenize import WordPunctTokenizer as Nltk

        return Nltk()


@TOKENIZERS.register("toktok", "NLTK Toktok tokenizer")
class ToktokTokenizer(_NltkTokenizer):
    name = "toktok"

    def _make(self):
        from nltk.tokenize.toktok import ToktokTokenizer as Nltk

        return Nltk()


def sentencepiece_advice(message: str, vocab_size: int, model_type: str) -> str:
    """SentencePiece's training error in the config's terms: which key to change, and to what."""
    too_small = re.search(r"Vocabulary size is smaller than required_chars\. (\d+) vs (\d+)", message)
    if too_small:
        return (f"'data.vocab_size' {vocab_size} is too small for SentencePiece: the training text has characters and "
                f"special pieces that alone need {too_small.group(2)} entries; set data.vocab_size to at least "
                f"{too_small.group(2)} (thousands are usual, e.g. --set data.vocab_size=8000).")
    detail = message.splitlines()[0] if message else "no reason given"
    return (f"SentencePiece could not learn a {model_type} vocabulary of 'data.vocab_size' {vocab_size} pieces from the "
            f"training text ({detail}); check data.vocab_size and data.sp_model_type.")


@TOKENIZERS.register("sentencepiece", "SentencePiece subwords (BPE or unigram), trained on the training text")
class SentencePieceTokenizer(Tokenizer):
    name = "sentencepiece"

    def __init__(self, lowercase: bool = False, vocab_size: int = 8000, model_type: str = "bpe", model_proto: bytes = b"",
                 byte_fallback: bool = False, split_digits: bool = False):
        super().__init__(lowercase)
        self.vocab_size = vocab_size
        self.model_type = model_type
        self.byte_fallback, self.split_digits = byte_fallback, split_digits
        self._processor = None
        if model_proto:
            self._load(model_proto)

    def _load(self, model_proto: bytes) -> None:
        import sentencepiece

        self.model_proto = model_proto
        self._processor = sentencepiece.SentencePieceProcessor()
        self._processor.LoadFromSerializedProto(model_proto)

    def train(self, lines: Iterable[str]) -> None:
        import sentencepiece

        seen, failed = [0], []  # non-empty lines the trainer read; an error raised while reading them

        def sentences():  # streamed: the trainer keeps at most input_sentence_size of them, sampled
            try:
                for line in lines:
                    if line.strip():
                        seen[0] += 1
                        yield self._prepare(line)
            except Exception as error:  # SentencePiece would turn it into a RuntimeError: keep it to raise as it was
                failed.append(error)
                raise

        model = io.BytesIO()
        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=sentences(),
                model_writer=model,
                vocab_size=self.vocab_size,
                model_type=self.model_type,
                character_coverage=1.0,
                hard_vocab_limit=False,  # small corpora get a smaller vocabulary instead of an error
                input_sentence_size=2_000_000,
                shuffle_input_sentence=True,
                num_threads=2,
                minloglevel=2,
                **self._options_on(),  # byte_fallback: unseen characters become <0xNN> byte pieces, not <unk>
            )
        except RuntimeError as error:
            if failed:
                raise failed[0] from None  # e.g. the S2SError of a data file that ends too early
            if not seen[0]:
                raise S2SError("cannot train SentencePiece: the training text has no non-empty lines.") from None
            raise S2SError(sentencepiece_advice(str(error), self.vocab_size, self.model_type)) from None
        self._load(model.getvalue())

    def tokenize(self, text: str) -> list[str]:
        if self._processor is None:
            raise RuntimeError("SentencePiece tokenizer used before train() or loading a model")
        return self._processor.encode(self._prepare(text), out_type=str)

    def tokenize_lines(self, lines: list[str]) -> list[list[str]]:
        if self._processor is None:
            raise RuntimeError("SentencePiece tokenizer used before train() or loading a model")
        return self._processor.encode([self._prepare(line) for line in lines], out_type=str, num_threads=1)

    def tokenize_to_ids(self, lines: list[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The table is the model's pieces, the ids SentencePiece's own; a piece the model does not know (a character
        not in its training sample) keeps its text, as tokenize() gives it, in an entry added after the pieces."""
        processor = self._processor
        if processor is None:
            raise RuntimeError("SentencePiece tokenizer used before train() or loading a model")
        prepared = [self._prepare(line) for line in lines]
        encoded = processor.encode(prepared, out_type=int, num_threads=1)
        lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        ids = np.fromiter(itertools.chain.from_iterable(encoded), dtype=np.int64, count=int(lengths.sum()))
        table = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        unknown = np.flatnonzero(ids == processor.unk_id())
        if unknown.size:
            extra: dict[str, int] = {}
            starts = np.concatenate([[0], np.cumsum(lengths)])
            for line in np.unique(np.searchsorted(starts, unknown, side="right") - 1):
                pieces = processor.encode(prepared[line], out_type=str)  # the same segmentation, as text
                for position in range(starts[line], starts[line + 1]):
                    if ids[position] == processor.unk_id():
                        ids[position] = len(table) + extra.setdefault(pieces[position - starts[line]], len(extra))
            table += list(extra)
        return table, ids, lengths

    def detokenize(self, tokens: list[str]) -> str:
        return self._processor.decode_pieces(tokens)

    def pieces(self) -> list[str]:
        """Every piece the model can output, in id order (without <unk> and the control symbols)."""
        processor = self._processor
        return [processor.id_to_piece(i) for i in range(processor.get_piece_size())
                if not (processor.is_control(i) or processor.is_unknown(i))]

    def piece_table(self) -> list[tuple]:
        """Every piece with its score and kind, in id order: what the model cuts text into, and how."""
        processor = self._processor
        return [(processor.id_to_piece(i), processor.get_score(i), processor.is_control(i), processor.is_unknown(i),
                 processor.is_unused(i), processor.is_byte(i)) for i in range(processor.get_piece_size())]

    def sample(self, lines: list[str], alpha: float, seed: int) -> list[list[str]]:
        """A sampled segmentation of each line: BPE-dropout with probability alpha for a bpe model (Provilkov et al.
        2020), or a draw from the unigram lattice smoothed by alpha (Kudo 2018). The same seed gives the same pieces."""
        import sentencepiece

        sentencepiece.set_random_generator_seed(seed)
        # one thread: the generator is seeded per process, so more threads would interleave draws by timing
        return self._processor.encode([self._prepare(line) for line in lines], out_type=str, enable_sampling=True,
                                      alpha=alpha, nbest_size=-1, num_threads=1)

    def _options_on(self) -> dict:
        """byte_fallback and split_digits, only those that are on: a tokenizer without them has the state (and cache
        key) and trains the model, byte for byte, that s2s gave it before they existed."""
        return {key: True for key in ("byte_fallback", "split_digits") if getattr(self, key)}

    def state(self) -> dict:
        return {**super().state(), "vocab_size": self.vocab_size, "model_type": self.model_type,
                "model_proto": self.model_proto, **self._options_on()}

    @classmethod
    def from_state(cls, state: dict) -> "SentencePieceTokenizer":
        return cls(state["lowercase"], state["vocab_size"], state["model_type"], state["model_proto"],
                   state.get("byte_fallback", False), state.get("split_digits", False))


def same_tokenization(first: Tokenizer, second: Tokenizer) -> bool:
    """Whether two tokenizers cut every text alike (so that their models can be ensembled): equal states, or two
    SentencePiece models with the same settings and the same pieces, scores and kinds. s2s trains every SentencePiece
    model with one fixed normalization, so the serialized models of two such can differ only in the trainer's record:
    s2s from aa79a38 to 2026-12-07 wrote byte_fallback and split_digits there when they were off, too."""
    if first.state() == second.state():
        return True
    if not (isinstance(first, SentencePieceTokenizer) and isinstance(second, SentencePieceTokenizer)):
        return False
    settings = [{key: value for key, value in t.state().items() if key != "model_proto"} for t in (first, second)]
    return settings[0] == settings[1] and first.piece_table() == second.piece_table()
