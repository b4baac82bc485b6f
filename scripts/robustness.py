"""How models fare on text as people type it: the Tatoeba dev or test split as written, without final punctuation,
with a lower-cased source, both, with other names (rare and common), other cities and other numbers, and the short noun phrases its pairs open
with; BLEU, chrF, how often names and numbers come through, and how often the output loops (a word three times in a
row).

    python scripts/robustness.py --checkpoint de-en everyday-de-en-v1 --split dev [--output benchmarks/everyday/X]

Each checkpoint decodes with its own decode settings (a pretrained model's card). The names put in are real names
of many languages (data.augment_names trains with names made up afresh for each pair, data/augment.py), and the
numbers have 1 to 9 digits (training's have 1 to 7), so that the figures measure copying, not remembering. The short
phrases are found as data.augment_fragments finds them in training pairs, with and without their determiner. Tatoeba's German-English splits only: the direction comes from
the checkpoint (de->en reads the German side).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import sacrebleu
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, markdown_table, run_script  # noqa: E402

from s2s.checkpoint import load_checkpoint  # noqa: E402
from s2s.data.augment import (DIGITS, GERMAN_PHRASE, NAME_PATTERNS, PLACE_PATTERNS, _phrase_pair,  # noqa: E402
                             strip_final_punct)
from s2s.data.readers import read_parallel  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.pretrained import resolve  # noqa: E402

# None ends in s, x, z or ß (German genitives take a plain "s").
EVAL_NAMES = ("Þórdís", "Nguyễn", "Małgosia", "Øystein", "Chukwuemeka", "Saoirse", "Hyun-woo", "Ágota", "Radomír",
              "Fionnuala", "Grzegorz", "Wiebke", "Kwabena", "Anneliese", "Tadeusz", "Orsolya", "Pradeep", "Vesna",
              "Ilse", "Eero", "Dagny", "Mirela", "Leopold", "Jolanta", "Nnamdi", "Aurélie", "Bartek", "Sigrún", "Ruairí",
              "Xochitl")
# Common first names and cities written alike in German and English, none in data.augment_names' lists
# (data/augment.py): a name the model has not been taught to copy, but whose pieces are everyday ones.
EVAL_COMMON_NAMES = ("Peter", "Lisa", "Michael", "Julia", "Laura", "David", "Sarah", "Daniel", "Sophie", "Paul",
                     "Emma", "Marie", "Jan", "Katharina", "Stefan", "Claudia", "Sabine", "Martin", "Monika", "Petra",
                     "Emily", "Jessica", "Robert", "Olivia", "William", "Karl", "Helga", "Frank", "Susanne", "Kevin")
EVAL_PLACES = ("Berlin", "Hamburg", "Frankfurt", "Stuttgart", "Dresden", "Leipzig", "Bremen", "Düsseldorf",
               "Salzburg", "Graz", "Bern", "London", "Madrid", "Amsterdam", "Dublin", "Toronto", "Sydney", "Edinburgh",
               "Budapest", "Potsdam", "Heidelberg", "Oslo", "Stockholm", "Bristol", "Dortmund")
PLACE_PATTERN = PLACE_PATTERNS["Boston"]  # the training text's city (Tatoeba's Tom lives there)
PLACE_COPIES = 5  # each pair naming it is asked this many times, with another city each time
LOOP = re.compile(r"\b(\w+)\b(?:\W+\1\b){2,}", re.IGNORECASE)
NUMBER_COPIES = 5  # each test pair with numbers is asked this many times, with other numbers each time


def short_phrases(src: list[str], ref: list[str], german_source: bool) -> list[tuple[str, str]]:
    """The noun phrases the pairs open with ("Ein kleines Mädchen" - "A little girl"), each also without its determiner
    ("kleines Mädchen" - "little girl"); once each."""
    phrases = {}
    for s, r in zip(src, ref):
        german, english = (s, r) if german_source else (r, s)
        if GERMAN_PHRASE.match(german) and (found := _phrase_pair(german, english, index=0)) and " " in found[0]:
            for german_phrase, english_phrase in (found, tuple(side.split(" ", 1)[1] for side in found)):
                pair = (german_phrase, english_phrase) if german_source else (english_phrase, german_phrase)
                phrases.setdefault(pair[0], pair)
    return list(phrases.values())


def variants(src: list[str], ref: list[str], german_source: bool, seed: int = 1) -> dict[str, tuple[list[str], list[str]]]:
    """{name: (sources, references)} of the split's variants."""
    rng = random.Random(seed)
    rng_places = random.Random(seed + 1)  # its own draws: the other variants' lines stay those recorded before
    bare = [strip_final_punct(s, r) for s, r in zip(src, ref)]
    bare = [pair for pair, original in zip(bare, zip(src, ref)) if pair != original]
    named, common, placed, numbered = [], [], [], []
    for s, r in zip(src, ref):
        pattern = NAME_PATTERNS["Tom"]
        if len(pattern.findall(s)) and len(pattern.findall(s)) == len(pattern.findall(r)):
            name = rng.choice(EVAL_NAMES)
            named.append((pattern.sub(name, s), pattern.sub(name, r)))
            name = rng_places.choice(EVAL_COMMON_NAMES)
            common.append((pattern.sub(name, s), pattern.sub(name, r)))
        if len(PLACE_PATTERN.findall(s)) and len(PLACE_PATTERN.findall(s)) == len(PLACE_PATTERN.findall(r)):
            for place in rng_places.sample(EVAL_PLACES, PLACE_COPIES):
                placed.append((PLACE_PATTERN.sub(place, s), PLACE_PATTERN.sub(place, r)))
        numbers = DIGITS.findall(s)
        if numbers and sorted(numbers) == sorted(DIGITS.findall(r)):
            for _ in range(NUMBER_COPIES):
                new = {n: str(rng.randrange(10 ** (length - 1) if length > 1 else 0, 10**length))
                       for n in dict.fromkeys(numbers) for length in [rng.randint(1, 9)]}
                numbered.append(tuple(DIGITS.sub(lambda m: new[m.group()], side) for side in (s, r)))
    return {"as written": (src, ref),
            "no final punctuation": ([s for s, _ in bare], [r for _, r in bare]),
            "lower-cased source": ([s.lower() for s in src], ref),
            "both (typed casually)": ([s.lower() for s, _ in bare], [r for _, r in bare]),
            "other names": ([s for s, _ in named], [r for _, r in named]),
            "common names": ([s for s, _ in common], [r for _, r in common]),
            "places": ([s for s, _ in placed], [r for _, r in placed]),
            "other numbers": ([s for s, _ in numbered], [r for _, r in numbered]),
            "short phrases": tuple(map(list, zip(*short_phrases(src, ref, german_source)))) or ([], [])}


VARIANT_NAMES = ("as written", "no final punctuation", "lower-cased source", "both (typed casually)", "other names",
                 "common names", "places", "other numbers", "short phrases")


def kept(kind: str, sources: list[str], outputs: list[str]) -> float | None:
    """Percent of the lines whose names (other names, common names, places) or numbers (other numbers) all come
    through."""
    names = {"other names": EVAL_NAMES, "common names": EVAL_COMMON_NAMES, "places": EVAL_PLACES}.get(kind)
    if names:
        hits = [all(name in out for name in names if re.search(rf"\b{name}(?=s?\b)", src))
                for src, out in zip(sources, outputs)]
    elif kind == "other numbers":
        hits = [sorted(DIGITS.findall(src)) == sorted(DIGITS.findall(out)) for src, out in zip(sources, outputs)]
    else:
        return None
    return round(100 * sum(hits) / max(1, len(hits)), 1)


def score(translator: Translator, cases: dict) -> dict:
    results = {}
    for kind, (sources, refs) in cases.items():
        if not sources:  # e.g. no pair with numbers in a --limit
            continue
        outputs = translator.translate(sources)
        results[kind] = {"lines": len(sources), "bleu": round(sacrebleu.corpus_bleu(outputs, [refs]).score, 2),
                         "chrf": round(sacrebleu.corpus_chrf(outputs, [refs]).score, 2),
                         "loops_percent": round(100 * sum(bool(LOOP.search(out)) for out in outputs) / max(1, len(outputs)), 2),
                         "kept_percent": kept(kind, sources, outputs)}
        print(f"  {kind}: {results[kind]}", file=sys.stderr)
    return results


def languages(checkpoint: str) -> tuple[str, str]:
    """(source, target) language of a checkpoint, a run folder (its best.pt) or a pretrained folder or name."""
    path = resolve(checkpoint)
    if path.is_dir():
        path = path / ("model.pt" if (path / "model.pt").exists() else "best.pt")
    data = load_checkpoint(path)["config"]["data"]
    return data["src"], data["tgt"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", nargs="+", required=True, help="pretrained names, folders or .pt files")
    parser.add_argument("--split", choices=["dev", "test"], default="dev", help="the Tatoeba split (default dev)")
    parser.add_argument("--data-dir", default=str(REPO / "data" / "tatoeba"), help="the prepared Tatoeba folder "
                        "(s2s data download tatoeba)")
    parser.add_argument("--variants", nargs="+", metavar="VARIANT", help="only these variants (default all): "
                        + ", ".join(f"'{kind}'" for kind in VARIANT_NAMES))
    parser.add_argument("--limit", type=int, default=0, help="only the split's first N pairs (a quick look)")
    parser.add_argument("--output", help="write OUTPUT.json and OUTPUT.md")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args()
    unknown = sorted(set(args.variants or ()) - set(VARIANT_NAMES))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}: choose from {list(VARIANT_NAMES)}")
    torch.set_num_threads(args.threads)
    info = machine_info()
    print(describe_machine(info), file=sys.stderr)
    results, rows = {}, []
    for checkpoint in args.checkpoint:
        translator = Translator.from_checkpoint(checkpoint, device="cpu")
        src_lang, tgt_lang = languages(checkpoint)
        folder = Path(args.data_dir)
        src, ref = read_parallel(folder / f"{args.split}.{src_lang}", folder / f"{args.split}.{tgt_lang}")
        src, ref = (src[: args.limit], ref[: args.limit]) if args.limit else (src, ref)
        print(f"{checkpoint} ({src_lang}->{tgt_lang}), Tatoeba {args.split}:", file=sys.stderr)
        cases = variants(src, ref, german_source=src_lang == "de")
        results[checkpoint] = score(translator, {kind: cases[kind] for kind in args.variants or cases})
        for kind, figures in results[checkpoint].items():
            rows.append([checkpoint, kind, figures["lines"], figures["bleu"], figures["chrf"], figures["loops_percent"],
                         "" if figures["kept_percent"] is None else figures["kept_percent"]])
    lines = [f"Tatoeba {args.split} split, variants of text as people type it (`{info['command']}`):", ""]
    lines += markdown_table(["model", "variant", "lines", "BLEU", "chrF", "loops %", "names/numbers kept %"],
                            "llrrrrr", rows)
    lines += ["", describe_machine(info)]
    print("\n".join(lines))
    if args.output:
        Path(f"{args.output}.json").write_text(json.dumps({"machine": info, "split": args.split, "results": results},
                                                          indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        Path(f"{args.output}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    run_script(main)
