"""Package trained checkpoints as a shipped pretrained model, pretrained/NAME/:

    python scripts/package_pretrained.py --checkpoint runs/best_de_en/best.pt --name multi30k-de-en \\
        --output pretrained/multi30k-de-en --beam 5 --length-penalty 1.0 --no-repeat-ngram 3 \\
        [--max-len-ratio 2.0] [--mirror ../shared/data/multi30k] [--trained-commit HASH --trained-machine TEXT]
        [--distilled runs/distill_en_de --recipe configs/multi30k/best_en_de.yaml]   (a student of s2s distill)

Several --checkpoint files are averaged (s2s.checkpoint.average_checkpoints). The folder gets:
  model.pt        an ordinary s2s checkpoint (config, tokenizers, vocabularies; loaded with weights_only=True) whose
                  floating-point weights are stored as float16 ("weights_dtype": "float16"), half the size; loading
                  upcasts them to float32. The trainer state is dropped; the config's decode: section is the decoding
                  chosen on validation (scripts/select_decoding.py), so every command uses it by default.
  config.yaml     that config; src.spm.model / tgt.spm.model: the SentencePiece models (from the tokenizer states);
  src_vocab.json / tgt_vocab.json: the vocabularies (token lists in id order);
  card.json       the card: direction, data, recipe, training commit and machine, decoding, test and validation
                  BLEU/chrF with signatures, papers'-convention BLEU, the BLEU of the first 100 test sentences;
  README.md       the model card, rendered from card.json.
Every figure is measured with the float16 model.pt as shipped; the first 100 test sentences are also decoded with the
float32 weights, and the number of translations that differ is recorded (0 expected). An existing folder is replaced
only with --force. When the folder above holds a README.md with the index markers, its table is rewritten from the
cards there.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, progress_log, run_script  # noqa: E402

from s2s import __version__  # noqa: E402
from s2s.checkpoint import average_checkpoints, load_checkpoint, save_checkpoint  # noqa: E402
from s2s.config import config_from_dict, corpus_entries, load_config  # noqa: E402
from s2s.data.augment import KINDS as AUGMENT_KINDS, LABELS as AUGMENT_LABELS  # noqa: E402
from s2s.data.corpus import read_split_parts, read_splits  # noqa: E402
from s2s.data.tatoeba import ATTRIBUTION as TATOEBA_ATTRIBUTION, LICENSE_URL as TATOEBA_LICENSE  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.errors import S2SError  # noqa: E402
from s2s.evaluation.metrics import PAPERS_CONVENTION, corpus_scores, moses_available, papers_bleu  # noqa: E402
from s2s.models import build_model, count_parameters  # noqa: E402
from s2s.pretrained import CARD_FILE, MODEL_FILE, list_pretrained  # noqa: E402
from s2s.registry import import_user_modules  # noqa: E402
from s2s.training.distill import read_manifest, student_targets  # noqa: E402

FIRST_LINES = 100  # the test sentences whose BLEU the card records for a quick reproduction (tests/test_pretrained.py)
KEPT_KEYS = ("src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer", "step", "epoch", "averaged_from")
INDEX_BEGIN, INDEX_END = "<!-- models: written by scripts/package_pretrained.py -->", "<!-- /models -->"
log = progress_log("package_pretrained")


def half_weights(state: dict) -> dict:
    """The state dict with floating-point tensors as float16; tensors that share storage (tied embeddings) still
    share it, so torch.save writes them once."""
    converted: dict[tuple, torch.Tensor] = {}
    result = {}
    for key, value in state.items():
        if not value.is_floating_point():
            result[key] = value
            continue
        identity = (value.untyped_storage().data_ptr(), value.storage_offset(), tuple(value.shape), value.stride())
        if identity not in converted:
            converted[identity] = value.detach().to(torch.float16)
        result[key] = converted[identity]
    return result


def build_payloads(checkpoints: list[Path], name: str, decode: dict, data: dict | None = None) -> tuple[dict, dict]:
    """(float32 payload, float16 payload) of the averaged checkpoints, with the shipped config: the decode: section
    set, name = the model's name (what s2s serve calls it), no machine-specific data mirror, no trainer state; data:
    another data: section for it (a distilled student's recipe's). The weights pass through the model once, so that
    tied matrices are one tensor again (averaging separates them)."""
    averaged = average_checkpoints(checkpoints)
    raw = averaged["config"]
    raw = {**raw, "name": name, "decode": {**raw["decode"], **decode}, "data": {**(data or raw["data"]), "mirror": ""}}
    config = config_from_dict(raw, source=f"config of {checkpoints[-1]}")
    import_user_modules(config.imports)
    model = build_model(config.model, len(averaged["src_vocab"]), len(averaged["tgt_vocab"]))
    model.load_state_dict(averaged["model"])
    common = {"config": config.to_dict(), **{key: averaged[key] for key in KEPT_KEYS if key in averaged},
              "pretrained": name, "run": averaged["config"].get("name", "")}
    fp32 = {**common, "model": model.state_dict(), "weights_dtype": "float32"}
    fp16 = {**common, "model": half_weights(fp32["model"]), "weights_dtype": "float16"}
    return fp32, fp16


def write_folder(folder: Path, payload: dict) -> None:
    """model.pt, config.yaml, the SentencePiece models and the vocabularies of a float16 payload."""
    save_checkpoint(payload, folder / MODEL_FILE)
    (folder / MODEL_FILE).chmod(0o644)  # save_checkpoint's temporary file is private; a shipped model is not
    (folder / "config.yaml").write_text(yaml.safe_dump(payload["config"], sort_keys=False, allow_unicode=True),
                                        encoding="utf-8")
    for side in ("src", "tgt"):
        proto = payload[f"{side}_tokenizer"].get("model_proto")
        if proto:
            (folder / f"{side}.spm.model").write_bytes(proto)
        (folder / f"{side}_vocab.json").write_text(json.dumps(payload[f"{side}_vocab"], ensure_ascii=False, indent=0) + "\n",
                                                   encoding="utf-8")


SPLIT_LABELS = {"multi30k": {"valid": "val", "test": "test2016"}, "tatoeba": {"valid": "tatoeba dev", "test": "tatoeba test"}}


# where the training text comes from, not how it is tokenized: what a distilled student's data may differ in from its recipe's
SOURCE_FIELDS = {"dataset", "corpora", "data_dir", "mirror", "cache", "cache_dir", "workers",
                 *(f"{split}_{side}" for split in ("train", "valid", "test") for side in ("src", "tgt", "text"))}


def distilled_student(checkpoint: Path, folder: str | Path, recipe: str, output: Path) -> tuple[dict, dict]:
    """(the shipped config's data: section, the card's distillation section) of a student trained with a config
    s2s distill wrote into `folder`. The student's own data names this machine's distilled files, so the shipped
    config takes its recipe's data (after checking that the two tokenize alike), and the card its test sets. A
    teacher that was the model at `output` (the student replaces its teacher) is named so, with its size then."""
    if not recipe:
        raise S2SError("--distilled needs --recipe: the config the distillation's student config was written from "
                       "(e.g. configs/multi30k/best_en_de.yaml); its data: section is the one the model ships with.")
    manifest = read_manifest(Path(folder), "--distilled", "give the folder s2s distill wrote the student's training "
                             "targets into (it holds s2s-distill.json)")
    path = Path(recipe) if Path(recipe).is_file() else REPO / recipe
    own, student = load_config(path).data, config_from_dict(load_checkpoint(checkpoint)["config"]).data
    differ = [item.name for item in dataclasses.fields(own)
              if item.name not in SOURCE_FIELDS and getattr(own, item.name) != getattr(student, item.name)]
    if differ:
        what = ", ".join(f"data.{key} ({getattr(own, key)!r} there, {getattr(student, key)!r} in the student)"
                         for key in differ)
        raise S2SError(f"--recipe {recipe}: its data differs from the student's in {what}; give the recipe the "
                       f"student's distillation was written from.")
    targets = student_targets(Path(folder), student.corpora)
    if not any(targets):
        raise S2SError(f"--distilled '{folder}': {checkpoint} was not trained on that folder's targets (none of its "
                       f"data.corpora train_tgt files is there); give the folder its student config came from.")
    replaced = (output / MODEL_FILE).resolve()
    teachers = [f"{given} (as shipped when it taught: {files[0]['bytes']:,} bytes, replaced since)"
                if files and Path(files[0]["path"]).resolve() == replaced else given
                for given, files in zip(manifest.get("given_teachers", []), manifest.get("teachers", []))]
    section = {"teachers": teachers, "engine": manifest.get("engine", ""),
               "decode": manifest.get("decode", {}),
               "targets": "the teacher's outputs alone" if all(targets) else "the teacher's outputs beside the references"}
    return dataclasses.asdict(own), section


def split_labels(dataset: str) -> dict[str, str]:
    return SPLIT_LABELS.get(dataset, {"valid": "valid", "test": "test"})


def evaluation_sets(data, mirrors: dict[str, str], also: tuple[str, ...] = ()) -> dict[str, dict[str, tuple]]:
    """{"valid"|"test": {label: (sources, references)}}: the splits of the checkpoint's data (each corpus of
    data.corpora on its own), then those of the datasets in `also` (e.g. tatoeba for a Multi30k model) in its
    language pair; mirrors: {dataset: local folder}."""
    entries = corpus_entries(data)
    sets: dict[str, dict[str, tuple]] = {"valid": {}, "test": {}}
    if entries:
        found = read_split_parts(dataclasses.replace(data, corpora=[
            {**dataclasses.asdict(entry), "mirror": entry.mirror or mirrors.get(entry.dataset, "")} for entry in entries]))
        datasets = {entry.name: entry.dataset for entry in entries}
        for split, parts in found.items():
            for corpus, lines in parts.items():
                sets[split][split_labels(datasets[corpus]).get(split, f"{corpus} {split}")] = lines
    else:
        own = dataclasses.replace(data, mirror=data.mirror or mirrors.get(data.dataset, ""))
        for split, lines in read_splits(own, ("valid", "test")).items():
            sets[split][split_labels(data.dataset)[split]] = lines
    for dataset in also:
        other = dataclasses.replace(data, dataset=dataset, corpora=[], data_dir="", mirror=mirrors.get(dataset, ""))
        for split, lines in read_splits(other, ("valid", "test")).items():
            sets[split].setdefault(split_labels(dataset)[split], lines)
    return sets


def score(translator: Translator, sources: list[str], references: list[str], lang: str, label: str) -> dict:
    """BLEU, chrF, lowercased BLEU and their signatures, and BLEU in the papers' convention (when sacremoses is
    installed) of the translator's translations with its own decode: settings."""
    started = time.perf_counter()
    hypotheses = translator.translate(sources)
    scores = corpus_scores(hypotheses, references)
    result = {"set": label, "sentences": len(sources), "bleu": scores["bleu"], "chrf": scores["chrf"],
              "bleu_lowercase": scores["bleu_lowercase"], "signature": scores["signature"],
              "papers_bleu": None, "decode_seconds": round(time.perf_counter() - started, 1)}
    if moses_available():
        papers = papers_bleu(hypotheses, references, lang)
        result.update(papers_bleu=papers["bleu"])
        result["signature"]["papers_bleu"] = papers["signature"]
    return result


def package(checkpoints: list[str | Path], name: str, output: str | Path, decode: dict, mirror: str | None = None,
            force: bool = False, recipe: str = "", trained_commit: str = "", trained_machine: str = "",
            info: dict | None = None, mirrors: dict[str, str] | None = None, also: tuple[str, ...] = (),
            primary: str = "", aliases: tuple[str, ...] = (), training_minutes: float = 0.0,
            training: dict | None = None, distilled: str | Path = "", distillation: dict | None = None) -> dict:
    """Write the pretrained folder `output` and return its card. decode: beam, length_penalty, no_repeat_ngram
    (and max_len_ratio) for the config's decode: section; mirror: where Multi30k is read from for the scores (mirrors:
    the same for each dataset); also: other datasets to score the model on; primary: the dataset whose test and
    validation sets are the card's "test" and "valid" (default: the data's first); aliases: other short names;
    training: the card's training section as it was (rescoring a shipped folder), instead of the checkpoints';
    distilled: the s2s distill folder a student was trained from (the shipped data: and test sets are then the
    recipe's; distilled_student); distillation: the card's distillation section as it was (rescoring)."""
    output = Path(output)
    if output.exists() and not force:
        raise S2SError(f"'{output}' already exists; pass --force to replace it, or choose another --output.")
    if output.exists():  # --force replaces a pretrained folder, and nothing else
        foreign = sorted(path.name for path in output.iterdir() if path.name not in PACKAGED_FILES) if output.is_dir() else [output.name]
        if foreign or not (output / CARD_FILE).is_file():
            raise S2SError(f"'{output}' is not a pretrained folder this script wrote (it has no {CARD_FILE}, or it has "
                           f"{', '.join(foreign) or 'no card'} besides a model's files); --force replaces only such "
                           f"folders: move those files away, or choose another --output.")
    if not output.parent.is_dir():
        raise S2SError(f"folder '{output.parent}' does not exist; create it or choose another --output.")
    info = info or machine_info()
    checkpoints = [Path(path) for path in checkpoints]
    data = None
    if distilled:
        data, distillation = distilled_student(checkpoints[-1], distilled, recipe, output)
    fp32, fp16 = build_payloads(checkpoints, name, decode, data)
    config = config_from_dict(fp16["config"])
    mirrors = {"multi30k": mirror or "", **(mirrors or {})}
    sets = evaluation_sets(config.data, mirrors, also)
    if not sets["test"]:
        raise S2SError(f"the checkpoint's data ({config.data.dataset}) has no test split to score the model on.")
    labels = split_labels(primary) if primary else {split: next(iter(sets[split]), "") for split in ("valid", "test")}
    if labels["test"] not in sets["test"]:
        raise S2SError(f"--primary {primary}: the model is not scored on {labels['test']} ({', '.join(sets['test'])}).")
    splits = {split: sets[split][labels[split]] for split in ("valid", "test") if labels[split] in sets[split]}
    datasets = [entry.dataset for entry in corpus_entries(config.data)] or [config.data.dataset]

    staging = Path(tempfile.mkdtemp(dir=output.parent, prefix=f".{output.name}."))
    try:
        write_folder(staging, fp16)
        shipped = Translator.from_checkpoint(staging, device="cpu")  # the float16 file as shipped, upcast on loading
        with tempfile.TemporaryDirectory() as scratch:
            save_checkpoint(fp32, Path(scratch) / "fp32.pt")
            fp32_size = (Path(scratch) / "fp32.pt").stat().st_size
            full = Translator.from_checkpoint(Path(scratch) / "fp32.pt", device="cpu")
        lang = config.data.tgt
        scores = {}
        for split in ("valid", "test"):
            for label, (sources, references) in sets[split].items():
                log(f"scoring {label} ({len(sources)} sentences) with the float16 model")
                scores[label] = score(shipped, sources, references, lang, label)
        test, valid = scores[labels["test"]], scores.get(labels["valid"])
        sources, references = splits["test"]
        # the first sentences decoded on their own, as a quick reproduction decodes them
        half_lines, full_lines = shipped.translate(sources[:FIRST_LINES]), full.translate(sources[:FIRST_LINES])
        differ = sum(a != b for a, b in zip(half_lines, full_lines))
        if differ:
            log(f"warning: {differ} of the first {len(half_lines)} test translations differ between float16 and float32 weights")
        model_cfg = config.model
        card = {
            "name": name,
            "direction": f"{config.data.src}→{config.data.tgt}",
            "src": config.data.src, "tgt": config.data.tgt,
            "data": {"dataset": config.data.dataset, "tokenizer": config.data.tokenizer,
                     "vocab_size": {"src": len(fp16["src_vocab"]), "tgt": len(fp16["tgt_vocab"])},
                     **({"corpora": [{"name": entry.name, "dataset": entry.dataset, "weight": entry.weight}
                                     for entry in corpus_entries(config.data)]} if config.data.corpora else {}),
                     **({"joint_vocab": True} if config.data.joint_vocab else {}),
                     **({"byte_fallback": True} if config.data.sp_byte_fallback else {}),
                     **({"split_digits": True} if config.data.sp_split_digits else {}),
                     **({"augment": augment} if (augment := {kind: getattr(config.data, f"augment_{kind}") for kind in AUGMENT_KINDS
                                                             if getattr(config.data, f"augment_{kind}")}) else {})},
            **({"attribution": TATOEBA_ATTRIBUTION, "license": f"CC-BY 2.0 (France), {TATOEBA_LICENSE}"}
               if "tatoeba" in datasets else {}),
            **({"aliases": list(aliases)} if aliases else {}),
            "recipe": recipe,
            "architecture": {"model": model_cfg.resolved_name, "cell": model_cfg.cell, "attention": model_cfg.attention,
                             "emb_size": model_cfg.emb_size, "hidden_size": model_cfg.hidden_size,
                             "layers": model_cfg.layers, "bidirectional": model_cfg.bidirectional,
                             "tie_embeddings": model_cfg.tie_embeddings, "parameters": shipped.checkpoint["parameters"]},
            "training": training or {"run": fp16["run"], "commit": trained_commit or "not recorded",
                         "machine": trained_machine or "not recorded", "step": fp16.get("step"), "epoch": fp16.get("epoch"),
                         "checkpoints": [str(path) for path in checkpoints],
                         **({"minutes": training_minutes} if training_minutes else {})},
            **({"distillation": distillation} if distillation else {}),
            "decoding": {key: getattr(config.decode, key)
                         for key in ("beam", "length_penalty", "no_repeat_ngram", "max_len_ratio")},
            "test": test,
            "valid": valid,
            "scores": {label: {key: result[key] for key in ("set", "sentences", "bleu", "chrf")}
                       for label, result in scores.items()},
            f"test_first_{FIRST_LINES}": {"sentences": len(half_lines),
                                          "bleu": corpus_scores(half_lines, references[:FIRST_LINES])["bleu"],
                                          "threads": torch.get_num_threads()},
            "fp16_check": {"sentences": len(half_lines), "differ": differ,
                           "fp32_translations": full_lines},  # tests/test_pretrained.py decodes them again in float16
            "papers_convention": PAPERS_CONVENTION,
            "weights_dtype": "float16",
            "size_bytes": (staging / MODEL_FILE).stat().st_size,
            "fp32_size_bytes": fp32_size,
            "packaged": {"command": info["command"], "commit": info["git_commit"], "dirty": info["git_dirty"],
                         "date": info["date_utc"], "cpu": info["cpu_model"], "torch": info["torch"],
                         "s2s": __version__},
        }
        (staging / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(render_card(card), encoding="utf-8")
        staging.chmod(0o755)
        if output.exists():
            shutil.rmtree(output)
        staging.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    update_index(output.parent)
    return card


PACKAGED_FILES = {MODEL_FILE, CARD_FILE, "README.md", "config.yaml", "src.spm.model", "tgt.spm.model", "src_vocab.json",
                  "tgt_vocab.json"}  # what a pretrained folder holds (write_folder and the card)


def render_card(card: dict) -> str:
    """The model card (README.md) of a pretrained folder, from its card.json."""
    test, valid, decode, arch = card["test"], card["valid"], card["decoding"], card["architecture"]
    first = card[f"test_first_{FIRST_LINES}"]
    papers = f"{test['papers_bleu']:.2f}" if test.get("papers_bleu") is not None else "not measured (needs sacremoses)"
    lines = [
        f"# {card['name']}: {card['direction']} translation "
        f"({' + '.join(corpus['name'] for corpus in card['data'].get('corpora', [])) or card['data']['dataset']})",
        "",
        f"A {arch['model']} model ({arch['cell']} cells, {arch['attention']} attention, emb {arch['emb_size']}, hidden "
        f"{arch['hidden_size']}, {arch['layers']} layer(s), {'bi' if arch['bidirectional'] else 'uni'}directional encoder"
        f"{', tied target embeddings' if arch['tie_embeddings'] else ''}; {arch['parameters']:,} parameters), "
        + (f"one {card['data']['tokenizer']} vocabulary of {card['data']['vocab_size']['src']:,} tokens for both languages."
         if card["data"].get("joint_vocab") else f"{card['data']['tokenizer']} vocabularies of "
         f"{card['data']['vocab_size']['src']:,} / {card['data']['vocab_size']['tgt']:,} tokens."),
        "",
        "```bash",
        f"s2s translate --checkpoint {card['name']} --input text.{card['src']}",
        "```",
        "",
        "| | BLEU | chrF | BLEU (lowercased) | BLEU (papers' convention) |",
        "|---|---:|---:|---:|---:|",
        f"| {test['set']} ({test['sentences']:,} sentences) | {test['bleu']:.2f} | {test['chrf']:.2f} | "
        f"{test['bleu_lowercase']:.2f} | {papers} |",
    ]
    if valid:
        valid_papers = f"{valid['papers_bleu']:.2f}" if valid.get("papers_bleu") is not None else "–"
        lines.append(f"| {valid['set']} ({valid['sentences']:,} sentences) | {valid['bleu']:.2f} | {valid['chrf']:.2f} | "
                     f"{valid['bleu_lowercase']:.2f} | {valid_papers} |")
    for label, other in card.get("scores", {}).items():
        if label not in (test["set"], valid["set"] if valid else None):
            lines.append(f"| {label} ({other['sentences']:,} sentences) | {other['bleu']:.2f} | {other['chrf']:.2f} | – | – |")
    lines += [
        "",
        f"Decoding (the config's `decode:` section, chosen on validation): beam {decode['beam']}, length penalty "
        f"{decode['length_penalty']}, no-repeat n-gram {decode['no_repeat_ngram'] or 'off'}, max length "
        f"{decode['max_len_ratio']} × source tokens + 10.",
        f"sacreBLEU `{test['signature']['bleu']}`; chrF `{test['signature']['chrf']}`"
        + (f"; papers' convention `{test['signature']['papers_bleu']}` — {card['papers_convention']}"
           if "papers_bleu" in test["signature"] else "") + ".",
        f"The first {first['sentences']} {test['set']} sentences alone: BLEU {first['bleu']:.2f} "
        f"(tests/test_pretrained.py decodes them again and expects this figure).",
        "",
        f"- recipe: `{card['recipe'] or 'not recorded'}`; run `{card['training']['run']}`, step "
        f"{card['training']['step']}, epoch {card['training']['epoch']}; "
        f"{'average of ' + str(len(card['training']['checkpoints'])) + ' checkpoints' if len(card['training']['checkpoints']) > 1 else 'one checkpoint'}",
        f"- training commit: {card['training']['commit']}; training machine: {card['training']['machine']}"
        + (f"; training time: {card['training']['minutes']} minutes" if card["training"].get("minutes") else ""),
        *([f"- distilled (sequence-level knowledge distillation, docs/recipes.md): trained on {distilled['targets']}; "
           f"the teacher, {' + '.join(f'`{teacher}`' for teacher in distilled['teachers'])}"
           f"{' (one ensemble)' if len(distilled['teachers']) > 1 else ''}, translated the training sources with "
           f"beam {distilled['decode'].get('beam')}, length penalty {distilled['decode'].get('length_penalty')}"
           + (f", no-repeat n-gram {guard}" if (guard := distilled["decode"].get("no_repeat_ngram")) else "")]
          if (distilled := card.get("distillation")) else []),
        f"- weights stored as float16 ({card['size_bytes']:,} bytes; {card['fp32_size_bytes']:,} as float32), "
        f"upcast to float32 when loaded; float16 and float32 weights translate the first "
        f"{card['fp16_check']['sentences']} {test['set']} sentences identically"
        + ("" if not card["fp16_check"]["differ"] else f" except {card['fp16_check']['differ']}"),
        f"- packaged by `{card['packaged']['command']}` at commit {card['packaged']['commit']}"
        f"{' (with uncommitted changes)' if card['packaged']['dirty'] else ''}, {card['packaged']['date']}, "
        f"{card['packaged']['cpu']}, torch {card['packaged']['torch']}",
        "",
        *([f"- data: {card['attribution']}; license {card['license']}", ""] if card.get("attribution") else []),
        *([f"- training pairs replaced by variants of text as people type it (data.augment_*, docs/datasets.md): "
           + ", ".join(f"{AUGMENT_LABELS[kind]} {rate:.0%}" for kind, rate in card["data"]["augment"].items())
           + " of the pairs each can change", ""]
          if card["data"].get("augment") else []),
        *([f"- short name{'s' if len(card['aliases']) > 1 else ''}: {', '.join(card['aliases'])} "
           f"(`--checkpoint {card['aliases'][0]}`)", ""] if card.get("aliases") else []),
        "Files: `model.pt` (the checkpoint every s2s command reads), `config.yaml`, `src.spm.model` / `tgt.spm.model` "
        "(SentencePiece), `src_vocab.json` / `tgt_vocab.json` (tokens in id order), `card.json` (this card as data).",
        "",
    ]
    return "\n".join(lines)


def update_index(root: Path) -> bool:
    """Rewrite the model table between the index markers of root/README.md from the cards in root; False when
    there is no such README (a folder that is not an index is left alone)."""
    index = root / "README.md"
    if not index.is_file():
        return False
    text = index.read_text(encoding="utf-8")
    if INDEX_BEGIN not in text or INDEX_END not in text:
        return False
    rows = ["| model | short name | direction | data | tatoeba test BLEU / chrF | test2016 BLEU / chrF | decoding | size |",
            "|---|---|---|---|---:|---:|---|---:|"]
    for model in list_pretrained(root):
        card = model["card"]
        if not card:
            continue
        decode, scores = card["decoding"], card.get("scores", {card["test"]["set"]: card["test"]})
        cells = [f"{scores[label]['bleu']:.2f} / {scores[label]['chrf']:.2f}" if label in scores else "–"
                 for label in ("tatoeba test", "test2016")]
        data = " + ".join(corpus["name"] + (f" ×{corpus['weight']}" if corpus["weight"] > 1 else "")
                          for corpus in card["data"].get("corpora", [])) or card["data"]["dataset"]
        rows.append(f"| [{card['name']}]({card['name']}/README.md) | {', '.join(card.get('aliases', [])) or '–'} | "
                    f"{card['direction']} | {data} | {cells[0]} | {cells[1]} | beam {decode['beam']}, lp "
                    f"{decode['length_penalty']}, n-gram guard {decode['no_repeat_ngram'] or 'off'} | "
                    f"{card['size_bytes'] / 1e6:.1f} MB |")
    before, rest = text.split(INDEX_BEGIN, 1)
    after = rest.split(INDEX_END, 1)[1]
    index.write_text(before + INDEX_BEGIN + "\n" + "\n".join(rows) + "\n" + INDEX_END + after, encoding="utf-8")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, nargs="+", metavar="CKPT", help="checkpoints (several are averaged)")
    parser.add_argument("--name", required=True, help="the model's short name, e.g. multi30k-de-en")
    parser.add_argument("--output", required=True, help="the folder to write, e.g. pretrained/multi30k-de-en")
    parser.add_argument("--beam", type=int, help="the shipped decoding: beam size")
    parser.add_argument("--length-penalty", type=float, help="the shipped decoding: length penalty")
    parser.add_argument("--no-repeat-ngram", type=int, help="the shipped decoding: n-gram guard (0: off)")
    parser.add_argument("--max-len-ratio", type=float, help="the shipped decoding: maximum output length ratio "
                        "(default: the checkpoint config's)")
    parser.add_argument("--mirror", default=str(REPO.parent / "shared/data/multi30k"),
                        help="local copy of the Multi30k files (default: ../shared/data/multi30k)")
    parser.add_argument("--recipe", help="the recipe config (default: configs/multi30k/RUN.yaml when it exists)")
    parser.add_argument("--trained-commit", default="", help="the commit the recipe was trained at")
    parser.add_argument("--trained-machine", default="", help="the machine it was trained on, e.g. 'AVX-512 EPYC, 2 threads'")
    parser.add_argument("--tatoeba-mirror", default=str(REPO.parent / "shared/data/tatoeba"),
                        help="local copy of the Tatoeba archive (default: ../shared/data/tatoeba)")
    parser.add_argument("--also-score", nargs="*", default=[], choices=("multi30k", "tatoeba"), metavar="DATASET",
                        help="also score the model on these datasets' validation and test sets (multi30k, tatoeba)")
    parser.add_argument("--primary", default="", choices=("", "multi30k", "tatoeba"),
                        help="the dataset whose test set the card and `s2s pretrained` show first (default: the data's first)")
    parser.add_argument("--alias", nargs="*", default=[], metavar="NAME",
                        help="other short names the model answers to (e.g. de-en)")
    parser.add_argument("--training-minutes", type=float, default=0.0, help="the recipe's training time, for the card")
    parser.add_argument("--distilled", default="", metavar="DIR",
                        help="the s2s distill folder a student was trained from: the shipped config takes --recipe's "
                             "data (the student's names this machine's distilled files) and the card says how it was made")
    parser.add_argument("--rescore", action="store_true",
                        help="measure a shipped folder again in place (after a decoding change): --checkpoint "
                             "pretrained/NAME/model.pt --output pretrained/NAME; its card's recipe, training, aliases "
                             "and (unless given) decoding are kept")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for decoding (default 1)")
    parser.add_argument("--force", action="store_true", help="replace an existing --output folder")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = machine_info()
    print(describe_machine(info), flush=True)
    old = {}
    if args.rescore:
        old = json.loads((Path(args.output) / CARD_FILE).read_text(encoding="utf-8"))
        args.force, args.recipe = True, args.recipe or old.get("recipe", "")
        args.trained_commit = args.trained_commit or old["training"]["commit"]
        args.trained_machine = args.trained_machine or old["training"]["machine"]
        args.alias = args.alias or old.get("aliases", [])
        args.training_minutes = args.training_minutes or old["training"].get("minutes", 0.0)
    decode = {"beam": args.beam, "length_penalty": args.length_penalty, "no_repeat_ngram": args.no_repeat_ngram,
              "max_len_ratio": args.max_len_ratio}
    decode = {key: old.get("decoding", {}).get(key) if value is None else value for key, value in decode.items()}
    missing = [key for key, value in decode.items() if value is None and key != "max_len_ratio"]
    if missing:
        parser.error(f"give --{' --'.join(key.replace('_', '-') for key in missing)} (the shipped decoding)")
    decode = {key: value for key, value in decode.items() if value is not None}
    recipe = args.recipe
    if recipe is None:
        run = load_checkpoint(args.checkpoint[-1])["config"].get("name", "")
        default = Path("configs/multi30k") / f"{run}.yaml"
        recipe = str(default) if run and (REPO / default).is_file() else ""
    training = old.get("training") if args.rescore else None
    if args.rescore and old.get("distillation") and not args.distilled:  # a shipped folder's config has the recipe's data
        distillation = old["distillation"]
    else:
        distillation = None
    card = package(args.checkpoint, args.name, args.output, decode, mirror=args.mirror, force=args.force, recipe=recipe,
                   training=training,
                   trained_commit=args.trained_commit, trained_machine=args.trained_machine, info=info,
                   mirrors={"tatoeba": args.tatoeba_mirror}, also=tuple(args.also_score), primary=args.primary,
                   aliases=tuple(args.alias), training_minutes=args.training_minutes, distilled=args.distilled,
                   distillation=distillation)
    print(render_card(card))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    run_script(main)
