import pytest

from s2s.data.numbers import english, generate, german, short_numbers


def test_number_words():
    assert english(342_517) == "three hundred forty two thousand five hundred seventeen"
    assert german(342_517) == "drei hundert zwei und vierzig tausend fünf hundert siebzehn"
    assert german(101_001) == "hundert ein tausend eins"
    assert german(2_000_021) == "zwei Millionen ein und zwanzig"
    assert german(1_000_000_000) == "eine Milliarde"
    assert english(0) == german(0).replace("null", "zero")


def test_splits_are_deterministic_and_disjoint():
    a, b = generate(200, 50, 50, seed=7), generate(200, 50, 50, seed=7)
    assert a == b
    train, valid, test = (set(a[name][0]) for name in ("train", "valid", "test"))
    assert len(a["train"][0]) == 200 and len(valid) == 50 and len(test) == 50  # repeats only in train
    assert not train & test and not valid & test and not train & valid
    assert generate(200, 50, 50, seed=8)["test"] != a["test"]
    assert max(len(s.split()) for s in a["train"][0]) >= 18  # long inputs are common


def test_every_number_below_1000_is_taught_and_short_ones_are_common():
    splits = generate(20_000, 500, 1000, max_digits=12, seed=1)
    train = splits["train"][0]
    assert {english(n) for n in range(1000)} <= set(train)
    two_words = {english(n) for n in short_numbers(12)}
    assert {"nine thousand", "forty million", "twelve billion", "seven hundred"} <= two_words <= set(train)
    assert max(len(words.split()) for words in two_words) == 2 and len(two_words) == 190
    assert train.count("nine thousand") == 10 and train.count("twelve billion") == 10  # 1 + REPEAT copies
    assert train.count("three") >= 50  # one-digit numbers: about 1/12 of the pairs, shared by ten numbers
    assert sum(len(s.split()) == 2 for s in train) >= 1000  # "forty two", "one hundred", "five thousand"...
    held_out = splits["valid"][0] + splits["test"][0]
    assert len(set(held_out)) == 1500 and not set(held_out) & set(train)
    assert min(len(s.split()) for s in held_out) >= 2  # at least four digits: "one thousand"


def test_too_few_digits_for_a_held_out_split_is_a_clear_error():
    with pytest.raises(ValueError, match="numbers_max_digits must be at least 4"):
        generate(100, 10, 10, max_digits=3)
