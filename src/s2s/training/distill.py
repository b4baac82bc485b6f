"""Sequence-level knowledge distillation (Kim and Rush, 2016): a teacher (one checkpoint or an ensemble) translates
the training sources of a student's config with beam search, and the student trains on the teacher's outputs.

distill() writes into one folder the teacher's translations, chunk by chunk (rerun after a stop, it translates only
the chunks that are missing), and two student configs: the teacher's outputs alone (student.yaml) and the teacher's
outputs beside the references (student-mix.yaml). Validation and test stay the human references. The folder's
s2s-distill.json records the teachers, the source files, the decoding settings and the files distill writes there;
a rerun with other ones is refused, and no other file in the folder is ever replaced or deleted."""

from __future__ import annotations

import itertools
import json
import re
import shlex
import time
from pathlib import Path

import yaml

from s2s.checkpoint import checkpoint_file
from s2s.config import Config, config_from_dict, load_config
from s2s.data.corpus import corpus_sources
from s2s.data.readers import file_identity, iter_lines
from s2s.decoding.translation import check_decode_options
from s2s.errors import S2SError
from s2s.outputs import replaced_atomically
from s2s.pretrained import resolve
from s2s.progress import progress
from s2s.training.trainer import run_dir_for

MANIFEST = "s2s-distill.json"
FORMAT, FORMAT_VERSION = "s2s-distill", 1
CHUNKS = "chunks"
STUDENTS = {"student.yaml": False, "student-mix.yaml": True}  # file name: whether the references are mixed in
CHUNK_LINES = 2000  # sentences per chunk: what a stop can lose (about a minute of beam search on a CPU core)
DECODE_KEYS = ("beam", "length_penalty", "max_len_ratio", "no_repeat_ngram")  # what changes the teacher's outputs
IDENTITY_KEYS = ("format_version", "engine", "precision", "teachers", "decode", "chunk_lines", "corpora")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")  # a corpus name, used in file names


def owns(relative: Path) -> bool:
    """Whether a path inside the output folder is one that distill writes (no input of the command may be there)."""
    return relative.parts[:1] == (CHUNKS,) or (len(relative.parts) == 1 and (
        relative.name in (MANIFEST, *STUDENTS) or ".distilled." in relative.name))


def distill(config: Config | str | Path, teachers: list, output: str | Path, engine: str = "torch",
            device: str = "auto", precision: str = "fp32", chunk_lines: int | None = None, beam: int | None = None,
            nbest: int | None = None, length_penalty: float | None = None, max_len_ratio: float | None = None,
            no_repeat_ngram: int | None = None, batch_size: int | None = None, log=print) -> dict:
    """Translate the training sources of `config` (a Config or a YAML path) with the teachers (checkpoints; export
    folders with engine "onnx"; several form an ensemble) into the folder `output`, chunk_lines (default 2000) at a time, then write there each corpus's
    distilled targets (NAME.distilled.TGT) and the student configs. Decoding options left None are the first
    teacher's decode: settings. Returns {"sentences", "translated", "seconds", "chunks", "chunks_done_before",
    "targets", "students"}; "seconds" counts the translating only."""
    if not isinstance(config, Config):
        config = load_config(config)
    if nbest not in (None, 1):
        raise S2SError("--nbest: distillation keeps the teacher's best translation of each sentence; drop --nbest.")
    output, chunk_lines = Path(output), chunk_lines or CHUNK_LINES
    sources = training_sources(config)
    translator = load_teacher(teachers, engine, device, precision)
    check_direction(translator, config, teachers)
    settings = {key: getattr(translator.decode, key) if value is None else value
                for key, value in zip(DECODE_KEYS, (beam, length_penalty, max_len_ratio, no_repeat_ngram))}
    batch_size = translator.decode.batch_size if batch_size is None else batch_size
    check_decode_options(len(translator.tgt_vocab), batch_size=batch_size, **settings)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "engine": engine, "precision": precision,
        "teachers": [teacher_identity(teacher, engine) for teacher in teachers], "decode": settings,
        "chunk_lines": chunk_lines,
        "corpora": [{"name": name, "source": file_identity(paths["train"][0]), "lines": lines, "target": config.data.tgt}
                    for name, _, paths, lines in sources],
        "given_teachers": [str(teacher) for teacher in teachers],
    }
    manifest["files"] = planned_files(manifest)
    start_or_resume(output, manifest)
    every_chunk = [chunk for corpus in manifest["files"]["corpora"] for chunk in corpus["chunks"]]
    done = {name for name, lines in every_chunk if chunk_done(output / name, lines)}

    total = sum(lines for *_, lines in sources)
    decoding = ", ".join(f"{key} {value}" for key, value in settings.items())
    log(f"distill: {len(teachers)} teacher{'s' if len(teachers) > 1 else ''} ({engine}, {decoding}); {total:,} "
        f"training sources of {len(sources)} corpus{'es' if len(sources) > 1 else ''} in {len(every_chunk)} "
        f"chunk{'s' if len(every_chunk) > 1 else ''} of up to {chunk_lines:,} lines")
    if done:
        left = len(every_chunk) - len(done)
        log(f"distill: resuming in {output}: {len(done)} of {len(every_chunk)} chunks were done already (kept); "
            + (f"translating the other {left}" if left else "nothing left to translate"))
    started, translated = time.perf_counter(), 0
    options = {**settings, "nbest": 1, "batch_size": batch_size}
    with progress(total=total, initial=sum(lines for name, lines in every_chunk if name in done), unit="sent",
                  desc="distill", smoothing=0.1) as bar:
        try:
            for (_, _, paths, _), corpus in zip(sources, manifest["files"]["corpora"]):
                lines = iter_lines(paths["train"][0])
                for number, (name, count) in enumerate(corpus["chunks"]):
                    chunk = list(itertools.islice(lines, count))
                    if name in done:
                        continue
                    with replaced_atomically(output / name, durable=True) as handle:
                        handle.writelines(text + "\n" for text in
                                          translate_chunk(translator, chunk, number * chunk_lines, options))
                    translated += count
                    bar.update(count)
        except KeyboardInterrupt:
            bar.close()
            log(f"distill: stopped; the finished chunks are kept in {output / CHUNKS}: rerun the same command to go on")
            raise
    seconds = time.perf_counter() - started
    rate = f"{translated / seconds:.1f} sentences/s" if translated and seconds > 0 else "nothing left to translate"
    log(f"distill: translated {translated:,} sentences in {seconds:.1f} s ({seconds / 60:.1f} min; {rate})")

    targets = write_targets(output, manifest)
    students = write_students(output, config, sources, targets)
    for target in targets:
        log(f"distilled targets: {target}")
    log(f"train the student on the teacher's outputs alone: s2s train --config {shlex.quote(str(students[0]))}")
    log(f"or on them beside the references:                s2s train --config {shlex.quote(str(students[1]))}")
    return {"sentences": total, "translated": translated, "seconds": seconds, "chunks": len(every_chunk),
            "chunks_done_before": len(done), "targets": targets, "students": students}


def translate_chunk(translator, lines: list[str], first_line: int, options: dict) -> list[str]:
    """The teacher's best translation of each line (an empty line stays empty); first_line numbers the warnings."""
    return [translation.text for translation in translator.translate_detailed(lines, first_line=first_line, **options)]


def training_sources(config: Config) -> list[tuple[str, int, dict, int]]:
    """[(corpus name, weight, {split: (source path, target path)}, training lines)] of the config's data; an S2SError
    for data without training files (the built-in task, one language's text) or a corpus name unfit for a file name."""
    data = config.data
    if data.dataset in ("numbers", "text"):
        raise S2SError(f"data.dataset is {data.dataset!r}, which has no parallel training files to translate; "
                       f"distill a config whose data is multi30k, tatoeba, files or corpora.")
    sources = []
    for name, weight, paths in corpus_sources(data):
        if not NAME.fullmatch(name):
            raise S2SError(f"data.corpora: the corpus name {name!r} names distill's files; give it a name of letters, "
                           f"digits, '.', '_', '+' or '-' (the entry's 'name').")
        if "train" not in paths:
            raise S2SError(f"corpus {name!r} has no training files (train_src, train_tgt) to translate.")
        sources.append((name, weight, paths, sum(1 for _ in iter_lines(paths["train"][0]))))
    return sources


def load_teacher(teachers: list, engine: str, device: str, precision: str):
    """The teachers' translator: torch (checkpoints) or onnx (export folders); several form an ensemble."""
    if not teachers:
        raise S2SError("no teacher given; pass at least one checkpoint to --teacher.")
    if engine == "onnx":
        from s2s.runtime.translator import OnnxTranslator, check_onnx_flags

        check_onnx_flags(precision, device)
        return OnnxTranslator.from_export(list(teachers), precision=precision)
    from s2s.decoding.translator import Translator

    return Translator.from_checkpoint(list(teachers), device=device, precision=precision)


def check_direction(translator, config: Config, teachers: list) -> None:
    """S2SError when the teachers translate another language pair than the config's data (an en->de teacher would
    write German 'distilled' targets for a de->en student)."""
    teacher = translator.checkpoint.get("config")  # torch: the checkpoint's Config; onnx: the export's manifest
    data = getattr(teacher, "data", None) or translator.checkpoint.get("manifest", {}).get("data")
    pair = (data.get("src"), data.get("tgt")) if isinstance(data, dict) else (getattr(data, "src", None),
                                                                              getattr(data, "tgt", None))
    if None in pair or pair == (config.data.src, config.data.tgt):
        return
    raise S2SError(f"--teacher {teachers[0]} translates {pair[0]}→{pair[1]}, but --config's data is "
                   f"{config.data.src}→{config.data.tgt}; give teachers trained in the config's direction (or the "
                   f"config of the teachers' direction).")


def teacher_identity(teacher, engine: str) -> list[dict]:
    """file_identity of the files a teacher is read from: its checkpoint file, or every file of its export folder (a
    shipped model's folder, given by name too)."""
    if engine == "onnx":
        return [file_identity(path) for path in sorted(resolve(teacher).iterdir()) if path.is_file()]
    return [file_identity(checkpoint_file(teacher))]


def planned_files(manifest: dict) -> dict:
    """The files distill writes, relative to its folder: per corpus its chunks [(path, lines)] and its targets."""
    corpora = []
    for corpus in manifest["corpora"]:
        lines, size = corpus["lines"], manifest["chunk_lines"]
        chunks = [(f"{CHUNKS}/{corpus['name']}.{number:06d}.{corpus['target']}", min(size, lines - first))
                  for number, first in enumerate(range(0, lines, size))]
        corpora.append({"chunks": chunks, "targets": f"{corpus['name']}.distilled.{corpus['target']}"})
    return {"corpora": corpora, "students": list(STUDENTS)}


def file_names(files: dict) -> list[str]:
    return [name for corpus in files["corpora"] for name, _ in corpus["chunks"]] + \
        [corpus["targets"] for corpus in files["corpora"]] + files["students"]


def chunk_done(path: Path, lines: int) -> bool:
    """Whether a chunk file is complete (it is written whole, then renamed: a stop leaves none or all of it)."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return sum(1 for _ in handle) == lines


def start_or_resume(output: Path, manifest: dict) -> None:
    """Write the manifest into a new (or new-to-distill) folder, or check the one there. S2SError for another
    distillation's folder, or for a file distill would write that is already there and not distill's."""
    path = output / MANIFEST
    if path.exists():
        earlier = read_manifest(output, "--output", "delete the folder to start over, or choose another --output",
                                foreign="choose another --output")
        for key in IDENTITY_KEYS:
            if earlier.get(key) != manifest[key]:
                raise S2SError(f"--output '{output}' holds a distillation with other "
                               f"{describe(key, earlier.get(key), manifest[key])}; rerun it with what it used "
                               f"(--output keeps one distillation), choose another --output, or delete the folder to "
                               f"start over.")
        (output / CHUNKS).mkdir(exist_ok=True)
        return
    for name in file_names(manifest["files"]):
        if (output / name).exists():
            raise S2SError(f"--output '{output}' holds {name}, which distill did not write there (the folder has no "
                           f"{MANIFEST}); choose another --output, or move {name} away.")
    (output / CHUNKS).mkdir(parents=True, exist_ok=True)
    with replaced_atomically(path, durable=True) as handle:
        handle.write(json.dumps(manifest, indent=1) + "\n")


def read_manifest(folder: Path, what: str, fix: str, foreign: str = "") -> dict:
    """The s2s-distill.json of a distillation folder; S2SError (naming `what` the folder is, e.g. --output, and how to
    `fix` it, or a `foreign` folder) when it is missing, cannot be read or is not distill's."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise S2SError(f"{what} '{folder}' has no {MANIFEST}: it is not a folder s2s distill wrote; {fix}.") from None
    except (OSError, ValueError) as error:
        raise S2SError(f"{what} '{folder}': {MANIFEST} there cannot be read ({error}); {fix}.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise S2SError(f"{what} '{folder}': {MANIFEST} there is not distill's; {foreign or fix}.")
    return manifest


def student_targets(folder: Path, corpora: list) -> list[bool]:
    """For each entry of a student config's data.corpora: whether its training targets are a file of the
    distillation folder (the teacher's outputs) rather than references."""
    folder = Path(folder).resolve()
    return [isinstance(entry, dict) and bool(entry.get("train_tgt"))
            and Path(entry["train_tgt"]).resolve().parent == folder for entry in corpora]


def describe(key: str, earlier, now) -> str:
    """What differs between an earlier distillation and this one, for the error: 'teachers (it used ..., now ...)'."""
    if key == "teachers":
        earlier_paths, paths = ([files[0]["path"] if files else "?" for files in teachers or []]
                                for teachers in (earlier, now))
        return f"teachers (it used {', '.join(earlier_paths)} as they were then; now {', '.join(paths)})"
    if key == "corpora":
        earlier_paths, paths = ([corpus["source"]["path"] for corpus in corpora or []] for corpora in (earlier, now))
        return f"training sources (it translated {', '.join(earlier_paths)} as they were then; now {', '.join(paths)})"
    what = {"decode": "decoding settings", "chunk_lines": "--chunk-lines", "engine": "--engine",
            "precision": "--precision", "format_version": "format version"}[key]
    return f"{what} (it used {earlier}; now {now})"


def write_targets(output: Path, manifest: dict) -> list[Path]:
    """Each corpus's chunks joined into its distilled targets file: [their paths]."""
    targets = []
    for corpus in manifest["files"]["corpora"]:
        target = output / corpus["targets"]
        with replaced_atomically(target, durable=True) as handle:
            for name, _ in corpus["chunks"]:
                handle.write((output / name).read_text(encoding="utf-8"))
        targets.append(target)
    return targets


def write_students(output: Path, config: Config, sources: list, targets: list[Path]) -> list[Path]:
    """student.yaml and student-mix.yaml: the config with its data as files corpora whose training targets are the
    distilled ones (in the mix, beside a copy of each corpus with its references); validation and test keep the
    references. Each student runs in the config's run folder + '-distilled' (or '-distilled-mix')."""
    written = []
    for name, mix in STUDENTS.items():
        suffix = "-distilled-mix" if mix else "-distilled"
        raw = config.to_dict()
        corpora = []
        for (corpus, weight, paths, _), target in zip(sources, targets):
            dev = {f"{split}_{side}": str(Path(path).resolve()) for split in ("valid", "test") if split in paths
                   for side, path in zip(("src", "tgt"), paths[split])}
            source = str(Path(paths["train"][0]).resolve())
            distilled = {"dataset": "files", "name": f"{corpus}-distilled" if mix else corpus, "weight": weight,
                         "train_src": source, "train_tgt": str(target.resolve())}
            if mix:
                corpora += [{"dataset": "files", "name": corpus, "weight": weight, "train_src": source,
                             "train_tgt": str(Path(paths["train"][1]).resolve()), **dev}, distilled]
            else:
                corpora.append({**distilled, **dev})
        raw["data"].update({"dataset": "corpora", "corpora": corpora, "data_dir": "", "mirror": "",
                            **{f"{split}_{side}": "" for split in ("train", "valid", "test") for side in ("src", "tgt")}})
        raw["name"] = config.name + suffix
        raw["train"]["run_dir"] = str(run_dir_for(config)) + suffix
        path = output / name
        config_from_dict(raw, source=str(path))  # a student config that does not load is distill's bug: never written
        with replaced_atomically(path) as handle:
            what = "the teacher's outputs beside the references" if mix else "the teacher's outputs alone"
            handle.write(f"# written by s2s distill: {config.name}'s config, trained on {what}\n")
            handle.write(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
        written.append(path)
    return written
