"""How many of the built-in task's short numbers a model translates exactly: every number below 1,000 and every
number of one or two English words ("nine thousand"), greedy decoding.

    python scripts/check_short_numbers.py --checkpoint runs/quickstart
"""

from __future__ import annotations

import argparse

from s2s import Translator
from s2s.data.numbers import english, german, short_numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a built-in-task checkpoint or run folder")
    parser.add_argument("--max-digits", type=int, default=12, help="data.numbers_max_digits of its config")
    args = parser.parse_args()
    translator = Translator.from_checkpoint(args.checkpoint, device="cpu")
    numbers = sorted(set(range(1000)) | set(short_numbers(args.max_digits)))
    outputs = translator.translate([english(n) for n in numbers], beam=1, batch_size=256)
    misses = [(english(n), out, german(n)) for n, out in zip(numbers, outputs) if out != german(n)]
    print(f"{len(numbers) - len(misses)} of {len(numbers)} short numbers exact ({args.checkpoint})")
    for source, out, reference in misses:
        print(f"  {source!r} -> {out!r} (expected {reference!r})")


if __name__ == "__main__":
    main()
