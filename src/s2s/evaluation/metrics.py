"""Corpus scores with sacreBLEU: cased detokenized BLEU and chrF with signatures, lowercased BLEU, and BLEU in the
convention of the Multi30k papers (lowercased, Moses-tokenized with aggressive hyphen splitting) when sacremoses
is installed (the `moses` extra)."""

from __future__ import annotations

from sacrebleu.metrics import BLEU, CHRF

from s2s.errors import S2SError


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


PAPERS_CONVENTION = "lowercased, Moses-tokenized (sacremoses, aggressive hyphen splitting), sacreBLEU tok:none"


def moses_available() -> bool:
    try:
        import sacremoses  # noqa: F401
    except ImportError:
        return False
    return True


def papers_bleu(hypotheses: list[str], references: list[str], lang: str) -> dict:
    """BLEU as the Multi30k papers report it (multi-bleu.perl over `tokenizer.perl -l LANG -a` output, lowercased):
    {"bleu", "signature"}. Needs sacremoses: pip install -e '.[moses]'."""
    try:
        from sacremoses import MosesTokenizer
    except ImportError:
        raise S2SError("BLEU in the papers' convention needs sacremoses: pip install -e '.[moses]' "
                       "(or pip install sacremoses).") from None
    tokenizer = MosesTokenizer(lang=lang)

    def tokenize(lines: list[str]) -> list[str]:
        return [tokenizer.tokenize(line.lower(), aggressive_dash_splits=True, escape=False, return_str=True)
                for line in lines]

    bleu = BLEU(tokenize="none", lowercase=True, force=True)
    score = bleu.corpus_score(tokenize(hypotheses), [tokenize(references)])
    return {"bleu": round(score.score, 2), "signature": f"{bleu.get_signature()}|moses-a:{lang}"}
