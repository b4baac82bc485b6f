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


def generate(num_train: int, num_valid: int, num_test: int, max_digits: int = 12, seed: int = 1234):
    """Return {"train"|"valid"|"test": (english lines, german lines)}; the three splits share no number.

    The digit count is uniform in 1..max_digits, so long inputs are as common as short ones.
    """
    rng = random.Random(seed)
    total = num_train + num_valid + num_test
    capacity = 10**max_digits
    if total > capacity // 2:
        raise ValueError(f"cannot draw {total} distinct numbers below {capacity}; raise numbers_max_digits")
    seen: set[int] = set()
    numbers = []
    while len(numbers) < total:
        digits = rng.randint(1, max_digits)
        n = rng.randrange(0 if digits == 1 else 10 ** (digits - 1), 10**digits)
        if n not in seen:
            seen.add(n)
            numbers.append(n)
    splits, start = {}, 0
    for name, size in (("train", num_train), ("valid", num_valid), ("test", num_test)):
        chunk = numbers[start : start + size]
        splits[name] = ([english(n) for n in chunk], [german(n) for n in chunk])
        start += size
    return splits
