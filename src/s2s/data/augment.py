"""Training-pair variants for text as people type it: no final punctuation, a lower-cased source, other numbers, other
names, other places, short fragments.

Models trained on edited sentences learn that every input ends in "." and starts with a capital, and loop on a
fragment typed without them ("Ein Hund" -> "A dog dog dog"); numbers and names are copied only as far as the training
text shows them varied (Tatoeba's people are mostly "Tom"). Each training pair is replaced, with the probabilities of
data.augment_*, by a variant that shows what a user types: fixed per pair (a hash of its place in the stream), so the
same data and settings give the same training text, which the data cache keys on (with VERSION). Validation and test
text are never changed.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Callable, Iterable, Iterator

KINDS = ("no_final_punct", "lowercase", "numbers", "names", "places", "fragments")
LABELS = {"no_final_punct": "no final punctuation", "lowercase": "lower-cased source", "numbers": "other numbers",
          "names": "other names", "places": "other places", "fragments": "short fragments"}  # what model cards call them
VERSION = 3  # part of the data cache key: raise it whenever a variant of the same pair changes
FINAL_PUNCT = ".!?…。！？"
DIGITS = re.compile(r"\d+")
# A time, whose numbers stay a time's: "9:30", "9.30 Uhr", "9 Uhr", "9 o'clock", "9 a.m.", "9pm".
TIME_WORD = r"\s?(?:Uhr\b|o'clock\b|[aApP]\.?[mM]\b\.?|h\b)"
CLOCK = re.compile(rf"(?<![\d.,:])(\d{{1,2}})(?::(\d\d)(?![\d:])|\.(\d\d)(?={TIME_WORD}))")
HOUR = re.compile(rf"(?<![\d.,:])(\d{{1,2}})(?={TIME_WORD})")
# Digits after a digit and a separator ("3.5", "1,000", "2.05"): their length is kept.
AFTER_SEPARATOR = re.compile(r"(?<=\d[.,])\d+")
# The persons of the training text that a variant renames: Tatoeba's English and German sentences name them alike.
TRAINING_NAMES = ("Tom", "Mary", "John")
NAME_PATTERNS = {name: re.compile(rf"\b{name}(?=s?\b)") for name in TRAINING_NAMES}  # "Tom", "Tom's", "Toms"
# The cities of the training text that a variant renames (Tatoeba's Tom lives in Boston), written alike in both languages.
TRAINING_PLACES = ("Boston", "Chicago")
PLACE_PATTERNS = {place: re.compile(rf"\b{place}(?=s?\b)") for place in TRAINING_PLACES}
REAL_SHARE = 0.5  # the share of new names and places that are real ones (copied whole); the rest are made up
# Real first names of many languages and cities written alike in German and English, none ending in s, x, z or ß
# (German genitives). Kept apart from the names and cities that scripts/robustness.py measures with, so that its
# figures measure copying, not remembering (a test checks).
REAL_NAMES = (
    "Anna", "Lena", "Leonie", "Mia", "Lea", "Lina", "Emilia", "Clara", "Ella", "Luisa", "Frieda", "Ida", "Greta",
    "Paula", "Johanna", "Franziska", "Katrin", "Simone", "Nadine", "Heike", "Ute", "Renate", "Gisela", "Birgit",
    "Ursula", "Jürgen", "Uwe", "Dieter", "Wolfgang", "Gerhard", "Bernd", "Florian", "Sebastian", "Leon", "Ben", "Finn",
    "Noah", "Levi", "Anton", "Theo", "Jakob", "Emil", "Oskar", "Henry", "Alexander", "Christian", "Tim", "Jonathan",
    "Philipp", "Simon", "Julian", "Kai", "Sven", "Holger", "Volker", "Ralf", "Torsten", "Dirk", "Alice", "Bob",
    "Oliver", "George", "Harry", "Jack", "Charlie", "Amelia", "Grace", "Sophia", "Isabella", "Ethan", "Andrew",
    "Richard", "Joseph", "Christopher", "Matthew", "Anthony", "Mark", "Steven", "Linda", "Barbara", "Elizabeth", "Susan",
    "Karen", "Nancy", "Betty", "Helen", "Sandra", "Donna", "Carol", "Ruth", "Sharon", "Michelle", "Rebecca", "Rachel",
    "Hannah", "Megan", "Amy", "Kate", "Lucy", "Jane", "Ryan", "Justin", "Brandon", "Tyler", "Nathan", "Adam", "Luke",
    "Ahmed", "Mohammed", "Fatima", "Ali", "Omar", "Aisha", "Yuki", "Hiroshi", "Kenji", "Sakura", "Wei", "Li", "Mei",
    "Priya", "Rahul", "Arjun", "Anjali", "Olga", "Ivan", "Dmitri", "Pierre", "Camille", "Chloé", "Giulia", "Marco",
    "Sofia", "Lucia", "Pablo", "Carmen", "José", "Juan", "Ana", "Ingrid", "Arne", "Erik", "Astrid", "Björn", "Søren",
    "Mehmet", "Ayşe", "Zeynep", "Emre", "Kofi", "Amara", "Chidi", "Ngozi", "Thabo", "Wanjiru", "Jamal", "Yusuf",
    "Leila", "Noor", "Farah", "Miguel", "Pedro", "Valentina", "Matteo", "Lorenzo", "Wojciech", "Magda", "Katarzyna",
    "Piotr", "Jiří", "Petr", "Eva", "Zoltán", "Ilona", "Mihai", "Elena", "Nikolai", "Svetlana", "Andrei", "Hamid",
    "Reza", "Shirin")
REAL_PLACES = (
    "Seattle", "Denver", "Houston", "Atlanta", "Miami", "Detroit", "Vancouver", "Melbourne", "Auckland", "Manchester",
    "Glasgow", "Oxford", "Cambridge", "Barcelona", "Helsinki", "Rotterdam", "Bochum", "Bonn", "Kiel", "Ulm", "Freiburg",
    "Augsburg", "Regensburg", "Innsbruck", "Bielefeld", "Karlsruhe", "Mannheim", "Wiesbaden", "Rostock", "Lübeck",
    "Erfurt", "Magdeburg", "Würzburg", "Bamberg", "Marburg", "Göttingen", "Tübingen", "Oldenburg", "Wolfsburg",
    "Duisburg", "Paderborn", "Osnabrück", "Saarbrücken", "Ingolstadt", "Darmstadt", "Heilbronn", "Gelsenkirchen",
    "Flensburg", "Schwerin", "Jena", "Weimar", "Klagenfurt", "Lugano", "Norwich", "Sheffield", "Portland", "Orlando",
    "Nashville", "Calgary", "Ottawa", "Perth", "Adelaide", "Brisbane", "Wellington", "Lima", "Bogotá", "Santiago",
    "Casablanca", "Accra", "Kampala", "Dakar", "Nairobi", "Mumbai", "Delhi", "Shanghai", "Seoul", "Bangkok", "Manila",
    "Jakarta", "Hanoi", "Dubai", "Osaka", "Bergen", "Malmö", "Tampere", "Tallinn", "Riga", "Porto", "Valencia",
    "Bilbao", "Bologna", "Verona", "Kraków", "Gdańsk", "Brno", "Győr", "Cluj", "Plovdiv", "Izmir", "Antalya", "Haifa")
# Endings of made-up places, some of them words of their own ("burg", "berg", "field"), so that the model learns to
# copy a place's pieces instead of translating them ("Salzburg" -> "salt castle").
PLACE_ENDINGS = ("", "", "", "burg", "berg", "dorf", "stadt", "hausen", "feld", "heim", "bach", "ingen", "ville",
                 "ton", "ford", "field", "port", "bridge", "wood", "mouth")


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


def _number_roles(side: str) -> dict[str, set[str]]:
    """{number: roles} of one side's digit runs: 'hour' and 'minute' of a time, 'fixed' after a separator."""
    roles: dict[str, set[str]] = {}
    for match in CLOCK.finditer(side):
        roles.setdefault(match.group(1), set()).add("hour")
        roles.setdefault(match.group(2) or match.group(3), set()).add("minute")
    for match in HOUR.finditer(side):
        roles.setdefault(match.group(1), set()).add("hour")
    for match in AFTER_SEPARATOR.finditer(side):
        roles.setdefault(match.group(), set()).add("fixed")
    return roles


def _new_number(number: str, roles: set[str], index: int) -> str | None:
    """Another number in the same role as `number` (None: none fits): an hour 1-12 (a valid time on a 12- or 24-hour
    clock), minutes 00-59, digits after a separator as many as before, else 1 to 7 digits, without a leading zero unless
    the number had one (then zero-padded to its new length). A free draw below 10**(length-1) becomes 10**(length-1):
    round numbers come up a little more often, as they do in text."""
    value_draw = draw(index, f"value:{number}")
    if {"hour", "minute"} <= roles:
        return None
    if "hour" in roles:
        return str(1 + int(value_draw * 12)).zfill(len(number) if number.startswith("0") else 1)
    if "minute" in roles:
        return str(int(value_draw * 60)).zfill(2)
    if "fixed" in roles:
        return str(int(value_draw * 10 ** len(number))).zfill(len(number))
    length = 1 + int(draw(index, f"length:{number}") * 7)
    value = int(value_draw * 10**length)
    if number.startswith("0"):
        return str(value).zfill(length)
    return str(max(value, 10 ** (length - 1) if length > 1 else 0))


def new_numbers(src: str, tgt: str, index: int) -> tuple[str, str]:
    """Where both sides hold the same numbers (digit runs), each number replaced by another in the same role
    (_new_number), the same on both sides; the pair as it is where two numbers would become one."""
    numbers = DIGITS.findall(src)
    if not numbers or sorted(numbers) != sorted(DIGITS.findall(tgt)):
        return src, tgt
    roles = _number_roles(src)
    for number, tgt_roles in _number_roles(tgt).items():
        roles.setdefault(number, set()).update(tgt_roles)
    replacement = {number: _new_number(number, roles.get(number, set()), index) for number in dict.fromkeys(numbers)}
    if None in replacement.values() or len(set(replacement.values())) < len(replacement):
        return src, tgt
    return tuple(DIGITS.sub(lambda match: replacement[match.group()], side) for side in (src, tgt))


# Letters of made-up names: the consonants and vowels of Latin alphabets with their accents, and of Cyrillic and Greek.
LATIN = ("b c d f g h j k l m n p r s t v w y z ch sh th kr tr br gl ž š č ř ł ñ ç ğ ș ț đ ð þ dž ng",
         "á é í ó ú à è ì ò ù â ê î ô û ä ë ï ö ü ã õ å ø æ ą ę ő ű ı ā ē ī ō ū y ý ǎ ě ư ơ")
PLAIN = ("b c d f g h j k l m n p r s t v w y z", "a e i o u")
CYRILLIC = ("б в г д ж з к л м н п р с т ф х ц ч ш щ", "а е и о у ы э ю я ё")
GREEK = ("β γ δ ζ θ κ λ μ ν ξ π ρ σ τ φ χ ψ", "α ε η ι ο υ ω ά έ ή ί ό ύ ώ")


def made_up_name(index: int, key: str) -> str:
    """A name made up for the pair at `index` (fixed by it and `key`): 1 to 4 syllables in Latin letters, now and
    then accented (mostly), Cyrillic or Greek, capitalized, sometimes two joined by a hyphen. Never one of the training
    text's names, so only copying predicts it; it never ends in s, x, z or ß (German writes their genitive "Hans'",
    every other name's "Annas")."""
    rng = random.Random(int(draw(index, f"made_up_name:{key}") * 2**53))
    alphabet = rng.choices((LATIN, CYRILLIC, GREEK), weights=(0.85, 0.1, 0.05))[0]
    consonants, vowels = (letters.split() for letters in alphabet)
    if alphabet is LATIN:  # plain letters most of the time, accented ones now and then
        consonants, vowels = (plain.split() * 6 + accented for plain, accented in zip(PLAIN, (consonants, vowels)))

    def part() -> str:
        syllables = [rng.choice(consonants) * (rng.random() < 0.8) + rng.choice(vowels)
                     + rng.choice(consonants) * (rng.random() < 0.3) for _ in range(rng.choice((1, 2, 2, 2, 3, 3, 4)))]
        word = "".join(syllables)
        if word[-1] in "sxzßςσ":
            word += rng.choice(vowels)
        return word[:1].upper() + word[1:]

    name = part() if rng.random() < 0.95 else f"{part()}-{part()}"
    return name if name not in TRAINING_NAMES and len(name) > 1 else f"{name}{rng.choice(vowels)}a"


def made_up_place(index: int, key: str) -> str:
    """A place made up for the pair at `index`: a made-up name, often with a place's ending ("Kelobach", "Ravton")."""
    ending = PLACE_ENDINGS[int(draw(index, f"place_ending:{key}") * len(PLACE_ENDINGS))]
    return made_up_name(index, f"place:{key}").split("-")[0] + ending


def _rename(src: str, tgt: str, index: int, patterns: dict[str, re.Pattern], real: tuple[str, ...],
            made_up: Callable[[int, str], str]) -> tuple[str, str]:
    """Each key of `patterns` that both sides name equally often, replaced on both sides by a real one of `real` (for
    REAL_SHARE of the pairs) or by made_up(index, key)."""
    for old, pattern in patterns.items():
        count = len(pattern.findall(src))
        if count and count == len(pattern.findall(tgt)):
            if draw(index, f"real:{old}") < REAL_SHARE:
                new = real[int(draw(index, f"which:{old}") * len(real))]
            else:
                new = made_up(index, old)
            src, tgt = pattern.sub(new, src), pattern.sub(new, tgt)
    return src, tgt


def new_names(src: str, tgt: str, index: int) -> tuple[str, str]:
    """Each of TRAINING_NAMES that both sides name equally often, replaced on both sides by a real name (REAL_NAMES)
    or one made up for the pair."""
    return _rename(src, tgt, index, NAME_PATTERNS, REAL_NAMES, made_up_name)


def new_places(src: str, tgt: str, index: int) -> tuple[str, str]:
    """Each of TRAINING_PLACES that both sides name equally often, replaced on both sides by a real city
    (REAL_PLACES) or one made up for the pair."""
    return _rename(src, tgt, index, PLACE_PATTERNS, REAL_PLACES, made_up_place)


# Short fragments: the noun phrase a German-English pair opens with ("Ein kleines Mädchen" - "A little girl"), found by
# German's capitalized nouns: a determiner, lower-case words, a capitalized word - and an English prefix of as many
# words that opens with a determiner and is followed by a word that cannot go on a noun phrase.
GERMAN_PHRASE = re.compile(r"(Ein|Eine|Der|Die|Das|Zwei|Drei|Vier|Fünf|Mehrere|Einige|Viele|Mein|Meine|Dein|Deine|"
                           r"Sein|Seine|Ihr|Ihre|Unser|Unsere|Dieser|Diese|Dieses|Kein|Keine)"
                           r"((?: [a-zäöü][\w-]*){0,2}) ([A-ZÄÖÜ][\w-]*)"
                           r"(?= [a-zäöüß]|[,.!?]| [A-ZÄÖÜ][\w-]*[^\w\s])")
NAME_FRAGMENTS = 0.2  # the share of the pairs opening with a name that may become that name alone (Tatoeba opens
#   a sixth of its pairs with "Tom": all of them would crowd out the noun phrases)
ENGLISH_DETERMINERS = {"A", "An", "The", "Two", "Three", "Four", "Five", "Several", "Some", "Many", "My", "Your",
                       "His", "Her", "Our", "Their", "This", "These", "That", "Those", "No"}
ENGLISH_AFTER_PHRASE = {"is", "are", "was", "were", "has", "have", "had", "in", "on", "at", "with", "and", "of", "by",
                        "near", "under", "over", "from", "to", "for", "wearing", "while", "who", "that", "next",
                        "behind", "can", "will", "does", "did", "looks", "stands", "sits", "walks", "runs", "plays",
                        "holds", "jumps", "rides", "climbs", "sleeps", "barks", "isn't", "aren't", "doesn't", "won't",
                        "can't", "didn't", "wasn't", "seems", "seem", "look", "sit", "stand", "play", "walk", "run"}


def _phrase_pair(german: str, english: str, index: int) -> tuple[str, str] | None:
    """The noun phrases the pair opens with (or, for a share of NAME_FRAGMENTS, the name both sides open with), or
    None where they cannot be told safely."""
    match = GERMAN_PHRASE.match(german)
    words = english.split()
    if match:
        size = len(match.group(0).split())
        if (len(words) > size and words[0] in ENGLISH_DETERMINERS and all(word.isalpha() and word.islower()
                                                                            for word in words[1:size - 1])
                and words[size - 1].isalpha() and (words[size].lower() in ENGLISH_AFTER_PHRASE
                                                   or words[size].endswith("ing"))):
            return match.group(0), " ".join(words[:size])
    german_words = german.split()
    if (draw(index, "fragment:name") < NAME_FRAGMENTS and len(words) > 1 and len(german_words) > 1
            and words[0] == german_words[0] and words[0].isalpha() and words[0][0].isupper()
            and german_words[1][:1].islower()):
        return words[0], words[0]  # a name both sides open with: "Tom ist müde." - "Tom is tired."
    return None


def fragment(src: str, tgt: str, index: int, languages: tuple[str, str]) -> tuple[str, str]:
    """A German-English pair replaced by the noun phrase it opens with, without final punctuation, and half of the
    time without its determiner ("Hund" - "dog"); other language pairs and pairs without a phrase found as they are."""
    if set(languages) != {"de", "en"}:
        return src, tgt
    german, english = (src, tgt) if languages[0] == "de" else (tgt, src)
    phrases = _phrase_pair(german, english, index)
    if phrases is None:
        return src, tgt
    german, english = phrases
    if " " in german and draw(index, "fragment:bare") < 0.5:
        german, english = german.split(" ", 1)[1], english.split(" ", 1)[1]
    return (german, english) if languages[0] == "de" else (english, german)


def augment_pair(src: str, tgt: str, index: int, rates: dict[str, float],
                 languages: tuple[str, str] = ("", "")) -> tuple[str, str]:
    """The pair at `index`, with each variant of `rates` ({kind: probability}) that its draws choose; `languages`
    (source, target codes) tells fragments which side is German."""
    if rates.get("names") and draw(index, "names") < rates["names"]:
        src, tgt = new_names(src, tgt, index)
    if rates.get("places") and draw(index, "places") < rates["places"]:
        src, tgt = new_places(src, tgt, index)
    if rates.get("numbers") and draw(index, "numbers") < rates["numbers"]:
        src, tgt = new_numbers(src, tgt, index)
    if rates.get("fragments") and draw(index, "fragments") < rates["fragments"]:
        src, tgt = fragment(src, tgt, index, languages)
    if rates.get("no_final_punct") and draw(index, "no_final_punct") < rates["no_final_punct"]:
        src, tgt = strip_final_punct(src, tgt)
    if rates.get("lowercase") and draw(index, "lowercase") < rates["lowercase"]:
        src = src.lower()
    return src, tgt


def augment_pairs(pairs: Iterable[tuple[str, str]], rates: dict[str, float],
                  languages: tuple[str, str] = ("", "")) -> Iterator[tuple[str, str]]:
    """The training pairs with their variants (see augment_pair)."""
    for index, (src, tgt) in enumerate(pairs):
        yield augment_pair(src, tgt, index, rates, languages)
