"""Evaluation reports: every number as JSON, a Markdown report beside it, and PNG figures beside that.

Markdown with PNG files (not one HTML file): it renders on GitHub and in editors, diffs in git, and each figure
can be reused on its own. Figures need matplotlib (the `plots` extra); without it the tables are still written.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from s2s.errors import S2SError
from s2s.outputs import write_file
from s2s.evaluation.metrics import corpus_scores, moses_available, papers_bleu, sentence_bleu

BUCKET_WIDTH, LAST_BUCKET = 5, 30  # source words: 1-5, 6-10, ..., 26-30, 31+
ATTENTION_FIGURES = 3  # attention maps of short test sentences drawn in a report


def figure_names(stem: str, attention: int = ATTENTION_FIGURES) -> dict[str, str]:
    """{figure: file name} of the PNGs a report named <stem> may draw beside its JSON (which ones it draws depends on
    the run's metrics and the model); the CLI keeps them off the command's inputs."""
    return {"by_length": f"{stem}_bleu_by_length.png", "training": f"{stem}_training.png",
            **{f"attention_{k}": f"{stem}_attention_{k}.png" for k in range(1, attention + 1)}}


def format_table(result: dict) -> str:
    rows = [("BLEU", result["bleu"], result["signature"]["bleu"]),
            ("chrF", result["chrf"], result["signature"]["chrf"]),
            ("BLEU (lowercased)", result["bleu_lowercase"], result["signature"]["bleu_lowercase"])]
    if "papers" in result:
        rows.append(("BLEU (papers: lowercased, Moses -a tokenized)", result["papers"]["bleu"], result["papers"]["signature"]))
    lines = ["| metric | score | sacreBLEU signature |", "|---|---:|---|"]
    lines += [f"| {name} | {score:.2f} | `{signature}` |" for name, score, signature in rows]
    return "\n".join(lines)


def scores_by_length(sources: list[str], hypotheses: list[str], references: list[str]) -> list[dict]:
    """Corpus BLEU and chrF per source-length bucket (whitespace words), shortest first; empty buckets left out."""
    groups = defaultdict(list)
    for i, source in enumerate(sources):
        words = max(len(source.split()), 1)
        groups[min((words - 1) // BUCKET_WIDTH * BUCKET_WIDTH + 1, LAST_BUCKET + 1)].append(i)
    rows = []
    for first in sorted(groups):
        lines = groups[first]
        scores = corpus_scores([hypotheses[i] for i in lines], [references[i] for i in lines])
        bucket = f"{first}-{first + BUCKET_WIDTH - 1}" if first <= LAST_BUCKET else f"{LAST_BUCKET + 1}+"
        rows.append({"bucket": bucket, "sentences": len(lines), "bleu": scores["bleu"], "chrf": scores["chrf"]})
    return rows


def spread(candidates: list[int], count: int) -> list[int]:
    """`count` items of candidates evenly spaced from first to last (all of them when there are few): a fixed choice."""
    if len(candidates) <= count:
        return list(candidates)
    return [candidates[round(k * (len(candidates) - 1) / (count - 1))] for k in range(count)] if count > 1 else candidates[:1]


def example(line: int, sources, references, hypotheses) -> dict:
    return {"line": line + 1, "source": sources[line], "reference": references[line], "hypothesis": hypotheses[line],
            "sentence_bleu": round(sentence_bleu(hypotheses[line], references[line]), 1)}


def evaluate(translator, sources: list[str], references: list[str], options: dict | None = None,
             samples: int = 4, worst: int = 5, attention_examples: int = ATTENTION_FIGURES) -> tuple[dict, list[str]]:
    """Translate and score: (result for the report, hypotheses). None options come from the checkpoint's decode section.

    The result holds the corpus scores, scores by source length, a fixed sample of translations, the worst ones
    by sentence BLEU, and (for attention models) the attention weights of a few short sentences.
    """
    options = {key: value for key, value in (options or {}).items() if value is not None}
    options.pop("nbest", None)
    hypotheses = translator.translate(sources, **options)
    result = corpus_scores(hypotheses, references)
    settings = {key: options.get(key, getattr(translator.decode, key))
                for key in ("beam", "length_penalty", "max_len_ratio", "no_repeat_ngram", "batch_size")}
    model = translator.model
    parameters = translator.checkpoint.get("parameters")  # without the vocabulary's padding rows; the onnx engine's:
    if parameters is None:  # the graphs' weights. A Translator built by hand has no checkpoint record:
        parameters = sum(p.numel() for p in model.parameters()) if hasattr(model, "parameters") else 0
    config = translator.checkpoint.get("config")
    if config is not None and moses_available():
        result["papers"] = papers_bleu(hypotheses, references, config.data.tgt)
    result.update(
        checkpoint=translator.checkpoint.get("path", ""), step=translator.checkpoint.get("step"),
        epoch=translator.checkpoint.get("epoch"), settings=settings, parameters=parameters,
        model=(f"{ensemble_label(translator.checkpoint.get('path'))}{config.model.resolved_name}: {config.model.cell} cells, attention {config.model.attention}, "
               f"emb {config.model.emb_size}, hidden {config.model.hidden_size}, {config.model.layers} layer(s), "
               f"{'bi' if config.model.bidirectional else 'uni'}directional encoder, {parameters:,} parameters")
        if config else f"{type(model).__name__} with {parameters:,} parameters",
        by_length=scores_by_length(sources, hypotheses, references))
    scored = [i for i, reference in enumerate(references) if reference.strip()]
    result["samples"] = [example(i, sources, references, hypotheses) for i in spread(scored, samples)]
    ranked = sorted(scored, key=lambda i: (sentence_bleu(hypotheses[i], references[i]), i))
    result["worst"] = [example(i, sources, references, hypotheses) for i in ranked[:worst]]
    result["attention"] = []
    if attention_examples:  # models without attention return none (skipped below); ensembles their members' mean
        short = [i for i in scored if 3 <= len(translator.src_tokenizer.tokenize(sources[i])) <= 20]
        picks = spread(short, attention_examples)
        for line, translation in zip(picks, translator.translate_detailed([sources[i] for i in picks],
                                                                          return_attention=True, **options)):
            if translation.attention is not None:
                result["attention"].append({"line": line + 1, "src": translation.src_tokens,
                                            "out": translation.attention_rows(),
                                            "weights": [[round(w, 4) for w in row] for row in translation.attention.tolist()]})
    return result, hypotheses


def ensemble_label(path) -> str:
    """'ensemble of N checkpoints of ' when the translator was loaded from several checkpoints, else ''."""
    return f"ensemble of {len(path)} checkpoints of " if isinstance(path, list) else ""


def read_metrics(run_dir: Path) -> list[dict]:
    """The records of a run's metrics.jsonl, or [] when the folder has none.

    Only the latest run's records are kept: older s2s versions appended a new run to the log of an old one,
    which shows as the step count falling back.
    """
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise S2SError(f"{path} line {number} is not JSON; the metrics log is damaged.") from None
    restarts = [i for i in range(1, len(records)) if records[i].get("step", 0) < records[i - 1].get("step", 0)]
    return records[restarts[-1]:] if restarts else records


def write_report(result: dict, json_path: str | Path, records: list[dict] | None = None) -> Path:
    """Write result as JSON at json_path, the Markdown report at the same path with .md and figures named
    <stem>_*.png beside it (training curves when the run's metrics `records` are given); return the Markdown path."""
    json_path = Path(json_path)
    if not json_path.parent.is_dir():
        raise S2SError(f"cannot write report '{json_path}': folder '{json_path.parent}' does not exist. Create it first.")
    md_path = json_path.with_suffix(".md")
    try:
        write_file(json_path, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        figures = draw_figures(result, json_path.parent, json_path.stem, records or [])
        write_file(md_path, markdown(result, figures, records or []))
    except OSError as error:
        raise S2SError(f"cannot write report '{json_path}': {error.strerror}.") from None
    return md_path


def draw_figures(result: dict, folder: Path, stem: str, records: list[dict]) -> dict[str, str] | None:
    """Draw the report's PNGs; return {figure: file name}, or None without matplotlib."""
    from s2s import plotting

    if plotting.pyplot() is None:
        return None
    names = figure_names(stem, len(result.get("attention", [])))
    figures = {"by_length": names["by_length"]}
    plotting.plot_by_length(result["by_length"], folder / figures["by_length"])
    if any("valid_loss" in r for r in records):
        figures["training"] = names["training"]
        plotting.plot_training(records, folder / figures["training"], result.get("step"))
    for k, item in enumerate(result.get("attention", []), 1):
        figures[f"attention_{k}"] = names[f"attention_{k}"]
        plotting.plot_attention(item["src"], item["out"], item["weights"], folder / figures[f"attention_{k}"],
                                title=f"line {item['line']}")
    return figures


def md_escape(text: str) -> str:
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def markdown(result: dict, figures: dict | None, records: list[dict]) -> str:
    settings = result.get("settings", {})
    md = [f"# Evaluation report: `{result.get('checkpoint', '')}`", "", "## Scores", "", format_table(result), "",
          f"- sentences: {result['num_sentences']}"]
    if result.get("src"):
        md.append(f"- source: `{result['src']}`, reference: `{result.get('ref', '')}`")
    md += ["- decoding: " + ", ".join(f"{key} {value}" for key, value in settings.items()),
           f"- checkpoint: `{result.get('checkpoint', '')}` (step {result.get('step')}, epoch {result.get('epoch')})",
           f"- model: {result.get('model', '')}", ""]
    if figures is None:
        md += ["(Figures were not drawn: matplotlib is not installed; `pip install 's2s[plots]'`.)", ""]
    md += ["## BLEU by source length", "", "| source words | sentences | BLEU | chrF |", "|---|---:|---:|---:|"]
    md += [f"| {r['bucket']} | {r['sentences']} | {r['bleu']:.2f} | {r['chrf']:.2f} |" for r in result["by_length"]]
    if figures:
        md += ["", f"![BLEU by source length]({figures['by_length']})"]
    valid = [r for r in records if "valid_loss" in r]
    if valid:
        best = max(valid, key=lambda r: r["valid_bleu"])
        md += ["", "## Training", "",
               f"{len(valid)} validations over {valid[-1]['step']} steps and {valid[-1].get('train_minutes', 0):.1f} training "
               f"minutes; the evaluated checkpoint is from step {result.get('step')} (dashed line); the highest validation "
               f"BLEU was {best['valid_bleu']:.2f} at step {best['step']}."]
        if figures and "training" in figures:
            md += ["", f"![training curves]({figures['training']})"]
    if result.get("attention"):
        md += ["", "## Attention", "", "Rows are output tokens (the last is `</s>`), columns source tokens; darker is more "
               "weight. Sentences with 3-20 source tokens, evenly spaced through the test set."]
        for k, item in enumerate(result["attention"], 1):
            if figures:
                md += ["", f"![attention, line {item['line']}]({figures[f'attention_{k}']})"]
    for title, key in (("Sample translations", "samples"), ("Worst translations by sentence BLEU", "worst")):
        md += ["", f"## {title}", ""]
        for item in result.get(key, []):
            md += [f"**line {item['line']}** (sentence BLEU {item['sentence_bleu']:.1f})", "",
                   f"- source: {md_escape(item['source'])}", f"- reference: {md_escape(item['reference'])}",
                   f"- hypothesis: {md_escape(item['hypothesis'])}", ""]
    return "\n".join(md).rstrip() + "\n"
