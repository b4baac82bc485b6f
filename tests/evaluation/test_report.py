import json

import pytest
import torch

from s2s.config import DecodeConfig, ModelConfig
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.evaluation.report import evaluate, md_escape, read_metrics, scores_by_length, spread, write_report
from s2s.models import build_model


def test_scores_by_length_buckets_source_words():
    sources = ["a b c", "a b c d e f g", "w " * 12, "x " * 40, "y z"]
    references = ["the cat sat on the mat", "a dog ran in the park today", "one two three four",
                  "it is a long sentence here", "short one here now"]
    hypotheses = list(references)
    hypotheses[1] = "nothing alike whatsoever"
    rows = scores_by_length(sources, hypotheses, references)
    assert [(r["bucket"], r["sentences"]) for r in rows] == [("1-5", 2), ("6-10", 1), ("11-15", 1), ("31+", 1)]
    assert rows[0]["bleu"] == 100.0 and rows[1]["bleu"] == 0.0 and rows[3]["bleu"] == 100.0


def test_spread_picks_evenly_and_deterministically():
    assert spread(list(range(10)), 3) == [0, 4, 9]
    assert spread([7, 8], 3) == [7, 8]
    assert spread([5, 6, 7], 1) == [5]


def test_md_escape_keeps_tables_and_emphasis_literal():
    assert md_escape("a|b *c* <d> _e_") == r"a\|b \*c\* \<d\> \_e\_"


def test_read_metrics_keeps_the_latest_run_and_names_a_damaged_line(tmp_path):
    lines = [{"step": 10}, {"step": 20}, {"step": 5}, {"step": 15}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    assert read_metrics(tmp_path) == [{"step": 5}, {"step": 15}]
    assert read_metrics(tmp_path / "missing") == []
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\n{"step": \n')
    with pytest.raises(S2SError, match="metrics.jsonl line 2 is not JSON"):
        read_metrics(tmp_path)


@pytest.fixture(scope="module")
def attention_translator():
    torch.manual_seed(0)
    tokenizer = build_tokenizer("whitespace")
    words = "one two three four five six seven eight nine ten eins zwei drei vier fünf".split()
    vocab = Vocab.build([words])
    model = build_model(ModelConfig(name="gru_attn", emb_size=16, hidden_size=32, dropout=0.0), len(vocab), len(vocab))
    return Translator(model, tokenizer, tokenizer, vocab, vocab, DecodeConfig(max_len_ratio=1.0, beam=2))


def test_report_holds_scores_buckets_examples_attention_and_figures(attention_translator, tmp_path):
    sources = ["one two three", "four five six seven", "eight nine", "ten one two three four five six", "two"]
    references = ["eins zwei drei", "vier fünf", "eins", "zwei drei", "zwei"]
    result, hypotheses = evaluate(attention_translator, sources, references, {"beam": 1}, samples=2, worst=3)
    assert len(hypotheses) == 5 and result["num_sentences"] == 5 and result["settings"]["beam"] == 1
    assert [r["sentences"] for r in result["by_length"]] == [4, 1]
    assert [s["line"] for s in result["samples"]] == [1, 5]
    bleus = [w["sentence_bleu"] for w in result["worst"]]
    assert len(bleus) == 3 and bleus == sorted(bleus)
    # attention for the sentences with 3-20 source tokens, evenly spaced: lines 1, 2 (middle) and 4
    assert [a["line"] for a in result["attention"]] == [1, 2, 4]
    first = result["attention"][0]
    assert first["src"] == ["one", "two", "three"]
    weights = torch.tensor(first["weights"])
    assert weights.shape == (len(first["out"]), 3)
    torch.testing.assert_close(weights.sum(1), torch.ones(len(first["out"])), atol=1e-3, rtol=0)

    records = [{"step": 2, "train_loss": 3.0}, {"step": 4, "valid_loss": 2.5, "valid_bleu": 1.0, "train_minutes": 0.1},
               {"step": 6, "train_loss": 2.0}, {"step": 8, "valid_loss": 2.0, "valid_bleu": 3.0, "train_minutes": 0.2}]
    result["step"] = 8
    md_path = write_report(result, tmp_path / "test.json", records)
    md = md_path.read_text()
    for section in ("## Scores", "## BLEU by source length", "## Training", "## Attention", "## Sample translations",
                    "## Worst translations by sentence BLEU", "| 1-5 | 4 |", "highest validation BLEU was 3.00 at step 8"):
        assert section in md
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["test_attention_1.png", "test_attention_2.png", "test_attention_3.png", "test_bleu_by_length.png",
                    "test_training.png"]
    assert all((tmp_path / name).read_bytes()[:4] == b"\x89PNG" for name in pngs)
    assert json.loads((tmp_path / "test.json").read_text())["by_length"] == result["by_length"]


def test_report_without_matplotlib_still_writes_tables(attention_translator, tmp_path, monkeypatch):
    from s2s import plotting

    monkeypatch.setattr(plotting, "pyplot", lambda: None)
    result, _ = evaluate(attention_translator, ["one two three"], ["eins zwei drei"], {"beam": 1})
    md = write_report(result, tmp_path / "r.json").read_text()
    assert "matplotlib is not installed" in md and "| 1-5 | 1 |" in md
    assert not list(tmp_path.glob("*.png"))


def test_report_into_a_missing_folder_is_a_clear_error(attention_translator, tmp_path):
    result, _ = evaluate(attention_translator, ["one"], ["eins"], {"beam": 1}, attention_examples=0)
    with pytest.raises(S2SError, match="folder '.*missing' does not exist"):
        write_report(result, tmp_path / "missing" / "r.json")


def test_papers_convention_lowercases_and_splits_hyphens():
    from s2s.evaluation.metrics import papers_bleu

    hypotheses = ["A man in a T-shirt plays.", "Two dogs run."]
    assert papers_bleu(hypotheses, ["a man in a t-shirt plays .", "two dogs run ."], "en")["bleu"] == 100.0
    score = papers_bleu(["A man in a T-shirt plays."], ["A man in a T shirt plays."], "en")
    assert score["bleu"] < 100 and score["signature"].endswith("|moses-a:en")  # "@-@" is a token of its own
    assert "case:lc" in score["signature"] and "tok:none" in score["signature"]


def test_papers_convention_without_sacremoses_is_a_clear_error(monkeypatch):
    import builtins

    from s2s.evaluation.metrics import papers_bleu

    real_import = builtins.__import__
    monkeypatch.setattr(builtins, "__import__", lambda name, *a, **k: (_ for _ in ()).throw(ImportError(name))
                        if name == "sacremoses" else real_import(name, *a, **k))
    with pytest.raises(S2SError, match=r"needs sacremoses: pip install -e '.\[moses\]'"):
        papers_bleu(["a"], ["a"], "en")


def test_report_of_an_ensemble_names_it_and_shows_its_mean_attention(attention_translator):
    from s2s.config import Config
    from s2s.decoding.ensemble import Ensemble

    plain = attention_translator
    ensemble = Translator(Ensemble([plain.model, plain.model]), plain.src_tokenizer, plain.tgt_tokenizer,
                          plain.src_vocab, plain.tgt_vocab, plain.decode)
    ensemble.checkpoint = {"path": ["a.pt", "b.pt"], "config": Config()}
    sources, references = ["one two three", "four five six"], ["eins zwei drei", "vier fünf sechs"]
    result, hypotheses = evaluate(ensemble, sources, references, {"beam": 1})
    assert result["model"].startswith("ensemble of 2 checkpoints of gru_attn")
    assert hypotheses == plain.translate(sources, beam=1)  # two copies: the model's own translations
    alone, _ = evaluate(plain, sources, references, {"beam": 1})
    assert result["attention"] == alone["attention"] and len(result["attention"]) == 2
