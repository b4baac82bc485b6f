"""IWSLT'14 German-English (TED talks) in fairseq's standard split, as untokenized text for `dataset: files`.

    python scripts/prepare_iwslt14.py --archive PATH/de-en.tgz [--dest data/iwslt14] [--sha256 HEX]
    python scripts/prepare_iwslt14.py --mirror DIR [...]          # DIR holds de-en.tgz

then `s2s train --config configs/iwslt14/de_en.yaml`. The archive is the IWSLT 2014 evaluation campaign's
German-English release (WIT3 2014-01), the one fairseq's examples/translation/prepare-iwslt14.sh fetches. s2s does
not download it; fetch it where there is internet, e.g.

    curl -O http://dl.fbaipublicfiles.com/fairseq/data/iwslt14/de-en.tgz   # fairseq's copy
    (the original, https://wit3.fbk.eu/archive/2014-01/texts/de/en/de-en.tgz, is no longer served)

No official SHA-256 of the archive is published that this script knows of, so none is built in: it prints the
archive's size and SHA-256 for you to record, and --sha256 checks a copy against a value you trust.

The split is fairseq's (prepare-iwslt14.sh):
- training text: train.tags.de-en.{de,en} without the lines that hold <url>, <talkid> or <keywords>, with the tags
  <title>, </title>, <description>, </description> removed (their text kept); pairs with a side of no token or of
  more than 175, or with one side more than 1.5 times as long as the other, are dropped (Moses' clean-corpus-n.perl
  -ratio 1.5 ... 1 175 on Moses-tokenized text); of the rest every 23rd pair is validation, the others training;
- test: IWSLT14.TED.dev2010, IWSLT14.TEDX.dev2012, IWSLT14.TED.tst2010, tst2011 and tst2012 concatenated: the text
  of their <seg> elements, with ’ written as '.
fairseq's script gives 160,239 training, 7,283 validation and 6,750 test pairs. Unlike fairseq's, the text is
written as it is, neither tokenized nor lowercased: s2s learns SentencePiece on raw text and scores detokenized
output with sacreBLEU (so its BLEU is not comparable to the tokenized, lowercased BLEU papers report on this split).

The token counts of the cleaning step come from sacremoses (Moses' tokenizer in Python; `pip install s2s[moses]`),
as fairseq's come from Moses; without it from splitting on spaces, which drops a slightly different set of pairs
and so moves the validation pairs too: the script says which one it used.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tarfile
from pathlib import Path

LANGUAGES = ("de", "en")
TEST_SETS = ("IWSLT14.TED.dev2010", "IWSLT14.TEDX.dev2012", "IWSLT14.TED.tst2010", "IWSLT14.TED.tst2011",
             "IWSLT14.TED.tst2012")
DROPPED_LINES = ("<url>", "<talkid>", "<keywords>")
REMOVED_TAGS = ("<title>", "</title>", "<description>", "</description>")
MIN_TOKENS, MAX_TOKENS, MAX_RATIO = 1, 175, 1.5  # clean-corpus-n.perl -ratio 1.5 ... 1 175
VALID_EVERY = 23
SEG = re.compile(r'<seg id="[0-9]*">\s*(.*?)\s*</seg>')


class PrepareError(Exception):
    """A problem with the archive or the destination; the message says what to do."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def read_members(archive: Path) -> dict[str, list[str]]:
    """{file name: its lines} of the archive's files, whatever folder they are in (de-en/ in the release)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            return {Path(member.name).name: tar.extractfile(member).read().decode("utf-8").splitlines()
                    for member in tar.getmembers() if member.isfile()}
    except (OSError, tarfile.TarError, EOFError) as error:
        raise PrepareError(f"{archive} cannot be read as a .tgz archive ({error}); download it again.") from None
    except UnicodeDecodeError as error:
        raise PrepareError(f"{archive} holds a file that is not UTF-8 ({error}); is it the IWSLT'14 de-en release?") from None


def need(members: dict[str, list[str]], name: str, archive: Path) -> list[str]:
    if name not in members:
        raise PrepareError(f"{archive} has no {name}; is it the IWSLT'14 German-English release (de-en.tgz)?")
    return members[name]


def training_text(lines: list[str]) -> list[str]:
    """fairseq's grep -v and sed on train.tags: the metadata lines dropped, the title and description tags removed."""
    kept = []
    for line in lines:
        if any(marker in line for marker in DROPPED_LINES):
            continue
        for tag in REMOVED_TAGS:
            line = line.replace(tag, "")
        kept.append(line.strip())
    return kept


def segments(lines: list[str]) -> list[str]:
    """The text of each <seg id="N"> ... </seg> line of an IWSLT XML file, with ’ written as '."""
    return [match.group(1).replace("\u2019", "'") for line in lines if (match := SEG.search(line))]


def token_counter():
    """(count(text, language), description): Moses tokens from sacremoses when installed, else space-separated words."""
    try:
        from sacremoses import MosesTokenizer
    except ImportError:
        return (lambda text, language: len(text.split())), "words split on spaces (sacremoses is not installed)"
    tokenizers = {language: MosesTokenizer(lang=language) for language in LANGUAGES}
    return (lambda text, language: len(tokenizers[language].tokenize(text, escape=True))), "Moses tokens (sacremoses)"


def keep_pair(src: str, tgt: str, count) -> bool:
    """clean-corpus-n.perl's test of one pair: 1 to 175 tokens a side, a length ratio of at most 1.5."""
    if not src.split() or not tgt.split():
        return False
    src_count, tgt_count = count(src, "de"), count(tgt, "en")
    if not (MIN_TOKENS <= src_count <= MAX_TOKENS and MIN_TOKENS <= tgt_count <= MAX_TOKENS):
        return False
    return src_count / tgt_count <= MAX_RATIO and tgt_count / src_count <= MAX_RATIO


def prepare(archive: Path, dest: Path, expected_sha256: str = "", log=print) -> dict[str, int]:
    """Write dest/{train,valid,test}.{de,en} from the archive; return the pairs of each split."""
    if not archive.is_file():
        raise PrepareError(f"{archive} does not exist; download de-en.tgz first (see --help).")
    digest = sha256_of(archive)
    log(f"{archive}: {archive.stat().st_size:,} bytes, SHA-256 {digest}")
    if expected_sha256 and digest != expected_sha256.lower():
        raise PrepareError(f"{archive}: SHA-256 {digest}, not the expected {expected_sha256}; the copy is damaged or "
                           "another file: download it again. Nothing was written.")
    members = read_members(archive)
    train = {language: training_text(need(members, f"train.tags.de-en.{language}", archive)) for language in LANGUAGES}
    if len(train["de"]) != len(train["en"]):
        raise PrepareError(f"{archive}: train.tags.de-en.de and .en have {len(train['de'])} and {len(train['en'])} "
                           "lines after dropping the metadata lines; the archive is not the expected release.")
    count, counted = token_counter()
    log(f"cleaning the training pairs by {counted}")
    cleaned = [(de, en) for de, en in zip(train["de"], train["en"]) if keep_pair(de, en, count)]
    splits = {"train": [pair for i, pair in enumerate(cleaned, start=1) if i % VALID_EVERY],
              "valid": [pair for i, pair in enumerate(cleaned, start=1) if not i % VALID_EVERY]}
    test = {language: [line for name in TEST_SETS
                       for line in segments(need(members, f"{name}.de-en.{language}.xml", archive))]
            for language in LANGUAGES}
    if len(test["de"]) != len(test["en"]):
        raise PrepareError(f"{archive}: the test sets have {len(test['de'])} German and {len(test['en'])} English "
                           "segments; the archive is not the expected release.")
    splits["test"] = list(zip(test["de"], test["en"]))
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for split, pairs in splits.items():
            for index, language in enumerate(LANGUAGES):
                path = dest / f"{split}.{language}"
                partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
                partial.write_text("".join(pair[index] + "\n" for pair in pairs), encoding="utf-8")
                os.replace(partial, path)
    except OSError as error:
        raise PrepareError(f"cannot write to {dest}: {error}; choose a writable --dest.") from None
    sizes = {split: len(pairs) for split, pairs in splits.items()}
    log(f"{dest}: " + ", ".join(f"{split} {size:,} pairs" for split, size in sizes.items())
        + " (fairseq's split: train 160,239, valid 7,283, test 6,750)")
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--archive", help="the downloaded de-en.tgz")
    source.add_argument("--mirror", help="a folder that holds de-en.tgz")
    parser.add_argument("--dest", default="data/iwslt14", help="output folder (default: data/iwslt14, as the config expects)")
    parser.add_argument("--sha256", default="", help="the archive's SHA-256 to check it against (optional)")
    args = parser.parse_args()
    archive = Path(args.archive) if args.archive else Path(args.mirror) / "de-en.tgz"
    try:
        prepare(archive, Path(args.dest), args.sha256, log=lambda message: print(message, file=sys.stderr))
    except PrepareError as error:
        print(f"prepare_iwslt14: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
