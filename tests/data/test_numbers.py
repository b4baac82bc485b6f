from s2s.data.numbers import english, generate, german


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
    assert len(train) == 200 and not train & test and not valid & test and not train & valid
    assert generate(200, 50, 50, seed=8)["test"] != a["test"]
    assert max(len(s.split()) for s in a["train"][0]) >= 18  # long inputs are common
