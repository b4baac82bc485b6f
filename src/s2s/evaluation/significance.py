"""Paired significance tests of systems against a baseline on one test set, with sacreBLEU's own implementation
(sacrebleu.significance.PairedTest): paired bootstrap resampling (Koehn 2004; 95 % confidence intervals too) and
approximate randomization (Riezler & Maxwell 2005), for BLEU and chrF as s2s evaluate computes them."""

from __future__ import annotations

import contextlib
import os

from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest

from s2s.errors import S2SError

DEFAULT_SEED = 12345  # sacreBLEU's own default
BOOTSTRAP_SAMPLES, AR_TRIALS = 1000, 10000  # sacreBLEU's defaults
# below these the numbers are printed but say little: a test set of a few sentences resamples into the same few
# scores (one sentence: every resample is the test set itself), and p cannot go below 1 / (samples + 1)
FEW_SENTENCES, FEW_SAMPLES = 50, 100
METRICS = {"bleu": BLEU, "chrf": CHRF}  # default settings: the scores s2s evaluate reports


@contextlib.contextmanager
def _sacrebleu_seed(seed: int):
    """PairedTest reads its seed from $SACREBLEU_SEED when it is built: set it there for that moment."""
    previous = os.environ.get("SACREBLEU_SEED")
    os.environ["SACREBLEU_SEED"] = str(seed)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SACREBLEU_SEED"]
        else:
            os.environ["SACREBLEU_SEED"] = previous


def paired_significance(references: list[str], systems: list[tuple[str, list[str]]], seed: int = DEFAULT_SEED,
                        bootstrap_samples: int = BOOTSTRAP_SAMPLES, ar_trials: int = AR_TRIALS,
                        reference_name: str = "the references") -> dict:
    """Test every system against the first one (the baseline) on the same references; systems are (name, lines).

    Per system and metric: the corpus score, its difference to the baseline's, the bootstrap mean and the half-width
    of its 95 % confidence interval, and the p-values of both tests (None for the baseline). A system identical to
    the baseline line by line gets p = 1: sacreBLEU counts only differences above the observed one, so it would
    give such a system its smallest p-value (1 / (samples + 1)), as if the difference of 0 were significant.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 1:
        raise S2SError(f"seed must be an integer >= 1 (sacreBLEU takes 0 as 'no seed'), got {seed!r}.")
    if len(systems) < 2:
        raise S2SError("give a baseline and at least one system to test against it.")
    if not references:
        raise S2SError(f"{reference_name} has no lines; a test set needs at least one sentence.")
    for name, lines in systems:
        if len(lines) != len(references):
            raise S2SError(f"'{name}' has {len(lines)} lines but {reference_name} has {len(references)}; each system "
                           f"needs one translation per reference line, in the same order.")
    metrics = {key: metric() for key, metric in METRICS.items()}
    tests = {}
    for test, samples in (("bootstrap", bootstrap_samples), ("ar", ar_trials)):
        with _sacrebleu_seed(seed):
            paired = PairedTest(systems, metrics, [references], "bs" if test == "bootstrap" else "ar", samples)
        tests[test] = paired()  # (signatures, results), each keyed by sacreBLEU's metric names
    names = dict(zip(METRICS, [name for name in tests["bootstrap"][1] if name != "System"]))  # bleu: BLEU, chrf: chrF2
    baseline = systems[0][1]
    rows = []
    for index, (name, lines) in enumerate(systems):
        identical = index > 0 and lines == baseline
        row = {"name": name, "baseline": index == 0, "identical_to_baseline": identical}
        for key, metric_name in names.items():
            boot, ar = tests["bootstrap"][1][metric_name][index], tests["ar"][1][metric_name][index]
            base_score = tests["bootstrap"][1][metric_name][0].score
            row[key] = {"score": round(boot.score, 4), "delta": round(boot.score - base_score, 4),
                        "mean": round(float(boot.mean), 4), "ci": round(float(boot.ci), 4),
                        "p_bootstrap": 1.0 if identical else boot.p_value, "p_ar": 1.0 if identical else ar.p_value}
        rows.append(row)
    return {"sentences": len(references), "seed": seed, "bootstrap_samples": bootstrap_samples, "ar_trials": ar_trials,
            "warnings": significance_warnings(len(references), bootstrap_samples, ar_trials, reference_name),
            "signatures": {key: {test: str(tests[test][0][name]) for test in tests} for key, name in names.items()},
            "systems": rows}


def significance_warnings(sentences: int, bootstrap_samples: int, ar_trials: int,
                          reference_name: str = "the references") -> list[str]:
    """Why the tests' numbers mean little, one sentence each: too few sentences (under FEW_SENTENCES), too few
    bootstrap samples or AR trials (under FEW_SAMPLES); empty when nothing is wrong."""
    warnings = []
    if sentences < FEW_SENTENCES:
        warnings.append(f"{reference_name} has {sentences} sentence{'s' if sentences != 1 else ''}: the resampled test "
                        f"sets can only repeat {'it' if sentences == 1 else 'them'}, so the p-values and confidence "
                        f"intervals mean little; test on at least {FEW_SENTENCES} sentences (a few hundred is usual).")
    for count, what, flag, default in ((bootstrap_samples, "bootstrap samples", "--bootstrap-samples", BOOTSTRAP_SAMPLES),
                                       (ar_trials, "approximate randomization trials", "--ar-trials", AR_TRIALS)):
        if count < FEW_SAMPLES:
            warnings.append(f"{count} {what} ({flag}) are too few for a p-value (it cannot go below 1/{count + 1})"
                            f"{' or a confidence interval' if flag == '--bootstrap-samples' else ''}; use the default "
                            f"{default}.")
    return warnings


def _p(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def format_significance(result: dict) -> str:
    """A Markdown table (one row per system, the baseline first) and the lines that say how it was computed."""
    lines = ["| system | BLEU (Δ) | 95 % CI | p bootstrap | p AR | chrF (Δ) | 95 % CI | p bootstrap | p AR |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["systems"]:
        cells = [f"{row['name']}" + (" (baseline)" if row["baseline"] else " (identical to the baseline)"
                                     if row["identical_to_baseline"] else "")]
        for key in METRICS:
            score = row[key]
            delta = "" if row["baseline"] else f" ({score['delta']:+.2f})"
            cells += [f"{score['score']:.2f}{delta}", f"{score['mean']:.2f} ± {score['ci']:.2f}",
                      _p(score["p_bootstrap"]), _p(score["p_ar"])]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"{result['sentences']} sentences; paired bootstrap resampling with {result['bootstrap_samples']} "
              f"samples (95 % CI: the bootstrap mean ± half the 2.5-97.5 percentile range), approximate randomization "
              f"with {result['ar_trials']} trials; seed {result['seed']}. p: the share of resampled (bootstrap) or shuffled "
              f"(AR) test sets whose difference exceeds the observed one, i.e. how likely a difference this large is "
              f"by chance if the system and the baseline were equally good."]
    for key, label in (("bleu", "BLEU"), ("chrf", "chrF")):
        lines.append(f"{label} signatures: `{result['signatures'][key]['bootstrap']}`, `{result['signatures'][key]['ar']}`")
    lines += [f"**Warning:** {warning}" for warning in result.get("warnings", [])]
    return "\n".join(lines)
