"""Tests for the training-pair variants of text as people type it (data/augment.py, data.augment_*)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import tiny_config_dict

from s2s.config import config_from_dict
from s2s.data.augment import (REAL_NAMES, REAL_PLACES, TRAINING_NAMES, TRAINING_PLACES, VERSION, augment_pair,
                              augment_pairs, fragment, made_up_name, new_names, new_numbers, new_places, strip_final_punct)
from s2s.data.corpus import _TrainingText
from s2s.errors import S2SError

ALL = {"no_final_punct": 1.0, "lowercase": 1.0, "numbers": 1.0, "names": 1.0}


@pytest.mark.parametrize("src, tgt, expected", [
    ("Wie geht es dir?", "How are you?", ("Wie geht es dir", "How are you")),
    ("Lauf!", "Run!", ("Lauf", "Run")),
    ("Warte ...", "Wait...", ("Warte", "Wait")),
    ("Ein Hund", "A dog.", ("Ein Hund", "A dog.")),  # one side without: the pair stays as it is
    ("?", "?", ("?", "?")),  # nothing would be left
])
def test_final_punctuation_goes_from_both_sides_or_neither(src, tgt, expected) -> None:
    assert strip_final_punct(src, tgt) == expected


def test_numbers_are_replaced_alike_on_both_sides() -> None:
    src, tgt = new_numbers("Er kam 1942 mit 3 Hunden und 3 Katzen, Zimmer 007.",
                           "He came in 1942 with 3 dogs and 3 cats, room 007.", index=11)
    src_numbers, tgt_numbers = re.findall(r"\d+", src), re.findall(r"\d+", tgt)
    assert src_numbers == tgt_numbers and len(src_numbers) == 4
    assert src_numbers[1] == src_numbers[2]  # one number, one replacement
    assert all(1 <= len(number) <= 7 for number in src_numbers)
    assert not any(number.startswith("0") and len(number) > 1 for number in src_numbers[:3])
    assert re.sub(r"\d+", "N", src) == "Er kam N mit N Hunden und N Katzen, Zimmer N."


def test_pairs_whose_numbers_differ_keep_them() -> None:
    pair = ("Es ist halb acht, 7:30.", "It's 7.30 or 19:30.")
    assert new_numbers(*pair, index=3) == pair


def test_names_are_replaced_with_their_possessives_where_both_sides_name_them_equally() -> None:
    src, tgt = new_names("Toms Hund mag Tom.", "Tom's dog likes Tom.", index=2)
    name = tgt.split("'")[0]
    assert name not in TRAINING_NAMES and src == f"{name}s Hund mag {name}." and tgt == f"{name}'s dog likes {name}."
    pair = ("Tom und Tom.", "Tom is here.")  # counts differ: which Tom is which is unknown
    assert new_names(*pair, index=2) == pair
    assert new_names("Tomaten für Tom.", "Tomatoes for Tom.", index=2)[0].startswith("Tomaten für ")


def test_places_are_real_cities_or_made_up_ones_with_a_places_ending() -> None:
    places = [new_places("Tom wohnt in Boston.", "Tom lives in Boston.", index) for index in range(400)]
    assert all(src.startswith("Tom wohnt in ") and tgt == f"Tom lives in {src.split()[-1]}" for src, tgt in places)
    cities = [tgt.split()[-1].rstrip(".") for _, tgt in places]
    assert 150 < sum(city in REAL_PLACES for city in cities) < 250 and "Boston" not in cities
    assert any(city.endswith(("burg", "dorf", "field")) and city not in REAL_PLACES for city in cities)
    assert new_places("In Chicagos Straßen.", "In Chicago's streets.", 3)[1].endswith("'s streets.")
    pair = ("Boston ist nicht Boston.", "Boston is big.")  # counts differ: left as it is
    assert new_places(*pair, index=1) == pair
    assert augment_pair("Er war in Boston.", "He was in Boston.", 5, {"names": 1.0}) == ("Er war in Boston.",
                                                                                          "He was in Boston.")


def test_the_real_names_and_places_are_not_those_robustness_measures_with() -> None:
    import importlib.util
    spec = importlib.util.spec_from_file_location("robustness", Path(__file__).parents[2] / "scripts/robustness.py")
    robustness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(robustness)
    measured = set(robustness.EVAL_NAMES) | set(robustness.EVAL_COMMON_NAMES) | set(robustness.EVAL_PLACES)
    assert measured and not measured & (set(REAL_NAMES) | set(REAL_PLACES) | set(TRAINING_NAMES) | set(TRAINING_PLACES))
    assert not any(name.endswith(("s", "x", "z", "ß")) for name in REAL_NAMES + REAL_PLACES)


def test_names_and_numbers_come_in_many_letters_and_lengths() -> None:
    pairs = [augment_pair("Tom ist 42.", "Tom is 42.", index, {"names": 1.0, "numbers": 1.0}) for index in range(400)]
    names = [tgt.split()[0] for _, tgt in pairs]
    lengths = {len(re.search(r"\d+", tgt).group()) for _, tgt in pairs}
    real = [name for name in names if name in REAL_NAMES]
    assert 150 < len(real) < 250 and len(set(real)) > 80  # half of them real, many different ones
    made_up = set(names) - set(REAL_NAMES)
    assert len(made_up) > 150 and any(not name.isascii() for name in made_up)  # made up afresh: only copying helps
    assert any(re.search("[а-я]", name) for name in names) and any(re.search("[α-ω]", name) for name in names)
    assert not any(name.endswith(("s", "x", "z", "ß")) or not name[0].isupper() for name in names)
    assert lengths == set(range(1, 8))
    assert made_up_name(7, "Tom") == made_up_name(7, "Tom") != made_up_name(8, "Tom")


@pytest.mark.parametrize("src, tgt, time", [
    ("Wir treffen uns um 9:30 Uhr.", "We meet at 9:30.", r"(\d{1,2}):(\d\d)"),
    ("Der Zug fährt um 9.30 Uhr.", "The train leaves at 9:30 a.m.", r"(\d{1,2})[.:](\d\d)"),
    ("Er kam um 9 Uhr.", "He came at 9 o'clock.", r"(\d{1,2})()"),
    ("Um 7 Uhr.", "At 7pm.", r"(\d{1,2})()"),
])
def test_times_stay_times(src, tgt, time) -> None:
    seen = set()
    for index in range(200):
        new_src, new_tgt = new_numbers(src, tgt, index)
        (hour, minutes), = re.findall(time, new_src)
        assert re.findall(time, new_tgt) == [(hour, minutes)]
        assert 1 <= int(hour) <= 12 and (minutes == "" or 0 <= int(minutes) <= 59)
        seen.add((hour, minutes))
    assert len(seen) > 10


def test_digits_after_a_separator_keep_their_length() -> None:
    lengths = set()
    for index in range(100):
        src, tgt = new_numbers("Es kostet 3,50 Euro.", "It costs 3.50 euros.", index)
        whole, cents = re.search(r"(\d+),(\d+)", src).groups()
        assert tgt == f"It costs {whole}.{cents} euros." and len(cents) == 2
        lengths.add(len(whole))
    assert len(lengths) > 3


@pytest.mark.parametrize("german, english, phrases", [
    ("Ein kleines Mädchen spielt im Park.", "A little girl plays in the park.",
     {("Ein kleines Mädchen", "A little girl"), ("kleines Mädchen", "little girl")}),
    ("Zwei Hunde rennen durch den Schnee.", "Two dogs are running through the snow.",
     {("Zwei Hunde", "Two dogs"), ("Hunde", "dogs")}),
    ("Tom ist müde.", "Tom is tired.", {("Tom", "Tom")}),
])
def test_fragments_are_the_noun_phrase_a_pair_opens_with(german, english, phrases) -> None:
    seen = {fragment(german, english, index, ("de", "en")) for index in range(200)}
    assert phrases <= seen <= phrases | {(german, english)}  # names: a share only; else either form, unpunctuated
    reverse = {fragment(english, german, index, ("en", "de")) for index in range(200)}
    assert reverse == {(tgt, src) for src, tgt in seen}  # the same phrases for English to German


@pytest.mark.parametrize("german, english", [
    ("Ein Tennisspieler schlägt den Ball.", "A tennis player hits the ball."),  # a compound: words do not line up
    ("Ein schwarz-weißer Hund rennt.", "A black and white dog runs."),
    ("Ich sehe einen Hund.", "I see a dog."),  # opens with no noun phrase
])
def test_fragments_leave_pairs_whose_phrases_cannot_be_told(german, english) -> None:
    assert {fragment(german, english, index, ("de", "en")) for index in range(100)} == {(german, english)}


def test_fragments_only_for_german_and_english() -> None:
    pair = ("Un petit chien court.", "A little dog runs.")
    assert {fragment(*pair, index, ("fr", "en")) for index in range(50)} == {pair}
    assert augment_pair("Ein Hund rennt.", "A dog runs.", 0, {"fragments": 1.0}) == ("Ein Hund rennt.", "A dog runs.")


def test_lowercase_touches_the_source_only() -> None:
    assert augment_pair("Wo ist der Bahnhof?", "Where is the station?", 0, {"lowercase": 1.0}) == \
        ("wo ist der bahnhof?", "Where is the station?")


def test_variants_are_fixed_by_the_place_and_follow_the_rates() -> None:
    pairs = [("Tom hat 12 Äpfel.", "Tom has 12 apples.")] * 2000
    first, again = list(augment_pairs(pairs, {"no_final_punct": 0.25})), list(augment_pairs(pairs, {"no_final_punct": 0.25}))
    assert first == again
    changed = sum(src != pairs[0][0] for src, _ in first)
    assert 400 < changed < 600  # about a quarter
    assert list(augment_pairs(pairs[:50], {})) == pairs[:50]
    everything = list(augment_pairs(pairs[:50], ALL))
    assert all(src.islower() and not src.endswith(".") and not tgt.startswith("Tom") for src, tgt in everything)


def augmented_config(tmp_path: Path, **rates):
    folder = tmp_path / "text"
    folder.mkdir(parents=True)
    lines = {"train.src": ["Tom hat 12 Äpfel.", "Wo ist Tom?"] * 5, "train.tgt": ["Tom has 12 apples.", "Where is Tom?"] * 5,
             "valid.src": ["Tom hat 12 Äpfel."], "valid.tgt": ["Tom has 12 apples."]}
    for name, text in lines.items():
        (folder / name).write_text("\n".join(text) + "\n", encoding="utf-8")
    data = {"dataset": "files", **{name.replace(".", "_"): str(folder / name) for name in lines},
            **{f"augment_{kind}": rate for kind, rate in rates.items()}}
    return config_from_dict(tiny_config_dict(tmp_path / "run", data=data))


def test_the_training_text_carries_the_variants_and_its_identity_says_so(tmp_path) -> None:
    plain = _TrainingText(augmented_config(tmp_path / "a").data, None)
    augmented = _TrainingText(augmented_config(tmp_path / "b", names=1.0, no_final_punct=1.0).data, None)
    assert "augment" not in plain.identity()  # unaugmented data keeps its cache keys
    assert augmented.identity()["augment"] == {"no_final_punct": 1.0, "names": 1.0}
    assert augmented.identity()["augment_version"] == VERSION  # a change to the variants invalidates the cache
    src, tgt = augmented.lists()
    assert not any("Tom" in line or line.endswith((".", "?")) for line in src + tgt)
    assert list(augmented.target_lines()) == tgt and list(augmented.source_lines()) == src


@pytest.mark.parametrize("data, message", [
    ({"augment_names": 1.5}, "'data.augment_names' must be in [0, 1], got 1.5"),
    ({"augment_fragments": 2.0}, "'data.augment_fragments' must be in [0, 1], got 2.0"),
    ({"augment_lowercase": -0.1}, "'data.augment_lowercase' must be in [0, 1], got -0.1"),
    ({"augment_numbers": 0.5}, "data.augment_numbers makes variants of parallel training pairs read from files, but "
                               "'data.dataset' is 'numbers'; set it to 0"),
])
def test_bad_augment_settings_are_clear_errors(tmp_path, data, message) -> None:
    with pytest.raises(S2SError) as error:
        config_from_dict(tiny_config_dict(tmp_path, data=data), "c.yaml")
    assert message in str(error.value) and str(error.value).startswith("c.yaml")


def test_every_kind_has_its_card_label_and_config_key() -> None:
    from s2s.config import DataConfig
    from s2s.data.augment import KINDS, LABELS

    assert set(LABELS) == set(KINDS)
    assert all(hasattr(DataConfig(), f"augment_{kind}") for kind in KINDS)
