"""Tests for the training-pair variants of text as people type it (data/augment.py, data.augment_*)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import tiny_config_dict

from s2s.config import config_from_dict
from s2s.data.augment import NEW_NAMES, augment_pair, augment_pairs, new_names, new_numbers, strip_final_punct
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
    assert name in NEW_NAMES and src == f"{name}s Hund mag {name}." and tgt == f"{name}'s dog likes {name}."
    pair = ("Tom und Tom.", "Tom is here.")  # counts differ: which Tom is which is unknown
    assert new_names(*pair, index=2) == pair
    assert new_names("Tomaten für Tom.", "Tomatoes for Tom.", index=2)[0].startswith("Tomaten für ")


def test_names_and_numbers_come_in_many_letters_and_lengths() -> None:
    pairs = [augment_pair("Tom ist 42.", "Tom is 42.", index, {"names": 1.0, "numbers": 1.0}) for index in range(400)]
    names = {tgt.split()[0] for _, tgt in pairs}
    lengths = {len(re.search(r"\d+", tgt).group()) for _, tgt in pairs}
    assert len(names) > 50 and any(not name.isascii() for name in names)
    assert lengths == set(range(1, 8))


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
    src, tgt = augmented.lists()
    assert not any("Tom" in line or line.endswith((".", "?")) for line in src + tgt)
    assert list(augmented.target_lines()) == tgt and list(augmented.source_lines()) == src


@pytest.mark.parametrize("data, message", [
    ({"augment_names": 1.5}, "'data.augment_names' must be in [0, 1], got 1.5"),
    ({"augment_lowercase": -0.1}, "'data.augment_lowercase' must be in [0, 1], got -0.1"),
    ({"augment_numbers": 0.5}, "data.augment_numbers makes variants of parallel training pairs read from files, but "
                               "'data.dataset' is 'numbers'; set it to 0"),
])
def test_bad_augment_settings_are_clear_errors(tmp_path, data, message) -> None:
    with pytest.raises(S2SError) as error:
        config_from_dict(tiny_config_dict(tmp_path, data=data), "c.yaml")
    assert message in str(error.value) and str(error.value).startswith("c.yaml")
