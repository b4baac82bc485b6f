"""s2s translate: translate lines of a file or stdin (typed at a terminal: interactively), with n-best lists,
sampling, target prefixes, attention matrices and word alignments."""

from __future__ import annotations

import json
import sys

from s2s.commands.decoding import add_decode_options, decode_options, load_translator, require_engine
from s2s.commands.numbers import SEED, at_least, positive_float
from s2s.commands.paths import check_paths, checkpoint_inputs, input_files
from s2s.commands.streams import output_stream
from s2s.decoding.translation import SAMPLING_MAXIMUM
from s2s.errors import S2SError
from s2s.outputs import STDOUT, Output


def add_parser(commands) -> None:
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


def run(args) -> int:
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
