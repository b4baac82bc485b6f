"""What decoding may ask of the machine, checked before a line is decoded: the memory of a decoding batch, and the
smallest temperature that still samples. No torch here: the onnx engine (s2s.runtime) shares it.

Memory: a batch of B sentences at beam K (or K samples a line) decodes B * K rows at once, each holding about
row_bytes(): the log-probs over the target vocabulary and their copies, the encoder states repeated for the row,
its recurrent state, its token history and, when asked for, its attention. A batch takes at most memory_budget()
bytes: decode_batches() gives fewer sentences to a batch where --batch-size sentences would take more (the output
is the same, only slower), and refuses, naming the largest beam (or --sample) that fits, where one sentence alone
would not fit. s2s serve checks its --max-beam, and s2s generate its -n samples, against the same budget.

Temperature: softmax(log_probs / T) in float32 keeps only the most likely token once T is far below the gap
between two different log-probs of likely tokens (float32 spacing near log p = -0.7 is 6e-8, and exp(-6e-8 / 1e-10)
= exp(-600) is 0), so a temperature below GREEDY_TEMPERATURE decodes greedily rather than dividing by it (1e-300
is 0 in float32: the division gave nan, a traceback or `null` lines).
"""

from __future__ import annotations

import os
from typing import Iterator

from s2s.errors import S2SError

GREEDY_TEMPERATURE = 1e-10  # sampling below this temperature is greedy decoding
MEMORY_ENV = "S2S_DECODE_MEMORY_MB"  # the budget of one decoding batch, in MiB, instead of the default
DEFAULT_MEMORY_CAP = 2 << 30  # bytes: at most 2 GiB a batch by default, and at most half the available memory
MIB = 1 << 20


def available_memory() -> int | None:
    """Bytes of memory available now: MemAvailable of /proc/meminfo, else the free pages os.sysconf counts, else
    None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def memory_budget(device="cpu") -> int:
    """Bytes one decoding batch may take: $S2S_DECODE_MEMORY_MB MiB when set, else half the memory available now (on a
    GPU, half its free memory), at most 2 GiB."""
    value = os.environ.get(MEMORY_ENV, "").strip()
    if value:
        try:
            megabytes = float(value)
        except ValueError:
            megabytes = float("nan")
        if not 0 < megabytes <= 1 << 30:  # nan fails too
            raise S2SError(f"{MEMORY_ENV}={value} is not a number of MiB above 0 and at most {1 << 30}; set it to "
                           f"the memory one decoding batch may take (e.g. {MEMORY_ENV}=4096), or unset it for the "
                           f"default (half the available memory, at most 2 GiB).")
        return max(1, int(megabytes * MIB))
    if getattr(device, "type", str(device).split(":")[0]) == "cuda":
        import torch  # only a torch Translator decodes on a GPU

        free = torch.cuda.mem_get_info(device)[0]
    else:
        free = available_memory()
    return DEFAULT_MEMORY_CAP if free is None else min(DEFAULT_MEMORY_CAP, free // 2)


def model_width(model) -> int:
    """The floats per source token a decoding row holds for `model`: the width of its encoder states, summed over an
    ensemble's members. Duck-typed over the engines: an ensemble's `members`, an ONNX step model's `hidden_size`, a
    zoo model's output layer, else the widest matrix among the parameters."""
    members = getattr(model, "members", None)
    if members is not None:
        return sum(model_width(member) for member in members)
    hidden = getattr(model, "hidden_size", None)
    if isinstance(hidden, int):
        return hidden
    out = getattr(getattr(model, "decoder", None), "out", None)
    if isinstance(getattr(out, "in_features", None), int):
        return out.in_features
    parameters = model.parameters() if hasattr(model, "parameters") else []
    return max((shape[-1] for shape in (tuple(p.shape) for p in parameters) if len(shape) == 2), default=0)


def row_bytes(vocab: int, hidden: int, src_len: int, out_len: int, attention: bool, members: int = 1,
              no_repeat_ngram: int = 0) -> int:
    """An estimate of the bytes one decoding row (one beam, or one sample, of one sentence) holds at its peak, in
    float32s of 4 bytes: 6 copies of the vocabulary per member (the step's log-probs, their sum with the row's score,
    the candidates the top-k reads, and numpy's int64 indices of them), the encoder states repeated for the row
    (src_len * hidden), its recurrent state (4 * hidden), and per output step its token history (an int64, copied
    each step), with attention two copies of its attention row (src_len), and with the n-gram guard the bytes that
    compare its n-grams with the last one (no_repeat_ngram)."""
    per_step = 4 + (2 * src_len if attention else 0) + no_repeat_ngram / 4
    return int(4 * (6 * vocab * members + (src_len + 4) * hidden + out_len * per_step))


def output_limit(src_len: int, max_len_ratio: float) -> int:
    """The most output steps of a src_len-token source (as the searches' max_output_lengths)."""
    return int(src_len * max_len_ratio) + 10


def sentence_bytes(translator, src_len: int, rows: int, max_len_ratio: float, attention: bool,
                   no_repeat_ngram: int = 0) -> int:
    """The estimate of one sentence of src_len tokens decoded with `rows` rows (beam or samples) by `translator`."""
    model = translator.model
    members = len(getattr(model, "members", None) or [model])
    return rows * row_bytes(len(translator.tgt_vocab), model_width(model), src_len,
                            output_limit(src_len, max_len_ratio), attention, members, no_repeat_ngram)


def largest_rows(translator, src_len: int, max_len_ratio: float, attention: bool, budget: int,
                 no_repeat_ngram: int = 0) -> int:
    """The most rows (beam or samples) a sentence of src_len tokens may decode with in `budget` bytes."""
    return budget // sentence_bytes(translator, src_len, 1, max_len_ratio, attention, no_repeat_ngram)


def too_large(option: str, rows: int, translator, src_len: int, max_len_ratio: float, attention: bool,
              budget: int, no_repeat_ngram: int = 0) -> str:
    """The sentence that says `option` (beam, sample) `rows` does not fit `budget` for a src_len-token line."""
    need = sentence_bytes(translator, src_len, rows, max_len_ratio, attention, no_repeat_ngram)
    largest = largest_rows(translator, src_len, max_len_ratio, attention, budget, no_repeat_ngram)
    advice = (f"the largest {option} that fits is {largest}" if largest else
              f"not even {option} 1 fits: lower --max-len-ratio or split the line")
    return (f"{option} {rows} needs about {need / MIB:,.0f} MiB to decode a {src_len}-token line with this model (a "
            f"{len(translator.tgt_vocab):,}-token target vocabulary{', attention kept' if attention else ''}), more "
            f"than {budget_words(budget)}; {advice}")


def budget_words(budget: int) -> str:
    """'the 2,048 MiB a decoding batch may take (half the available memory, ...)': the budget and where it came from."""
    source = (f"{MEMORY_ENV}={os.environ[MEMORY_ENV]}" if os.environ.get(MEMORY_ENV, "").strip() else
              f"half the available memory, at most 2 GiB; {MEMORY_ENV} sets it")
    return f"the {budget / MIB:,.0f} MiB a decoding batch may take ({source})"


def decode_batches(translator, order: list[int], lengths: list[int], batch_size: int, rows: int, option: str,
                   max_len_ratio: float, attention: bool, no_repeat_ngram: int = 0) -> Iterator[list[int]]:
    """The batches to decode `order` (sentence indices, shortest source first) in: at most batch_size sentences, and
    fewer where batch_size sentences of `rows` rows each would take more than memory_budget(); an S2SError naming
    `option` (beam, sample) and its largest value that fits, before anything is decoded, where one sentence alone
    does not fit."""
    budget = memory_budget(translator.device)
    if order:  # the longest sentence decides whether the option fits at all
        longest = lengths[order[-1]]
        if sentence_bytes(translator, longest, rows, max_len_ratio, attention, no_repeat_ngram) > budget:
            raise S2SError(too_large(option, rows, translator, longest, max_len_ratio, attention, budget,
                                     no_repeat_ngram) + f" (--{option}).")
    start = 0
    while start < len(order):
        chunk = order[start : start + batch_size]
        fits = budget // sentence_bytes(translator, lengths[chunk[-1]], rows, max_len_ratio, attention, no_repeat_ngram)
        chunk = chunk[: max(1, fits)]
        yield chunk
        start += len(chunk)
