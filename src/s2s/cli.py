"""The `s2s` program: its parser, built from one module per command (s2s/commands/: each holds its options and its
run), and the dispatch to that run, with s2s's errors on one line; no logic of its own."""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading

from s2s.commands import (analyze, average, compare, data, distill, embeddings, evaluate, export, generate, pretrained,
                          report, score, serve, significance, train, translate, zoo)
from s2s.errors import S2SError, raise_on_sigterm, stopped
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


class Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, as s2s's own errors are (the usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# The commands in the order s2s --help lists them: each module's add_parser adds its options, its run is the command.
COMMANDS = {"train": train, "translate": translate, "distill": distill, "evaluate": evaluate, "report": report,
            "compare": compare, "score": score, "significance": significance, "average": average, "export": export,
            "serve": serve, "generate": generate, "embeddings": embeddings, "pretrained": pretrained, "zoo": zoo,
            "analyze": analyze, "data": data}


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="s2s", description="Recurrent sequence-to-sequence translation: train, translate and evaluate "
                                            "RNN/LSTM/GRU encoder-decoders.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"s2s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        command.add_parser(commands)
    return parser


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
        return COMMANDS[args.command].run(args)
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
    except KeyboardInterrupt as stop:
        return stopped(stop)
    except BrokenPipeError:
        return 0


def console_main() -> None:
    """The `s2s` program (and python -m s2s): main(), then a quick exit. Python's own shutdown tears down every module
    torch loaded, about half a second on a 2-core machine after the answer is out; once the output is flushed, the
    exit handlers have run (atexit: file loggers, temporary folders, worker pools) and no other thread is working,
    none of that teardown is needed, and os._exit skips it. A command that leaves a non-daemon thread running, or that
    raises, exits the usual way. main() itself never exits (tests call it in-process)."""
    raise_on_sigterm()
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader went away (s2s translate | head -1): nothing more can be written
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if any(not thread.daemon for thread in threading.enumerate() if thread is not threading.main_thread()):
        sys.exit(code)
    atexit._run_exitfuncs()
    os._exit(code)

