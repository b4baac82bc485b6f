"""s2s evaluate: translate a test set and score it with sacreBLEU, or a language model's perplexity of a text;
run_evaluation is s2s report's too."""

from __future__ import annotations

import json
from pathlib import Path

from s2s.commands.decoding import add_decode_options, decode_options, load_translator, require_engine
from s2s.commands.paths import check_paths, checkpoint_inputs, input_files
from s2s.commands.streams import output_stream, summary_stream
from s2s.errors import S2SError
from s2s.outputs import Output


def add_parser(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="translate a test set and score it with sacreBLEU (or a language "
                                   "model's perplexity of a text)",
                                   description="Translate --src, score against --ref: BLEU and chrF (cased, "
                                               "detokenized, with sacreBLEU signatures). With a language model "
                                               "checkpoint: --text FILE, its perplexity.")
    evaluate.add_argument("--checkpoint", required=True, nargs="+", metavar="CKPT",
                          help="a .pt file, a run folder (uses best.pt), or a pretrained model's folder or name; "
                               "several form an ensemble")
    evaluate.add_argument("--src", help="source sentences, one per line (translation models)")
    evaluate.add_argument("--ref", help="reference translations, line-aligned with --src")
    evaluate.add_argument("--text", help="language models: the text to score, one sentence per line (plain or .gz); "
                          "prints perplexity = exp(mean negative log-likelihood per token, <eos> included)")
    evaluate.add_argument("--report", metavar="OUT.json", help="write every number as JSON here, a Markdown report beside it "
                          "(OUT.md: scores, BLEU by source length, training curves when the checkpoint is in a run folder, "
                          "attention maps, example and worst translations) and its PNG figures (OUT_*.png)")
    evaluate.add_argument("--output", help="also write the translations to this file")
    add_decode_options(evaluate, engines=True)


def run(args) -> int:
    from s2s.data.readers import read_parallel
    from s2s.pretrained import resolve

    if args.text:
        if args.engine == "onnx":
            raise S2SError("--text scores a language model, which the torch engine runs; drop --engine onnx.")
        return evaluate_language_model(args)
    if not (args.src and args.ref):
        raise S2SError("evaluate needs --src and --ref (a translation model) or --text FILE (a language model).")
    require_engine(args)
    check_paths(checkpoint_inputs("--checkpoint", args.checkpoint) + input_files(("--src", args.src), ("--ref", args.ref)),
                files=[Output("--output", args.output, "translations.txt")] + report_files(args.report))
    sources, references = read_parallel(args.src, args.ref, ("--src", "--ref"))
    translator = load_translator(args)
    checkpoint = resolve(args.checkpoint[0])
    run_evaluation(translator, sources, references, decode_options(args), report=args.report, translations=args.output,
                   src=args.src, ref=args.ref, run_dir=checkpoint if checkpoint.is_dir() else checkpoint.parent)
    return 0


def evaluate_language_model(args) -> int:
    from s2s.decoding.generator import TextGenerator
    from s2s.evaluation.perplexity import file_perplexity

    if len(args.checkpoint) > 1:
        raise S2SError("--text scores one language model; give one --checkpoint.")
    check_paths(checkpoint_inputs("--checkpoint", args.checkpoint) + input_files(("--text", args.text)),
                files=[Output("--report", args.report, "perplexity.json")])
    result = file_perplexity(TextGenerator.from_checkpoint(args.checkpoint[0], device=args.device), args.text)
    summary = summary_stream(args.report)  # stderr when the report goes to stdout
    print(f"perplexity {result['perplexity']:.3f} (mean negative log-likelihood {result['nll_per_token']:.4f} nats per "
          f"token, over {result['tokens']:,} tokens of {result['sentences']:,} sentences, <eos> included; "
          f"{result['mode']})", file=summary)
    if args.report:
        with output_stream(args.report, flag="--report") as out:
            out.write(json.dumps(result, indent=2) + "\n")
        print(f"report: {args.report}", file=summary)
    return 0


def report_files(path: str | None) -> list[Output]:
    """The Output of the JSON, the Markdown and the PNG figures (OUT_*.png) evaluate --report writes."""
    from s2s.evaluation.report import figure_names

    if not path:
        return []
    if Path(path).suffix == ".md":
        raise S2SError(f"--report '{path}' names the JSON report, and the Markdown report goes beside it with .md; "
                       f"give a .json name, e.g. --report {Path(path).with_suffix('.json')}.")
    beside = "the Markdown report and the figures are written beside the JSON (OUT.md, OUT_*.png)"
    figures = [Path(path).parent / name for name in figure_names(Path(path).stem).values()]
    return [Output("--report", path, "report.json", no_stdout=beside, no_device=beside),
            Output("--report", Path(path).with_suffix(".md"), "report.md", what="the Markdown report of --report")] + \
        [Output("--report", figure, figure.name, what="the figure of --report") for figure in figures]


def run_evaluation(translator, sources, references, options: dict, report: str | None, translations: str | None,
                   src: str, ref: str, run_dir: Path) -> None:
    """Translate, print the scores table, write the translations and the report (with the run's curves) when asked."""
    from s2s.evaluation.report import evaluate, format_table, read_metrics, write_report

    result, hypotheses = evaluate(translator, sources, references, options)
    result.update(src=str(src), ref=str(ref))
    summary = summary_stream(translations)  # stderr when the translations go to stdout
    print(format_table(result), file=summary)
    print(f"sentences: {result['num_sentences']}", file=summary)
    if translations:
        with output_stream(translations, flag="--output") as out:
            out.writelines(h + "\n" for h in hypotheses)
    if report:
        md_path = write_report(result, report, read_metrics(run_dir))
        print(f"report: {report} and {md_path}", file=summary)
