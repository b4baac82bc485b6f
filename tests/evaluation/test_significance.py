"""Paired significance tests (sacreBLEU's): a system against itself, a clearly better system, the seed, the checks."""

import os
import random

import pytest
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest

from s2s.errors import S2SError
from s2s.evaluation.metrics import corpus_scores
from s2s.evaluation.significance import format_significance, paired_significance

WORDS = "a man in a red shirt is riding his bike down the street while two dogs play near the old house".split()


def corpus(lines: int = 80, seed: int = 0) -> tuple[list[str], list[str], list[str]]:
    """(references, a baseline with about a fifth of each reference's words dropped, another such system)."""
    rng = random.Random(seed)
    references = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))) for _ in range(lines)]

    def degrade(line: str) -> str:
        return " ".join(word for word in line.split() if rng.random() > 0.2)

    return references, [degrade(r) for r in references], [degrade(r) for r in references]


def test_a_system_identical_to_the_baseline_gets_p_1_where_sacrebleu_gives_its_smallest_p():
    references, baseline, _ = corpus()
    result = paired_significance(references, [("base", baseline), ("copy", list(baseline))], ar_trials=1000)
    copy = result["systems"][1]
    assert copy["identical_to_baseline"] and not result["systems"][0]["identical_to_baseline"]
    for key in ("bleu", "chrf"):
        assert copy[key]["p_bootstrap"] == 1.0 and copy[key]["p_ar"] == 1.0 and copy[key]["delta"] == 0.0
        assert copy[key]["ci"] == result["systems"][0][key]["ci"] > 0
    # why: sacreBLEU counts resampled differences strictly above the observed 0, so it finds none
    _, scores = PairedTest([("base", baseline), ("copy", baseline)], {"BLEU": BLEU()}, [references], "bs", 1000)()
    assert scores["BLEU"][1].p_value == 1 / 1001


def test_a_clearly_better_system_is_significant_and_a_similar_one_is_not():
    references, baseline, similar = corpus()
    better = [reference if i % 2 else line for i, (reference, line) in enumerate(zip(references, baseline))]
    result = paired_significance(references, [("base", baseline), ("better", better), ("similar", similar)],
                                 ar_trials=1000)
    base, best, other = result["systems"]
    assert base["bleu"]["p_bootstrap"] is None and base["chrf"]["p_ar"] is None
    for key in ("bleu", "chrf"):
        assert best[key]["delta"] > 5
        assert best[key]["p_bootstrap"] < 0.05 and best[key]["p_ar"] < 0.05
        assert other[key]["p_bootstrap"] > 0.05 and other[key]["p_ar"] > 0.05
    # the scores are s2s evaluate's
    assert round(best["bleu"]["score"], 2) == corpus_scores(better, references)["bleu"]
    assert round(best["chrf"]["score"], 2) == corpus_scores(better, references)["chrf"]


def test_the_seed_makes_it_repeatable_and_sacrebleu_seed_is_neither_read_nor_changed(monkeypatch):
    references, baseline, similar = corpus(lines=40)
    systems = [("base", baseline), ("similar", similar)]
    monkeypatch.setenv("SACREBLEU_SEED", "7")
    first = paired_significance(references, systems, seed=3, ar_trials=500)
    assert os.environ["SACREBLEU_SEED"] == "7"
    monkeypatch.delenv("SACREBLEU_SEED")
    again = paired_significance(references, systems, seed=3, ar_trials=500)
    assert again == first and format_significance(again) == format_significance(first)
    assert "SACREBLEU_SEED" not in os.environ
    other = paired_significance(references, systems, seed=4, ar_trials=500)
    assert other["systems"][1]["bleu"]["p_ar"] != first["systems"][1]["bleu"]["p_ar"]
    assert other["systems"][1]["bleu"]["score"] == first["systems"][1]["bleu"]["score"]
    assert first["signatures"]["bleu"]["bootstrap"].startswith("nrefs:1|bs:1000|seed:3|case:mixed|eff:no|tok:13a")
    assert first["signatures"]["chrf"]["ar"].startswith("nrefs:1|ar:500|seed:3|case:mixed|eff:yes|nc:6|nw:0")


def test_unequal_line_counts_a_lone_baseline_and_seed_0_are_refused():
    references, baseline, similar = corpus(lines=10)
    with pytest.raises(S2SError, match=r"^'b.txt' has 9 lines but --ref 'r.txt' has 10; each system needs one "):
        paired_significance(references, [("a.txt", baseline), ("b.txt", similar[:9])], reference_name="--ref 'r.txt'")
    with pytest.raises(S2SError, match="give a baseline and at least one system"):
        paired_significance(references, [("a.txt", baseline)])
    with pytest.raises(S2SError, match="seed must be an integer >= 1"):
        paired_significance(references, [("a.txt", baseline), ("b.txt", similar)], seed=0)


def test_the_table_has_a_row_per_system_with_the_baseline_first():
    references, baseline, similar = corpus(lines=20)
    result = paired_significance(references, [("base", baseline), ("similar", similar), ("same", baseline)],
                                 bootstrap_samples=200, ar_trials=200)
    lines = format_significance(result).splitlines()
    assert lines[0] == "| system | BLEU (Δ) | 95 % CI | p bootstrap | p AR | chrF (Δ) | 95 % CI | p bootstrap | p AR |"
    assert lines[2].startswith("| base (baseline) | ") and lines[2].endswith(" | – | – |")
    assert lines[3].startswith("| similar | ")
    assert lines[4].startswith("| same (identical to the baseline) | ") and lines[4].endswith(" | 1.0000 | 1.0000 |")
    bleu = result["systems"][1]["bleu"]
    assert f"| {bleu['score']:.2f} ({bleu['delta']:+.2f}) | {bleu['mean']:.2f} ± {bleu['ci']:.2f} |" in lines[3]
    assert "20 sentences; paired bootstrap resampling with 200 samples" in lines[6]


FEW = ("--ref 'r.txt' has {n} sentence{s}: the resampled test sets can only repeat {them}, so the p-values and "
       "confidence intervals mean little; test on at least 50 sentences (a few hundred is usual).")
FEW_BOOTSTRAP = ("{n} bootstrap samples (--bootstrap-samples) are too few for a p-value (it cannot go below 1/{m}) or a "
                 "confidence interval; use the default 1000.")
FEW_AR = ("{n} approximate randomization trials (--ar-trials) are too few for a p-value (it cannot go below 1/{m}); use "
          "the default 10000.")


@pytest.mark.parametrize("lines, samples, trials, warnings", [
    (80, 100, 100, []),
    (1, 100, 100, [FEW.format(n=1, s="", them="it")]),
    (49, 100, 100, [FEW.format(n=49, s="s", them="them")]),
    (80, 1, 100, [FEW_BOOTSTRAP.format(n=1, m=2)]),
    (80, 100, 99, [FEW_AR.format(n=99, m=100)]),
    (3, 1, 1, [FEW.format(n=3, s="s", them="them"), FEW_BOOTSTRAP.format(n=1, m=2), FEW_AR.format(n=1, m=2)]),
])
def test_numbers_that_mean_little_say_so_in_the_result_and_the_table(lines, samples, trials, warnings):
    references, baseline, similar = corpus(lines=lines)
    result = paired_significance(references, [("a.txt", baseline), ("b.txt", similar)], bootstrap_samples=samples,
                                 ar_trials=trials, reference_name="--ref 'r.txt'")
    assert result["warnings"] == warnings
    table = format_significance(result).splitlines()
    assert [line for line in table if line.startswith("**Warning:** ")] == [f"**Warning:** {w}" for w in warnings]
