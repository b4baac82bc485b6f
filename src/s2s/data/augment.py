"""Training-pair variants for text as people type it: no final punctuation, a lower-cased source, other numbers, other
names.

Models trained on edited sentences learn that every input ends in "." and starts with a capital, and loop on a
fragment typed without them ("Ein Hund" -> "dog dog dog dog a dog."); numbers and names are copied only as far as
the training text shows them varied (Tatoeba's people are mostly "Tom"). Each training pair is replaced, with the
probabilities of data.augment_*, by a variant that shows what a user types: fixed per pair (a hash of its place in
the stream), so the same data and settings give the same training text, which the data cache keys on. Validation
and test text are never changed.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable, Iterator

KINDS = ("no_final_punct", "lowercase", "numbers", "names")
FINAL_PUNCT = ".!?…。！？"
DIGITS = re.compile(r"\d+")
# The persons of the training text that a variant renames: Tatoeba's English and German sentences name them alike.
TRAINING_NAMES = ("Tom", "Mary", "John")
# Names a variant gives them: many scripts and letters, none ending in s, x, z or ß (German writes their genitive
# with an apostrophe, "Hans'", where every other name takes "s": "Annas Buch" - "Anna's book").
NEW_NAMES = (
    "Anna", "Ben", "Chloé", "Dmitri", "Eleni", "Farah", "Göran", "Hannah", "Ingrid", "Jürgen", "Kofi", "Leila",
    "Miguel", "Noor", "Oksana", "Pedro", "Qiang", "Rania", "Søren", "Tanja", "Ulrike", "Vikram", "Wanjiru", "Ximena",
    "Yusuf", "Zoë", "Aiko", "Björn", "Camille", "Dagmar", "Emeka", "Fatima", "Gökhan", "Hiroshi", "Iñaki", "Jana",
    "Kateřina", "Ludwig", "Małgorzata", "Nadia", "Olumide", "Priya", "Radu", "Sakura", "Thabo", "Uwe", "Valentina",
    "Wojciech", "Yara", "Zeynep", "Åsa", "Émile", "Łukasz", "Ştefan", "Žofie", "Ngozi", "Mehmet", "Siobhán", "Ólafur",
    "Aleksandr", "Bongani", "Carmen", "Dörte", "Elif", "Finn", "Gwen", "Heike", "Ivan", "Joaquín", "Kenji", "Lena",
    "Matteo", "Nikolai", "Oona", "Paolo", "Rahul", "Sven", "Tomasz", "Ursula", "Vera", "Wei", "Yuki", "Zainab",
    "Amara", "Bartholomew", "Chidi", "Darya", "Esther", "Fiona", "Gustav", "Hamid", "Isabel", "Jamal", "Keiko",
    "Lorenzo", "Mónica", "Nikhil", "Ottilie", "Pilar", "Rosalind", "Sunita", "Theo", "Uma", "Wilhelm",
)
NAME_PATTERNS = {name: re.compile(rf"\b{name}(?=s?\b)") for name in TRAINING_NAMES}  # "Tom", "Tom's", "Toms"


def draw(index: int, kind: str) -> float:
    """A number in [0, 1) fixed by the pair's place in the training stream and the kind of variant."""
    digest = hashlib.blake2b(f"{kind}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def strip_final_punct(src: str, tgt: str) -> tuple[str, str]:
    """Both sides without their final punctuation, where both end in some and keep a word."""
    src_bare, tgt_bare = src.rstrip().rstrip(FINAL_PUNCT).rstrip(), tgt.rstrip().rstrip(FINAL_PUNCT).rstrip()
    if src_bare == src.rstrip() or tgt_bare == tgt.rstrip() or not src_bare or not tgt_bare:
        return src, tgt
    return src_bare, tgt_bare


def new_numbers(src: str, tgt: str, index: int) -> tuple[str, str]:
    """Where both sides hold the same numbers (digit runs), each number replaced by another, the same on both sides:
    1 to 7 digits, without a leading zero unless the number had one (then zero-padded to its new length). A draw below
    10**(length-1) becomes 10**(length-1): round numbers come up a little more often, as they do in text."""
    numbers = DIGITS.findall(src)
    if not numbers or sorted(numbers) != sorted(DIGITS.findall(tgt)):
        return src, tgt
    replacement = {}
    for number in dict.fromkeys(numbers):
        length = 1 + int(draw(index, f"length:{number}") * 7)
        value = int(draw(index, f"value:{number}") * 10**length)
        text = str(value).zfill(length) if number.startswith("0") else str(max(value, 10 ** (length - 1) if length > 1 else 0))
        replacement[number] = text
    if len(set(replacement.values())) < len(replacement):  # two numbers made one: keep the pair as it is
        return src, tgt
    return tuple(DIGITS.sub(lambda match: replacement[match.group()], side) for side in (src, tgt))


def new_names(src: str, tgt: str, index: int) -> tuple[str, str]:
    """Each of TRAINING_NAMES that both sides name equally often, replaced by one of NEW_NAMES on both sides."""
    for name, pattern in NAME_PATTERNS.items():
        count = len(pattern.findall(src))
        if count and count == len(pattern.findall(tgt)):
            new = NEW_NAMES[int(draw(index, f"name:{name}") * len(NEW_NAMES))]
            src, tgt = pattern.sub(new, src), pattern.sub(new, tgt)
    return src, tgt


def augment_pair(src: str, tgt: str, index: int, rates: dict[str, float]) -> tuple[str, str]:
    """The pair at `index`, with each variant of `rates` ({kind: probability}) that its draws choose."""
    if rates.get("names") and draw(index, "names") < rates["names"]:
        src, tgt = new_names(src, tgt, index)
    if rates.get("numbers") and draw(index, "numbers") < rates["numbers"]:
        src, tgt = new_numbers(src, tgt, index)
    if rates.get("no_final_punct") and draw(index, "no_final_punct") < rates["no_final_punct"]:
        src, tgt = strip_final_punct(src, tgt)
    if rates.get("lowercase") and draw(index, "lowercase") < rates["lowercase"]:
        src = src.lower()
    return src, tgt


def augment_pairs(pairs: Iterable[tuple[str, str]], rates: dict[str, float]) -> Iterator[tuple[str, str]]:
    """The training pairs with their variants (see augment_pair)."""
    for index, (src, tgt) in enumerate(pairs):
        yield augment_pair(src, tgt, index, rates)
