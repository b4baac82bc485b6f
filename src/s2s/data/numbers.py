"""The built-in task: English number words -> German number words, generated deterministically from a seed.

German orders units before tens ("forty two" -> "zwei und vierzig"), drops "one" before hundred and thousand
("one hundred" -> "hundert") and writes numbers below a million as one word; we keep the parts apart with
spaces (like compound splitting) so that word-level BLEU measures every part.
"""

from __future__ import annotations

import random

EN_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
            "sixteen seventeen eighteen nineteen").split()
EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
DE_UNITS = ("null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn "
            "sechzehn siebzehn achtzehn neunzehn").split()
DE_TENS = "_ _ zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig".split()


def english(n: int) -> str:
    if n == 0:
        return "zero"
    words = []
    for scale, name in ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (1, "")):
        group = n // scale % 1000
        if group:
            words += _english_below_1000(group) + ([name] if name else [])
    return " ".join(words)


def _english_below_1000(n: int) -> list[str]:
    words = [EN_UNITS[n // 100], "hundred"] if n >= 100 else []
    rest = n % 100
    if rest >= 20:
        words.append(EN_TENS[rest // 10])
        if rest % 10:
            words.append(EN_UNITS[rest % 10])
    elif rest:
        words.append(EN_UNITS[rest])
    return words


def german(n: int) -> str:
    if n == 0:
        return "null"
    words = []
    for scale, one, many in ((10**9, "eine Milliarde", "Milliarden"), (10**6, "eine Million", "Millionen")):
        group = n // scale % 1000
        if group == 1:
            words += one.split()
        elif group:
            words += _german_below_1000(group, compound=True) + [many]
    thousands = n // 1000 % 1000
    if thousands == 1:
        words.append("tausend")
    elif thousands:
        words += _german_below_1000(thousands, compound=True) + ["tausend"]
    if n % 1000:
        words += _german_below_1000(n % 1000, compound=False)
    return " ".join(words)


def _german_below_1000(n: int, compound: bool) -> list[str]:
    """compound: the number stands before tausend/Millionen, where a final 1 is 'ein', not 'eins'."""
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        words += (["hundert"] if hundreds == 1 else [DE_UNITS[hundreds], "hundert"])
    if rest == 1:
        words.append("ein" if compound else "eins")
    elif rest < 20 and rest:
        words.append(DE_UNITS[rest])
    elif rest:
        unit = rest % 10
        if unit:
            words += ["ein" if unit == 1 else DE_UNITS[unit], "und"]
        words.append(DE_TENS[rest // 10])
    return words


TAUGHT_DIGITS = 3  # every number below 1,000 is training data; validation and test use longer numbers
REPEAT = 9  # extra copies of the two-word numbers of 4+ digits in the training split


def short_numbers(max_digits: int) -> list[int]:
    """Every number below 10**max_digits written in one or two English words: 0-99, "five hundred", "nine thousand",
    "forty million", "twelve billion"... (a newcomer's first tries); all are training data."""
    one_word = [n for n in range(100) if len(english(n).split()) == 1 and n]
    scales = [100] + [10**k for k in (3, 6, 9) if k < max_digits]
    multiples = [k * scale for scale in scales for k in (range(1, 10) if scale == 100 else one_word)]
    return sorted({n for n in list(range(100)) + multiples if n < 10**max_digits})


def generate(num_train: int, num_valid: int, num_test: int, max_digits: int = 12, seed: int = 1234):
    """Return {"train"|"valid"|"test": (english lines, german lines)}; the three splits share no number.

    Every number below 1,000 and every number of one or two words ("nine thousand") is in the training split, the
    short ones many times: the digit count of a training pair is uniform in 1..max_digits, numbers below 1,000 are
    drawn with replacement (there are only ten one-digit numbers) and longer ones without. Validation and test hold
    distinct other numbers of 4..max_digits digits, the digit count uniform too, so long inputs are as common as
    short ones and the held-out numbers are all new.
    """
    if max_digits <= TAUGHT_DIGITS:
        raise ValueError(f"numbers_max_digits must be at least {TAUGHT_DIGITS + 1}: numbers below "
                         f"{10 ** TAUGHT_DIGITS:,} are all training data, validation and test use longer ones")
    rng = random.Random(seed)
    long_count = 10**max_digits - 10**TAUGHT_DIGITS
    if num_train + num_valid + num_test > long_count // 2:
        raise ValueError(f"cannot draw {num_train + num_valid + num_test} distinct numbers below "
                         f"{10**max_digits}; raise numbers_max_digits")
    taught = sorted(set(range(10**TAUGHT_DIGITS)) | set(short_numbers(max_digits)))
    seen: set[int] = set(taught)  # numbers of more digits are drawn once, and never one of these

    def draw(digits: int) -> int:
        low = 0 if digits == 1 else 10 ** (digits - 1)
        while True:
            n = rng.randrange(low, 10**digits)
            if digits <= TAUGHT_DIGITS or n not in seen:
                seen.add(n)
                return n

    held_out = [draw(rng.randint(TAUGHT_DIGITS + 1, max_digits)) for _ in range(num_valid + num_test)]
    # each once, and the two-word numbers of 4+ digits ("nine thousand") REPEAT times more, since no random draw
    # below returns them; all of them unless num_train is under ~4,000
    taught = (taught + [n for n in taught if n >= 10**TAUGHT_DIGITS] * REPEAT)[: num_train // 2]
    train = taught + [draw(rng.randint(1, max_digits)) for _ in range(num_train - len(taught))]
    rng.shuffle(train)
    chunks = {"train": train, "valid": held_out[:num_valid], "test": held_out[num_valid:]}
    return {name: ([english(n) for n in chunk], [german(n) for n in chunk]) for name, chunk in chunks.items()}
