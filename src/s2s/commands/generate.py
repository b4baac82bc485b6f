"""s2s generate: sample text from a language model."""

from __future__ import annotations

from s2s.commands.numbers import SEED, at_least
from s2s.commands.paths import checkpoint_inputs


def add_parser(commands) -> None:
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


def run(args) -> int:
    from s2s.decoding.generator import TextGenerator

    checkpoint_inputs("--checkpoint", args.checkpoint)
    generator = TextGenerator.from_checkpoint(args.checkpoint, device=args.device)
    for text in generator.generate(args.prompt, n=args.n, max_tokens=args.max_tokens, temperature=args.temperature,
                                   top_k=args.top_k, seed=args.seed):
        print(text)
    return 0
