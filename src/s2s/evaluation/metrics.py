"""Corpus scores with sacreBLEU: cased detokenized BLEU and chrF with signatures, plus lowercased BLEU for papers."""

from __future__ import annotations

from sacrebleu.metrics import BLEU, CHRF


def corpus_scores(hypotheses: list[str], references: list[str]) -> dict:
    """Score detokenized hypotheses against one reference each; the same code selects models and reports results."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    bleu, chrf, bleu_lc = BLEU(), CHRF(), BLEU(lowercase=True)
    bleu_score = bleu.corpus_score(hypotheses, [references])
    chrf_score = chrf.corpus_score(hypotheses, [references])
    lc_score = bleu_lc.corpus_score(hypotheses, [references])
    return {
        "bleu": round(bleu_score.score, 2),
        "chrf": round(chrf_score.score, 2),
        "bleu_lowercase": round(lc_score.score, 2),
        "signature": {"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature()),
                      "bleu_lowercase": str(bleu_lc.get_signature())},
        "bleu_details": {"precisions": [round(p, 2) for p in bleu_score.precisions], "bp": round(bleu_score.bp, 4),
                         "sys_len": bleu_score.sys_len, "ref_len": bleu_score.ref_len},
        "num_sentences": len(hypotheses),
    }


def sentence_bleu(hypothesis: str, reference: str) -> float:
    return BLEU(effective_order=True).sentence_score(hypothesis, [reference]).score
