"""The `s2s` command: argparse subcommands that call into the packages; no logic of its own."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from s2s.commands.decoding import add_decode_options, decode_options, load_translator, require_engine
from s2s.commands.numbers import SEED, at_least, positive_float
from s2s.commands.paths import (check_paths, checkpoint_inputs, config_inputs, folder_owns, input_files,
                                same_file)
from s2s.commands.streams import output_stream, summary_stream
from s2s.config import DECODE_MAXIMUM, LARGEST_INT
from s2s.decoding.translation import SAMPLING_MAXIMUM
from s2s.errors import S2SError
from s2s.outputs import STDOUT, Output, check_output_folder, open_output, what_is
from s2s.version import __version__

EPILOG = """examples:
  echo "Wie geht es dir?" | s2s translate --checkpoint de-en   # a shipped pretrained model (everyday German->English)
  echo "Ein Hund läuft im Schnee." | s2s translate --checkpoint multi30k-de-en   # the image-caption model
  s2s pretrained                        # the shipped pretrained models: direction, test BLEU, size, folder
  s2s train --config configs/quickstart.yaml
  s2s train --config configs/quickstart.yaml --set train.epochs=3 model.cell=lstm
  s2s train --init-from multi30k-de-en --config my_domain.yaml   # fine-tune (docs/fine_tuning.md)
  s2s translate --checkpoint runs/quickstart/best.pt --input runs/quickstart/data/test.en
  echo "forty two" | s2s translate --checkpoint runs/quickstart/best.pt
  s2s evaluate --checkpoint runs/quickstart/best.pt --src runs/quickstart/data/test.en \\
      --ref runs/quickstart/data/test.de --report runs/quickstart/test.json
  s2s report runs/quickstart            # report with figures in runs/quickstart/report/
  s2s compare runs/gru runs/gru_attn --output runs/compare
  s2s score --checkpoint runs/quickstart/best.pt --src test.en --tgt test.de   # log p(each translation | source)
  s2s significance --ref test.de --baseline a.de b.de c.de   # paired bootstrap and AR tests against a.de (sacreBLEU)
  s2s average runs/best_de_en --last 5 --output runs/best_de_en/average.pt
  s2s evaluate --checkpoint runs/a/best.pt runs/b/best.pt --src test.de --ref test.en   # an ensemble
  s2s export --checkpoint runs/quickstart/best.pt --output runs/quickstart/onnx   # pip install -e '.[onnx]'
  s2s serve                             # the everyday de-en and en-de models: JSON API and a web page on :8080
  s2s serve --checkpoint runs/quickstart/best.pt   # your own model
  s2s zoo
  s2s data download multi30k --mirror ../shared/data/multi30k
  s2s data download tatoeba --mirror ../shared/data/tatoeba   # everyday German-English, split by sentence
  s2s data cache --list                 # where the encoded-data cache is, its entries and sizes (--clear)
  s2s embeddings train --config configs/quickstart.yaml --output runs/vectors   # word2vec (pip install -e '.[embeddings]')
  s2s embeddings neighbors runs/vectors seven
  s2s train --config configs/lm/gru_lm.yaml                                       # a language model (perplexity)
  s2s generate --checkpoint runs/gru_lm --prompt "a man" -n 3 --seed 1
  s2s evaluate --checkpoint runs/gru_lm --text data/multi30k/test_2016_flickr.en.gz
  docs/learn.md walks through them all, from one-hot vectors to attention.
"""


SERVE_DEFAULT = ("de-en", "en-de")  # s2s serve without --checkpoint: the everyday models (pretrained short names)


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, as s2s's own errors are (the usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="s2s", description="Recurrent sequence-to-sequence translation: train, translate and evaluate "
                                            "RNN/LSTM/GRU encoder-decoders.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"s2s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = commands.add_parser("train", help="train a model from a YAML config",
                                description="Train a model; writes config.yaml, vocabularies, best.pt, last.pt and "
                                            "metrics.jsonl to the run folder (train.run_dir).")
    train.add_argument("--config", help="YAML config (see configs/); without it the defaults are used")
    train.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                       help="override config fields, e.g. --set train.epochs=3 model.cell=gru")
    train.add_argument("--run-dir", help="run folder (default: train.run_dir from the config)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last.pt, exactly where it "
                       "stopped; its config is used (change fields with --set, e.g. train.epochs=30)")
    train.add_argument("--init-from", metavar="CKPT", help="fine-tune: start a new run from this checkpoint's weights, "
                       "tokenizers and vocabularies (a .pt file, a run folder or a pretrained model's folder or name) on "
                       "the --config's data, with a fresh optimizer and schedule; the config's model and vocabulary "
                       "settings must be the checkpoint's")

    translate = commands.add_parser("translate", help="translate text with a checkpoint",
                                    description="Translate one sentence per line; output has exactly one line per "
                                                "input line (empty in, empty out). Reads stdin without --input.")
    translate.add_argument("--checkpoint", required=True, nargs="+", metavar="CKPT",
                           help="a .pt file, a run folder (uses best.pt), or a pretrained model's folder or name "
                                "(s2s pretrained lists them); several form an ensemble (their "
                                "log-probabilities are averaged at every step; same vocabularies needed)")
    translate.add_argument("--input", help="input text file (plain or .gz); default: stdin")
    translate.add_argument("--output", help="output file (written whole, then renamed; '-' or none: stdout; a device "
                           "such as /dev/null is written in place)")
    translate.add_argument("--scores", action="store_true", help="prefix each line with its score and a tab")
    translate.add_argument("--attention", metavar="FILE.jsonl", help="write each line's attention matrix as JSON lines: "
                           '{"line", "src": source tokens, "out": output tokens (+ </s> when the output ended), "weights": [out][src] or null}')
    add_decode_options(translate, engines=True)
    tools = translate.add_argument_group("prefixes, sampling and word alignments (docs/decoding_tools.md)")
    tools.add_argument("--prefix", metavar="FILE", help="one target prefix per input line (an empty line: none); each "
                       "output starts with it and the search goes on from there")
    tools.add_argument("--sample", type=at_least(1, most=SAMPLING_MAXIMUM["sample"]), metavar="N",
                       help="write N translations per line sampled from the model (as --nbest writes them: "
                            "'LINE ||| TEXT ||| SCORE' when N > 1), not the beam search's")
    tools.add_argument("--temperature", type=at_least(0.0, float, " (0 is greedy)", SAMPLING_MAXIMUM["temperature"]),
                       metavar="T", help="with --sample: sample from softmax(log p / T) (default 1; 0: greedy)")
    tools.add_argument("--top-k", type=at_least(0, note=" (0 is off)", most=SAMPLING_MAXIMUM["top_k"]), metavar="K",
                       help="with --sample: only from the K most likely tokens (default 0: all)")
    tools.add_argument("--top-p", type=positive_float(SAMPLING_MAXIMUM["top_p"]), metavar="P",
                       help="with --sample: only from the most likely tokens that hold P of the probability (nucleus "
                            "sampling; default 1: all)")
    tools.add_argument("--seed", type=SEED, help="with --sample: the same seed draws the same samples (default: random)")
    tools.add_argument("--alignments", metavar="FILE", help="write the attention's word alignment of each output line "
                       "to FILE, line by line: Pharaoh 'i-j' pairs (source word i, target word j, from 0)")

    distill = commands.add_parser(
        "distill", help="sequence-level knowledge distillation: a teacher translates a config's training sources",
        description="Translate the training sources of --config with the teachers (beam search; several checkpoints "
                    "form an ensemble) into --output, chunk by chunk, then write there the distilled targets and two "
                    "student configs: student.yaml (the teacher's outputs alone) and student-mix.yaml (beside the "
                    "references); validation and test stay the references. Rerun the same command after a stop to go "
                    "on from the chunks done (docs/recipes.md#distillation).")
    distill.add_argument("--teacher", required=True, nargs="+", metavar="CKPT",
                         help="a .pt file, run folder or pretrained model (with --engine onnx: an export folder); "
                              "several form an ensemble")
    distill.add_argument("--config", required=True, help="the student's YAML config: its data is translated, its "
                         "model and training settings are the student's")
    distill.add_argument("--output", required=True, metavar="DIR", help="the distillation folder (created; a rerun "
                         "resumes there; files distill did not write are left alone)")
    distill.add_argument("--chunk-lines", type=at_least(1, most=10**7), metavar="N",
                         help="sentences per chunk, each written when done (default 2000)")
    add_decode_options(distill, engines=True)

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

    report = commands.add_parser("report", help="evaluate a run's best checkpoint on its test split, with figures",
                                 description="Translate the run's test split with its best.pt (or --checkpoint) and write report.json, "
                                             "report.md and PNG figures (BLEU by source length, training curves with "
                                             "the selected checkpoint, attention maps) to --output.")
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by s2s train, or a pretrained model's "
                        "folder or name (s2s pretrained lists them)")
    report.add_argument("--output", help="folder for the report (default: RUN_DIR/report; for a pretrained model "
                        "runs/NAME/report)")
    report.add_argument("--src", help="score these source sentences instead of the run's test split (needs --ref)")
    report.add_argument("--ref", help="references for --src")
    report.add_argument("--checkpoint", nargs="+", metavar="CKPT", help="evaluate these instead of RUN_DIR/best.pt "
                        "(e.g. an s2s average output; several form an ensemble); the curves are still the run's")
    add_decode_options(report)

    compare = commands.add_parser("compare", help="put several runs side by side: a table and overlaid curves",
                                  description="One table row per run (model, parameters, epochs, training minutes, "
                                              "tokens/s, best validation BLEU, test BLEU from RUN_DIR/report when "
                                              "present) and, with --output, compare.md, compare.json and compare.png.")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders written by s2s train")
    compare.add_argument("--output", help="folder for compare.md, compare.json and compare.png")

    score = commands.add_parser(
        "score", help="score given translations: their log-probability under a model (forced decoding)",
        description="Forced decoding: for each line pair of --src and --tgt, log p(target | source) under the model, "
                    "the sum over the target's tokens and </s>, the mean per token and the number of tokens. TSV: one "
                    "line per pair, in input order, no header: LOG_PROB<TAB>MEAN<TAB>TOKENS; JSON: one object per "
                    "line. An empty target scores </s> alone; an empty source is an error. The total (nats per token "
                    "and perplexity) goes to stderr.")
    score.add_argument("--checkpoint", required=True, nargs="+", metavar="CKPT",
                       help="a .pt file, a run folder (uses best.pt), or a pretrained model's folder or name; several "
                            "form an ensemble (each step's log-probabilities are averaged over them, as in search)")
    score.add_argument("--src", required=True, help="source sentences, one per line (plain or .gz)")
    score.add_argument("--tgt", required=True, help="the translations to score, line-aligned with --src")
    score.add_argument("--output", help="output file (written whole, then renamed; '-' or none: stdout)")
    score.add_argument("--format", choices=["tsv", "json"], default="tsv", help='tsv (default) or json: one '
                       '{"log_prob", "mean", "tokens"} object per line')
    score.add_argument("--batch-size", type=at_least(1, most=DECODE_MAXIMUM["batch_size"]),
                       help="sentence pairs per batch (default: the checkpoint's decode.batch_size); pairs are sorted "
                            "by length for batching, the output keeps the input order")
    score.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N")

    significance = commands.add_parser(
        "significance", help="paired significance tests of systems against a baseline (BLEU, chrF; sacreBLEU)",
        description="Test each system's translations against the baseline's on the same references with sacreBLEU's "
                    "paired bootstrap resampling (95 % confidence intervals too) and approximate randomization, for "
                    "BLEU and chrF as s2s evaluate scores them. Prints a Markdown table; --json writes every number. "
                    "The systems are plain text files, one translation per reference line (e.g. s2s translate or "
                    "s2s evaluate --output).")
    significance.add_argument("--ref", required=True, help="the references, one per line (plain or .gz)")
    significance.add_argument("--baseline", required=True, metavar="HYP", help="the baseline's translations")
    significance.add_argument("systems", nargs="+", metavar="HYP", help="the translations of the systems to test "
                              "against the baseline")
    significance.add_argument("--seed", type=at_least(1, note=" (sacreBLEU takes 0 as no seed)", most=2**32 - 1),
                              default=12345, help="the resampling seed (default 12345, sacreBLEU's); the same seed "
                                                  "gives the same output ($SACREBLEU_SEED is not read)")
    significance.add_argument("--bootstrap-samples", type=at_least(1, most=100_000), default=1000, metavar="N",
                              help="paired bootstrap resamples (default 1000)")
    significance.add_argument("--ar-trials", type=at_least(1, most=100_000), default=10000, metavar="N",
                              help="approximate randomization trials (default 10000)")
    significance.add_argument("--json", metavar="FILE", help="write every number, the settings and sacreBLEU's "
                              "signatures as JSON")

    average = commands.add_parser(
        "average", help="average the weights of several checkpoints into one",
        description="Write a checkpoint whose weights are the mean of several checkpoints' weights (usually better "
                    "than any one of them). Give .pt files, or a run folder trained with train.keep_checkpoints and "
                    "--last N or --best N to pick among its kept checkpoints (RUN_DIR/checkpoints/).")
    average.add_argument("inputs", nargs="+", metavar="CKPT_OR_RUN_DIR", help="checkpoints, or one run folder")
    picker = average.add_mutually_exclusive_group()
    picker.add_argument("--last", type=at_least(1, most=100_000), metavar="N", help="the N latest kept checkpoints of the run folder")
    picker.add_argument("--best", type=at_least(1, most=100_000), metavar="N", help="the N best kept checkpoints (validation metric)")
    average.add_argument("--output", required=True, help="the averaged checkpoint (.pt)")

    export = commands.add_parser(
        "export", help="export a checkpoint to ONNX, to translate without torch (s2s.runtime)",
        description="Write the model's encoder and one decoder step as ONNX graphs with dynamic batch and length "
                    "axes, with its vocabularies, tokenizers and a manifest.json, into --output; checked with "
                    "onnx.checker and against the torch model with onnxruntime. Translate with the export: "
                    "s2s translate --engine onnx --checkpoint DIR. Needs the onnx extra: pip install -e '.[onnx]'.")
    export.add_argument("--checkpoint", required=True, metavar="CKPT",
                        help="a .pt file, run folder or pretrained model (average checkpoints first with s2s average)")
    export.add_argument("--format", default="onnx", choices=["onnx"], help="the export format (default onnx)")
    export.add_argument("--output", required=True, metavar="DIR", help="a new or empty folder, or an earlier export "
                        "(the files its manifest lists are replaced; nothing else there is touched)")
    export.add_argument("--no-verify", action="store_true", help="skip running the graphs beside the torch model")

    serve = commands.add_parser(
        "serve", help="serve translations over HTTP: a JSON API and a web page with the attention map",
        description="Serve one or more checkpoints: POST /translate (JSON), GET /models, GET /health, a web page at / "
                    "and the API schema at /docs. Lines of concurrent requests are decoded together. Needs the web "
                    "extra: pip install -e '.[serve]'. Binds to localhost by default; for public use put a reverse "
                    "proxy with TLS, authentication and rate limits in front (docs/serving.md).")
    serve.add_argument("--checkpoint", nargs="+", action="extend", metavar="[NAME=]CKPT",
                       help="a .pt file, run folder or pretrained model (folder or name), or with --engine onnx an "
                            "export folder (s2s export) or pretrained model, optionally named (NAME=PATH); several "
                            "serve several models, chosen per request by name (the first is the default). Default: "
                            f"the everyday pretrained models, {' '.join(SERVE_DEFAULT)}")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=at_least(0, note=" (0 picks a free port)", most=65535), default=8080, help="port (default 8080)")
    serve.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N")
    serve.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8", "int8-linear"],
                       help="as for s2s translate")
    serve.add_argument("--engine", choices=["torch", "onnx"], default="torch",
                       help="torch (default): checkpoints; onnx: export folders (s2s export) or pretrained models "
                            "decoded with onnxruntime on the CPU without torch (pip install -e '.[runtime]'); "
                            "--precision fp32 or int8")
    serve.add_argument("--max-batch-wait-ms", type=at_least(0.0, float, most=60_000.0), default=5.0, metavar="MS",
                       help="how long a request waits for others to share its decode batch (default 5)")
    serve.add_argument("--max-batch-lines", type=at_least(1, most=100_000), default=64, metavar="N",
                       help="lines per decode batch (default 64)")
    serve.add_argument("--no-batching", action="store_true", help="decode every request on its own (for comparison)")
    serve.add_argument("--max-lines", type=at_least(1, most=100_000), default=64, metavar="N", help="lines per request (default 64)")
    serve.add_argument("--max-chars", type=at_least(1, most=1_000_000), default=1000, metavar="N", help="characters per line (default 1000)")
    serve.add_argument("--max-beam", type=at_least(1, most=DECODE_MAXIMUM["beam"]), default=16, metavar="N", help="largest beam a request may ask for "
                       "(default 16)")
    serve.add_argument("--max-body-bytes", type=at_least(1, most=1 << 30), default=1 << 20, metavar="N",
                       help="largest request body (default 1048576)")

    generate = commands.add_parser("generate", help="sample text from a language model",
                                   description="Sample continuations of --prompt from a language model checkpoint "
                                               "(rnn_lm, lstm_lm, gru_lm), one per line: the prompt and its continuation.")
    generate.add_argument("--checkpoint", required=True, metavar="CKPT", help="a .pt file, or a run folder (uses best.pt)")
    generate.add_argument("--prompt", default="", help="the text to continue (default: start a sentence)")
    generate.add_argument("--temperature", type=at_least(0.0, float, most=100.0), default=1.0,
                          help="divide the logits by T before sampling: below 1 safer, above 1 more varied; 0 is greedy")
    generate.add_argument("--top-k", type=at_least(0, note=" (0 is off)", most=1_000_000), default=0, metavar="K",
                          help="sample among the K most likely tokens only (0: all)")
    generate.add_argument("-n", type=at_least(1, most=10_000), default=1, help="how many samples")
    generate.add_argument("--max-tokens", type=at_least(1, most=100_000), default=50, help="stop a sample after this many tokens")
    generate.add_argument("--seed", type=SEED, help="the same seed gives the same samples")
    generate.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")

    embeddings = commands.add_parser("embeddings", help="word vectors: train word2vec, nearest neighbours, a 2-D map",
                                     description="Word vectors (word2vec) for the vocabulary of a config's tokenizer.")
    embedding_commands = embeddings.add_subparsers(dest="embeddings_command", metavar="ACTION")
    vectors = embedding_commands.add_parser(
        "train", help="learn word2vec vectors on a config's training text",
        description="Learn word vectors with word2vec (negative sampling; gensim, pip install -e '.[embeddings]') on the "
                    "config's training text, tokenized by the tokenizer the config's model trains with, so that they "
                    "cover its vocabulary. Writes OUTPUT/src.vec and OUTPUT/tgt.vec (word2vec text format; a language "
                    "model's config: tgt.vec only) and OUTPUT/embeddings.json. Use them with model.src_embeddings / "
                    "model.tgt_embeddings.")
    vectors.add_argument("--config", required=True, help="the YAML config whose data and tokenizer to use")
    vectors.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", help="config overrides, as for train")
    vectors.add_argument("--output", required=True, help="folder for the vectors")
    vectors.add_argument("--method", choices=["skipgram", "cbow"], default="skipgram",
                         help="skipgram: predict the context from the word; cbow: the word from its context")
    vectors.add_argument("--dim", type=at_least(1, most=10_000), help="vector size (default: the config's model.emb_size)")
    vectors.add_argument("--window", type=at_least(1, most=1000), default=5, help="context words on each side")
    vectors.add_argument("--negative", type=at_least(1, most=1000), default=5, help="negative samples per true pair")
    vectors.add_argument("--min-count", type=at_least(1, most=LARGEST_INT), default=1, help="ignore words seen fewer times")
    vectors.add_argument("--epochs", type=at_least(1, most=10_000), default=5, help="passes over the text")
    vectors.add_argument("--seed", type=SEED, default=1, help="with --workers 1 the same seed gives the same vectors")
    vectors.add_argument("--workers", type=at_least(1, most=1024), default=1, help="training threads")
    vectors.add_argument("--src-text", help="learn the source vectors from this file instead (e.g. more monolingual text)")
    vectors.add_argument("--tgt-text", help="learn the target vectors from this file instead")
    neighbors = embedding_commands.add_parser(
        "neighbors", help="the nearest words to a word by cosine similarity",
        description="The K words whose vectors have the highest cosine similarity to WORD's, in each vectors file of "
                    "DIR (src.vec, tgt.vec) that has WORD, or in one vectors file.")
    neighbors.add_argument("vectors", metavar="DIR", help="a folder from s2s embeddings train, or a vectors file")
    neighbors.add_argument("word", metavar="WORD", help="a token as the config's tokenizer writes it")
    neighbors.add_argument("-k", type=at_least(1, most=1_000_000), default=10, help="how many neighbours")
    projection = embedding_commands.add_parser(
        "plot", help="a 2-D map (PCA) of chosen words",
        description="Project the vectors of the given words on their first two principal components and draw them "
                    "(matplotlib: pip install -e '.[plots]'); prints the coordinates.")
    projection.add_argument("vectors", metavar="DIR", help="a folder from s2s embeddings train, or a vectors file")
    projection.add_argument("words", nargs="+", metavar="WORD", help="the words to place (two or more)")
    projection.add_argument("--side", choices=["src", "tgt"], help="which vectors of DIR (default: the first that has "
                            "every word)")
    projection.add_argument("--output", required=True, help="the figure (.png)")

    commands.add_parser("pretrained", help="list the shipped pretrained models",
                        description="List the shipped pretrained models (folders in the repository's pretrained/, or "
                                    "in $S2S_PRETRAINED): name, direction, test BLEU, model.pt size, folder. Use a "
                                    "name wherever a checkpoint goes: s2s translate --checkpoint multi30k-de-en.")

    commands.add_parser("zoo", help="list the registered models with their parameter counts",
                        description="List every registered model: name, description, parameters at the default "
                                    "sizes (emb 256, hidden 512, 8000-token vocabularies).")

    analyze = commands.add_parser("analyze", help="analyses of models (the gradient story of RNN, LSTM and GRU)",
                                  description="Analyses of models.")
    analyses = analyze.add_subparsers(dest="analysis", metavar="ANALYSIS")
    gradients = analyses.add_parser(
        "gradients", help="how ∂L/∂h_t shrinks with distance, per cell type",
        description="Measure the mean norm of ∂L/∂h_t (the loss gradient at each encoder state) against the distance "
                    "from the last encoder step, on real batches; one line per cell. Writes gradients.json, "
                    "gradients.csv, gradients.png and clipping.png (what gradient-norm clipping does to an exploding "
                    "vanilla RNN). See docs/gradients.md for how to read them.")
    source = gradients.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="build fresh models of this config's sizes and data (one per --cells entry), "
                                         "without attention and with a unidirectional encoder")
    source.add_argument("--checkpoint", help="analyse this trained model (no attention, unidirectional encoder)")
    gradients.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"], choices=["rnn", "lstm", "gru"],
                           help="cell types to compare (with --config)")
    gradients.add_argument("--length", type=at_least(1, most=10_000), default=16, help="source tokens per sentence (longer ones are cut)")
    gradients.add_argument("--sentences", type=at_least(1, most=1_000_000), default=256, help="validation pairs to average over")
    gradients.add_argument("--output", required=True, help="folder for the figures and numbers")

    data = commands.add_parser("data", help="dataset tools", description="Dataset tools.")
    data_commands = data.add_subparsers(dest="data_command", metavar="ACTION")
    download = data_commands.add_parser("download", help="download a dataset (verified by SHA-256)",
                                        description="Download Multi30k task 1 (train, val, test_2016_flickr; "
                                                    "en, de, fr, cs), verifying every file's SHA-256, or the Tatoeba "
                                                    "German-English pairs (checksum-verified, then split by sentence "
                                                    "into train, dev and test: docs/datasets.md).")
    download.add_argument("dataset", choices=["multi30k", "tatoeba"], help="the dataset")
    download.add_argument("--dest", help="folder for the files (default: data/DATASET)")
    download.add_argument("--mirror", help="copy from this local folder instead of the internet "
                                           "(or set S2S_MULTI30K_MIRROR / S2S_TATOEBA_MIRROR)")
    cache = data_commands.add_parser("cache", help="list or clear the encoded-data cache",
                                     description="The encoded-data cache holds the training pairs' ids (memory-mapped "
                                                 "by later runs) and the learned tokenizers and vocabularies. Lists "
                                                 "where it is, its entries and their sizes; --clear deletes them.")
    action = cache.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the entries (the default)")
    action.add_argument("--clear", action="store_true", help="delete the entries: only the files the cache wrote (its "
                        "manifests list them); other files and folders there are left alone")
    where = cache.add_mutually_exclusive_group()
    where.add_argument("--dir", help="the cache folder (default: $S2S_CACHE, else $XDG_CACHE_HOME/s2s, else ~/.cache/s2s)")
    where.add_argument("--config", help="the cache folder of this config (its data.cache_dir)")
    return parser


# ---- paths: checked before a command reads or writes anything ------------------------------------------------------
REPORT_FILES = ("report.json", "report.md", "translations.txt")  # and the figures (s2s.evaluation.report.figure_names)
COMPARE_FILES = ("compare.md", "compare.json", "compare.png")
EMBEDDING_FILES = ("src.vec", "tgt.vec", "embeddings.json")
GRADIENT_FILES = ("gradients.json", "gradients.csv", "gradients.png", "clipping.png")


def cmd_train(args) -> int:
    from s2s.config import load_config
    from s2s.training.distributed import process_group
    from s2s.training.lm_trainer import make_trainer
    from s2s.training.trainer import resume_config, run_dir_for

    if args.resume and args.init_from:
        raise S2SError("--init-from starts a new run from a checkpoint's weights and --resume continues a run; give "
                       "one of them.")
    if args.resume:
        if not (Path(args.resume) / "last.pt").is_file():
            state = "is a file" if Path(args.resume).is_file() else "does not exist" if not Path(args.resume).exists() \
                else "has no last.pt"
            raise S2SError(f"--resume '{args.resume}' {state}; give the run folder of an s2s train run (it holds "
                           f"last.pt), e.g. --resume runs/quickstart.")
        config, payload = resume_config(Path(args.resume), args.set, args.config)
        run_dir = Path(args.resume)
    else:
        config, payload = load_config(args.config, args.set), None
        run_dir = Path(args.run_dir) if args.run_dir else run_dir_for(config)
        init_from = checkpoint_inputs("--init-from", args.init_from) if args.init_from else []
        check_paths(config_inputs(config, "--config", args.config) + init_from,
                    folders=[("--run-dir" if args.run_dir else "train.run_dir", run_dir, folder_owns)])
    with process_group(config.train.device):  # under torchrun: one rank of a data-parallel job; else nothing
        summary = make_trainer(config, run_dir, resume=payload, init_from=args.init_from).train()
    return 128 + summary["interrupted"] if summary["interrupted"] else 0


def read_input_lines(path: str | None):
    """--input's lines, or stdin's, streamed: undecodable bytes become U+FFFD with one warning; only \\n ends a line."""
    from s2s.data.readers import decode_lines, read_lines

    if path is not None:
        return read_lines(path, replace_errors=True, flag="--input")
    if not hasattr(sys.stdin, "buffer"):  # a text stream in place of stdin (an embedding program's, a test's)
        return sys.stdin
    return decode_lines(sys.stdin.buffer, "stdin", "stdin", replace_errors=True)


def sampling_options(args) -> dict:
    """translate's --sample and the flags that shape it; an S2SError for a shaping flag without --sample."""
    given = {"temperature": args.temperature, "top_k": args.top_k, "top_p": args.top_p, "seed": args.seed}
    if not args.sample:
        for name, value in given.items():
            if value is not None:
                flag = "--" + name.replace("_", "-")
                raise S2SError(f"{flag} shapes sampling; add --sample N (translations per line), or drop {flag}.")
        return {}
    return {"sample": args.sample, **{name: value for name, value in given.items() if value is not None}}


def cmd_translate(args) -> int:
    from s2s.data.readers import read_lines
    from s2s.decoding.alignment import pharaoh

    require_engine(args)
    check_paths(checkpoint_inputs("--checkpoint", args.checkpoint) + input_files(("--input", args.input),
                                                                                 ("--prefix", args.prefix)),
                files=[Output("--output", args.output or STDOUT, "translations.txt"),
                       Output("--attention", args.attention, "attention.jsonl"),
                       Output("--alignments", args.alignments, "alignments.txt")])
    options = {**decode_options(args), **sampling_options(args)}
    listing = (args.nbest or 1) > 1 or (args.sample or 1) > 1  # 'LINE ||| TEXT ||| SCORE' lines
    interactive = args.input is None and sys.stdin.isatty()
    if interactive and (args.prefix or args.alignments):
        raise S2SError(f"{'--prefix' if args.prefix else '--alignments'} goes line by line with the input; give "
                       f"--input FILE or pipe the input in, not a terminal.")
    translator = load_translator(args)
    if interactive:
        print("s2s interactive translation: type a sentence and press Enter (Ctrl-D to quit).", file=sys.stderr)
        stream = translator.translate_stream(iter(lambda: _prompt(), None), chunk_size=1, **options)
        for number, translation in enumerate(stream):
            print(format_translation(number, translation, args.scores, listing), end="", flush=True)
        return 0
    lines = read_input_lines(args.input)
    if args.prefix:
        lines, prefix = list(lines), read_lines(args.prefix, replace_errors=True, flag="--prefix")
        if len(prefix) != len(lines):
            source = f"--input '{args.input}'" if args.input else "stdin"
            raise S2SError(f"--prefix '{args.prefix}' has {len(prefix)} lines and {source} has {len(lines)}; give one "
                           f"prefix line per input line (an empty line for none).")
        options["prefix"] = prefix
    chunk = 1024 if args.input is None and not args.prefix else max(len(lines), 1)
    with output_stream(args.output) as out, output_stream(args.attention, False, "--attention") as attention_out, \
            output_stream(args.alignments, False, "--alignments") as alignments_out:
        stream = translator.translate_stream(lines, chunk_size=chunk, return_attention=attention_out is not None,
                                             return_alignment=alignments_out is not None, **options)
        for number, translation in enumerate(stream):
            out.write(format_translation(number, translation, args.scores, listing))
            if attention_out is not None:
                attention_out.write(json.dumps({"line": number, **translation.attention_json()}, ensure_ascii=False) + "\n")
            if alignments_out is not None:
                alignments = translation.nbest_alignments if listing else [translation.alignment]
                alignments_out.write("".join(pharaoh(pairs) + "\n" for pairs in alignments))
    return 0


def format_translation(number: int, translation, scores: bool, nbest: bool) -> str:
    """One line per input; with n-best, the Moses format 'LINE ||| TEXT ||| SCORE' once per hypothesis."""
    if nbest:
        hypotheses = translation.nbest or [("", 0.0)]  # an empty input line still gets one entry
        return "".join(f"{number} ||| {text} ||| {score:.4f}\n" for text, score in hypotheses)
    return f"{translation.score:.4f}\t{translation.text}\n" if scores else translation.text + "\n"


def _prompt():
    """The next line typed at the terminal (the prompt goes to stderr, translations to stdout); None at Ctrl-D."""
    print("> ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    return line.rstrip("\n") if line else None


def cmd_distill(args) -> int:
    from s2s.training.distill import distill, owns

    require_engine(args)
    check_paths(checkpoint_inputs("--teacher", args.teacher) + input_files(("--config", args.config)),
                folders=[("--output", Path(args.output), owns)])
    distill(args.config, args.teacher, args.output, engine=args.engine, device=args.device, precision=args.precision,
            chunk_lines=args.chunk_lines, **decode_options(args))
    return 0


def cmd_evaluate(args) -> int:
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


def cmd_generate(args) -> int:
    from s2s.decoding.generator import TextGenerator

    checkpoint_inputs("--checkpoint", args.checkpoint)
    generator = TextGenerator.from_checkpoint(args.checkpoint, device=args.device)
    for text in generator.generate(args.prompt, n=args.n, max_tokens=args.max_tokens, temperature=args.temperature,
                                   top_k=args.top_k, seed=args.seed):
        print(text)
    return 0


def cmd_embeddings(args) -> int:
    from s2s.data import word_vectors

    if args.embeddings_command == "train":
        return cmd_embeddings_train(args)
    if args.embeddings_command == "neighbors":
        for name, nearest in word_vectors.neighbors(args.vectors, args.word, args.k).items():
            print(f"{name}: nearest to {args.word!r} by cosine similarity")
            print("\n".join(f"  {cosine:7.4f}  {word}" for word, cosine in nearest))
        return 0
    if args.embeddings_command == "plot":
        from s2s import plotting

        figure = Output("--output", args.output, "map.png", no_stdout="the words' coordinates are printed there")
        check_paths([("DIR", args.vectors)], files=[figure])
        vectors, name = word_vectors.vectors_of(args.vectors, args.words, args.side)
        coordinates = word_vectors.project_2d(vectors)
        print("\n".join(f"{word}\t{x:.4f}\t{y:.4f}" for word, (x, y) in zip(args.words, coordinates)))
        if plotting.pyplot() is None:
            print(plotting.MISSING, file=sys.stderr)
            return 0
        plotting.plot_word_map(args.words, coordinates, Path(args.output), f"{name}: PCA of {len(args.words)} word vectors")
        print(f"wrote {args.output}")
        return 0
    raise S2SError("usage: s2s embeddings (train --config CFG --output DIR | neighbors DIR WORD | plot DIR WORD... --output PNG)")


def cmd_embeddings_train(args) -> int:
    from s2s.config import load_config
    from s2s.data.word_vectors import train_for_config
    from s2s.registry import MODELS, import_user_modules

    config = load_config(args.config, args.set)
    check_paths(config_inputs(config, "--config", args.config) +
                input_files(("--src-text", args.src_text), ("--tgt-text", args.tgt_text)),
                folders=[("--output", args.output, lambda relative: str(relative) in EMBEDDING_FILES)])
    import_user_modules(config.imports)
    monolingual = MODELS.task(config.model.resolved_name) == "language_model"
    train_for_config(config.data, args.output, ("tgt",) if monolingual else ("src", "tgt"),
                     {"src": args.src_text, "tgt": args.tgt_text}, monolingual, log=lambda message: print(message, file=sys.stderr),
                     method=args.method, dim=args.dim or config.model.emb_size, window=args.window, negative=args.negative,
                     min_count=args.min_count, epochs=args.epochs, seed=args.seed, workers=args.workers)
    print(f"wrote {args.output}/embeddings.json and the vectors; use them with model.src_embeddings / model.tgt_embeddings")
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


def cmd_report(args) -> int:
    from s2s.data.corpus import read_splits
    from s2s.data.readers import read_parallel
    from s2s.decoding.translator import Translator
    from s2s.evaluation.report import figure_names
    from s2s.pretrained import MODEL_FILE, is_pretrained_folder, resolve

    run_dir = resolve(args.run_dir)
    if run_dir.is_file():
        raise S2SError(f"RUN_DIR '{run_dir}' is a file; give a run folder written by s2s train (e.g. runs/quickstart) "
                       f"or a pretrained model (s2s pretrained lists them); a checkpoint file goes to --checkpoint.")
    checkpoint = run_dir / "best.pt"
    if not checkpoint.is_file() and is_pretrained_folder(run_dir):
        checkpoint = run_dir / MODEL_FILE  # a pretrained model: its config names the test split; it has no curves
    if not checkpoint.is_file():
        state = "has no best.pt" if run_dir.is_dir() else "does not exist"
        raise S2SError(f"RUN_DIR '{run_dir}' {state}; give a run folder written by s2s train (e.g. runs/quickstart) "
                       f"or a pretrained model (s2s pretrained lists them).")
    if (args.src is None) != (args.ref is None):
        raise S2SError("--src and --ref go together: give both, or neither to use the run's test split.")
    output = Path(args.output) if args.output else Path("runs", run_dir.name, "report") if checkpoint.name == MODEL_FILE \
        else run_dir / "report"
    writes = set(REPORT_FILES) | set(figure_names("report").values())
    check_paths([("RUN_DIR", run_dir)] + checkpoint_inputs("--checkpoint", args.checkpoint or []) +
                input_files(("--src", args.src), ("--ref", args.ref)),
                folders=[("--output", output, lambda relative: str(relative) in writes)])
    translator = Translator.from_checkpoint(args.checkpoint or checkpoint, device=args.device, precision=args.precision)
    if args.src:
        (sources, references), src, ref = read_parallel(args.src, args.ref, ("--src", "--ref")), args.src, args.ref
    else:
        data = translator.checkpoint["config"].data
        splits = read_splits(data, ("test",))
        if "test" not in splits:
            raise S2SError("the run's data has no test split (data.test_src / data.test_tgt are empty); pass --src and --ref.")
        (sources, references), src, ref = splits["test"], f"{data.dataset} test ({data.src})", f"{data.dataset} test ({data.tgt})"
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise S2SError(f"cannot create report folder '{output}': {error.strerror}; choose another --output.") from None
    run_evaluation(translator, sources, references, decode_options(args), report=str(output / "report.json"),
                   translations=str(output / "translations.txt"), src=src, ref=ref, run_dir=run_dir)
    return 0


def cmd_compare(args) -> int:
    from s2s.evaluation.compare import compare_runs

    for run_dir in map(Path, args.run_dirs):
        if not run_dir.is_dir():
            raise S2SError(f"RUN_DIR '{run_dir}' {'is a file' if run_dir.exists() else 'does not exist'}; give run "
                           f"folders written by s2s train.")
    if args.output:
        check_paths([("RUN_DIR", run_dir) for run_dir in args.run_dirs],
                    folders=[("--output", args.output, lambda relative: str(relative) in COMPARE_FILES)])
    _, table = compare_runs(args.run_dirs, args.output)
    print(table)
    if args.output:
        print(f"wrote {args.output}/compare.md, compare.json and compare.png")
    return 0


def cmd_score(args) -> int:
    from s2s.data.readers import read_parallel
    from s2s.decoding.translator import Translator
    from s2s.evaluation.perplexity import perplexity

    check_paths(checkpoint_inputs("--checkpoint", args.checkpoint) + input_files(("--src", args.src), ("--tgt", args.tgt)),
                files=[Output("--output", args.output or STDOUT, "scores.jsonl" if args.format == "json" else "scores.tsv")])
    sources, targets = read_parallel(args.src, args.tgt, ("--src", "--tgt"))
    scores = Translator.from_checkpoint(args.checkpoint, device=args.device).score(sources, targets, args.batch_size)
    with output_stream(args.output) as out:
        for score in scores:
            out.write(json.dumps(score) + "\n" if args.format == "json" else
                      f"{score['log_prob']:.6f}\t{score['mean']:.6f}\t{score['tokens']}\n")
    sys.stdout.flush()  # the scores before the summary where both go to one terminal or pipe
    total, tokens = sum(s["log_prob"] for s in scores), sum(s["tokens"] for s in scores)
    if tokens:
        print(f"scored {len(scores):,} pairs: {total / tokens:.4f} nats per token (perplexity "
              f"{perplexity(-total, tokens):.3f}) over {tokens:,} target tokens, </s> included", file=sys.stderr)
    return 0


def cmd_significance(args) -> int:
    from s2s.data.readers import read_lines
    from s2s.evaluation.significance import format_significance, paired_significance

    hypotheses = [("--baseline", args.baseline)] + [("HYP", path) for path in args.systems]
    check_paths(input_files(("--ref", args.ref), *hypotheses), files=[Output("--json", args.json, "significance.json")])
    systems = [(path, read_lines(path, flag=flag)) for flag, path in hypotheses]
    result = paired_significance(read_lines(args.ref, flag="--ref"), systems, args.seed, args.bootstrap_samples,
                                 args.ar_trials, reference_name=f"--ref '{args.ref}'")
    result["ref"] = args.ref
    print(format_significance(result), file=summary_stream(args.json))  # stderr when the JSON goes to stdout
    if args.json:
        with output_stream(args.json, flag="--json") as out:
            out.write(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


def cmd_average(args) -> int:
    from s2s.checkpoint import average_checkpoints, checkpoint_bytes, select_kept

    picking = args.last is not None or args.best is not None
    if picking and (len(args.inputs) != 1 or not Path(args.inputs[0]).is_dir()):
        raise S2SError("--last/--best pick among one run folder's kept checkpoints; give exactly one RUN_DIR "
                       "(or give .pt files without --last/--best).")
    output = Output("--output", args.output, "average.pt", no_stdout="a checkpoint is binary data")
    check_paths(checkpoint_inputs("CKPT_OR_RUN_DIR", args.inputs), files=[output])
    if picking:
        paths = select_kept(args.inputs[0], last=args.last or 0, best=args.best or 0)
        asked = args.last or args.best
        if len(paths) < asked:
            flag = "--last" if args.last else "--best"
            raise S2SError(f"{flag} {asked}: '{args.inputs[0]}' keeps only {len(paths)} checkpoints "
                           f"(checkpoints/); ask for at most {len(paths)}.")
    else:
        paths = [Path(p) for p in args.inputs]
    content = checkpoint_bytes(average_checkpoints(paths))
    with open_output(output, binary=True, durable=True) as handle:
        handle.write(content)
    print(f"averaged {len(paths)} checkpoints ({', '.join(p.name for p in paths)}) into {args.output}")
    return 0


def cmd_export(args) -> int:
    from s2s.export.onnx import EXPORT_FILES, earlier_export, export_onnx

    check_paths(checkpoint_inputs("--checkpoint", args.checkpoint),
                folders=[("--output", args.output, lambda relative: str(relative) in EXPORT_FILES)])
    replaced = earlier_export(Path(args.output))
    others = sorted(set(os.listdir(args.output)) - set(replaced)) if replaced else []
    output = export_onnx(args.checkpoint, args.output, verify=not args.no_verify)
    news = f", replacing the {len(replaced)} files of the earlier export there" if replaced else ""
    if others:
        named = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        entries = f"{len(others)} other entr{'y' if len(others) == 1 else 'ies'}"
        news += f" and leaving the {entries} there as they were ({named})"
    print(f"exported {args.checkpoint} to {output}/ (encoder.onnx, decoder.onnx, manifest.json){news}; translate with: "
          f"s2s translate --engine onnx --checkpoint {shlex.quote(str(output))}")
    return 0


def cmd_serve(args) -> int:
    from s2s.serving.server import require_web_stack, serve
    from s2s.serving.service import Limits, parse_checkpoint_spec

    require_web_stack()  # the missing extra is named first, as translate names a missing torch
    if not args.checkpoint:
        args.checkpoint = list(SERVE_DEFAULT)
    checkpoint_inputs("--checkpoint", [parse_checkpoint_spec(spec)[1] for spec in args.checkpoint])
    limits = Limits(max_body_bytes=args.max_body_bytes, max_lines=args.max_lines, max_chars=args.max_chars,
                    max_beam=args.max_beam)
    serve(args.checkpoint, args.host, args.port, args.device, args.precision, limits, args.max_batch_wait_ms,
          args.max_batch_lines, batching=not args.no_batching, engine=args.engine)
    return 0


def cmd_pretrained(args) -> int:
    from s2s.pretrained import format_listing, list_pretrained, pretrained_root

    models = list_pretrained()
    print(format_listing(models, pretrained_root()))
    damaged = [model["name"] for model in models if model["problem"]]
    if damaged:
        raise S2SError(f"the card{'s' if len(damaged) > 1 else ''} of {', '.join(damaged)} cannot be read (the problem "
                       f"lines above say why); those models still load by name, but their listing is incomplete.")
    return 0


def cmd_zoo(args) -> int:
    from s2s.config import ModelConfig
    from s2s.models import count_parameters
    from s2s.registry import MODELS

    cfg = ModelConfig()
    print(f"{'name':<12} {'parameters':>12}  description")
    for name in MODELS.names():
        params = count_parameters(MODELS.build(name, cfg, 8000, 8000))
        print(f"{name:<12} {params:>12,}  {MODELS.describe(name)}")
    return 0


def cmd_data(args) -> int:
    if args.data_command == "cache":
        return cmd_data_cache(args)
    if args.data_command != "download":
        raise S2SError("usage: s2s data download {multi30k,tatoeba} [--dest DIR] [--mirror DIR] | s2s data cache "
                       "[--list | --clear]")
    dest = args.dest or f"data/{args.dataset}"
    check_output_folder("--dest", Path(dest))
    if args.mirror and Path(args.mirror).exists() and same_file(Path(dest), Path(args.mirror)):
        raise S2SError(f"--dest '{dest}' is the --mirror folder, so the files would be copied onto themselves; "
                       f"give another --dest.")
    if args.dataset == "tatoeba":
        from s2s.data.tatoeba import prepare_tatoeba

        manifest = prepare_tatoeba(dest, mirror=args.mirror)
        paths = {name: str(Path(dest) / name) for name in manifest["files"]}
    else:
        from s2s.data.multi30k import download_multi30k

        paths = {name: str(path) for name, path in download_multi30k(dest, mirror=args.mirror).items()}
    print(json.dumps(paths, indent=2))
    return 0


def cmd_data_cache(args) -> int:
    from s2s.config import load_config
    from s2s.data.cache import clear, describe, format_bytes, resolve_cache_dir

    root = resolve_cache_dir(load_config(args.config).data.cache_dir if args.config else args.dir or "")
    where = "--dir" if args.dir else "data.cache_dir"
    if str(root) == STDOUT:
        raise S2SError(f"the cache folder '-' ({where}) cannot be stdout; give a folder.")
    if root.exists() and not root.is_dir():
        raise S2SError(f"the cache folder '{root}' ({where}) is {what_is(root)}; give a folder.")
    if args.clear:
        items, size, left = clear(root)
        print(f"data cache: deleted {items} entr{'y' if items == 1 else 'ies'} ({format_bytes(size)}) from {root}")
        if left:
            print(f"data cache: left {len(left)} folder{'s' if len(left) > 1 else ''} named like entries alone: "
                  f"{'they hold' if len(left) > 1 else 'it holds'} files the cache did not write, or no manifest.json "
                  f"of its own: {', '.join(path.name for path in left)}")
    else:
        print(describe(root))
    return 0


def cmd_analyze(args) -> int:
    if args.analysis != "gradients":
        raise S2SError("usage: s2s analyze gradients (--config CFG | --checkpoint CKPT) --output DIR")
    from s2s.analysis.gradients import analyze_gradients, load_subjects

    inputs = input_files(("--config", args.config)) if args.config else checkpoint_inputs("--checkpoint", args.checkpoint)
    check_paths(inputs, folders=[("--output", args.output, lambda relative: str(relative) in GRADIENT_FILES)])
    models, examples = load_subjects(args.config, args.checkpoint, args.cells, args.sentences)
    results = analyze_gradients(models, examples, args.length, args.output)
    for name, data in results["models"].items():
        norms = data["grad_norm_by_distance"]
        print(f"{name:>6}: |dL/dh| at distance 0 {norms[0]:.3g}, at {len(norms) - 1} {norms[-1]:.3g} "
              f"(ratio {norms[-1] / norms[0]:.2g})")
    print(f"wrote {args.output}/gradients.json, gradients.csv and figures")
    return 0


COMMANDS = {"train": cmd_train, "translate": cmd_translate, "evaluate": cmd_evaluate, "report": cmd_report,
            "compare": cmd_compare, "score": cmd_score, "significance": cmd_significance, "average": cmd_average, "export": cmd_export, "serve": cmd_serve,
            "pretrained": cmd_pretrained, "zoo": cmd_zoo, "data": cmd_data, "analyze": cmd_analyze, "generate": cmd_generate, "embeddings": cmd_embeddings,
            "distill": cmd_distill}


NEEDS_TORCH = ("s2s {command} needs torch, which is not installed: pip install torch==2.13.0 (the CPU wheel), or "
               "pip install -e '.[torch]'. Without torch, s2s translate, evaluate and serve run ONNX exports and the "
               "pretrained models with --engine onnx, and s2s pretrained lists them (pip install -e '.[runtime]').")


def uses_torch(args) -> bool:
    """Whether the command runs torch models: every command but s2s pretrained and those given --engine onnx, which
    import neither torch nor onnx (cold start: docs/deploy.md)."""
    return args.command != "pretrained" and getattr(args, "engine", "torch") != "onnx"


def run_command(args) -> int:
    """Run the subcommand; where torch is not installed, only the commands that do not need it (--engine onnx)."""
    if uses_torch(args):
        try:
            import s2s.models  # noqa: F401  (registers the zoo before any command looks up a model)
        except ModuleNotFoundError as error:
            if error.name != "torch":
                raise
    try:
        return COMMANDS[args.command](args)
    except ModuleNotFoundError as error:
        if error.name != "torch":
            raise
        raise S2SError(NEEDS_TORCH.format(command=args.command)) from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return run_command(args)
    except S2SError as error:
        if args.debug:
            raise
        print(f"s2s {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
