"""Shipped configs: fixed compute (epochs or steps, never wall time), and a recipe repeats exactly with one seed."""

import json
import re
import subprocess

import pytest
import torch
from helpers import MULTI30K_MIRROR, REPO

from s2s.config import load_config
from s2s.training.trainer import Trainer

CONFIGS = sorted((REPO / "configs").rglob("*.yaml"))


def test_configs_are_found():
    assert len(CONFIGS) >= 9


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(REPO / "configs")))
def test_shipped_configs_stop_on_epochs_or_steps_not_wall_time(path):
    config = load_config(path)
    assert config.train.time_budget_minutes == 0, "a wall-time budget trains a different model on every machine"
    assert 0 < config.train.epochs <= 100 or config.train.max_steps > 0


@pytest.mark.slow
@pytest.mark.skipif(not MULTI30K_MIRROR.is_dir(), reason="needs the offline Multi30k mirror")
def test_the_de_en_recipe_repeats_exactly_with_one_seed(tmp_path):
    """Two runs of the shipped recipe (cut to 2,000 pairs and 30 steps) give identical weights and validation BLEU."""
    results = []
    for name in ("a", "b"):
        config = load_config(REPO / "configs/multi30k/best_de_en.yaml",
                             [f"data.mirror={MULTI30K_MIRROR}", f"data.data_dir={tmp_path / 'data'}", "data.train_limit=2000",
                              "train.max_steps=30", "train.valid_every=15", "train.threads=2"])
        trainer = Trainer(config, tmp_path / name, log=lambda message: None)
        trainer.train()
        validations = [r for r in map(json.loads, (tmp_path / name / "metrics.jsonl").read_text().splitlines())
                       if "valid_bleu" in r]
        results.append((trainer.model.state_dict(), [(r["valid_loss"], r["valid_bleu"]) for r in validations]))
    (weights_a, valid_a), (weights_b, valid_b) = results
    assert valid_a == valid_b and len(valid_a) == 2
    assert all(torch.equal(weights_a[key], weights_b[key]) for key in weights_a)


@pytest.mark.parametrize("pair, epochs", [("de_en", 19), ("en_de", 16)])
def test_each_recipe_is_its_recorded_run_setting_for_setting(pair, epochs):
    """ablations/PAIR_weight_decay.yaml documents the weight-decay runs the recipes took up: keep it the recipe."""
    recipe, recorded = (load_config(REPO / "configs/multi30k" / name).to_dict()
                        for name in (f"best_{pair}.yaml", f"ablations/{pair}_weight_decay.yaml"))
    recipe.pop("name"), recorded.pop("name")
    assert recipe == recorded
    assert recipe["model"]["tie_embeddings"] and recipe["train"]["epochs"] == epochs


RECORDED_RUN = re.compile(r"^# Recorded run: (benchmarks/\S+\.json) ", re.M)
CHOSEN_AFTER = re.compile(r"^# Chosen after that run: ([\w.]+(?:, [\w.]+)*) \((benchmarks/[^\s:]+)", re.M)
MACHINE_ONLY = ("data.mirror=", "train.threads=", "train.run_dir=")  # where and how fast, not what is trained


def recipe_and_record(pair: str) -> tuple[str, dict]:
    """A recipe's header text and the record its `# Recorded run:` line names."""
    header = (REPO / "configs/multi30k" / f"best_{pair}.yaml").read_text(encoding="utf-8")
    named = RECORDED_RUN.findall(header)
    assert len(named) == 1, f"best_{pair}.yaml names {len(named)} recorded runs; one line '# Recorded run: benchmarks/X.json '"
    return header, json.loads((REPO / named[0]).read_text(encoding="utf-8")) | {"path": named[0]}


@pytest.mark.parametrize("pair", ["de_en", "en_de"])
def test_each_recipe_names_the_run_that_measured_it(pair, tmp_path):
    """The record a recipe's header names trained this recipe: the config at the record's commit, with the record's
    --set overrides, equals the recipe now but for what the header says was chosen after that run."""
    header, record = recipe_and_record(pair)
    config = f"configs/multi30k/best_{pair}.yaml"
    assert record["config"] == config, f"{record['path']} trained {record['config']}, not {config}"
    commit = record["machine"]["git_commit"]
    if not (REPO / ".git").exists():
        pytest.skip("needs the repository's history (git show COMMIT:CONFIG)")
    shown = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:{config}"], capture_output=True, text=True)
    assert shown.returncode == 0, f"git show {commit}:{config} failed (a shallow clone?): {shown.stderr}"
    (tmp_path / f"best_{pair}.yaml").write_text(shown.stdout, encoding="utf-8")
    measured = load_config(tmp_path / f"best_{pair}.yaml",
                           [o for o in record["overrides"] if not o.startswith(MACHINE_ONLY)]).to_dict()
    chosen_after = {key for keys, source in CHOSEN_AFTER.findall(header) for key in keys.split(", ")
                    if (REPO / source).is_file()}
    assert _differences(measured, load_config(REPO / config).to_dict()) == chosen_after
    assert chosen_after == {"de_en": set(), "en_de": {"decode.length_penalty"}}[pair]


@pytest.mark.parametrize("pair", ["de_en", "en_de"])
def test_no_record_named_for_a_recipe_holds_another_run(pair):
    """bench_all.sh writes benchmarks/multi30k_best_PAIR.json from the recipe: such a file is the recipe's named record."""
    named_for_recipe = f"benchmarks/multi30k_best_{pair}.json"
    assert not (REPO / named_for_recipe).exists() or recipe_and_record(pair)[1]["path"] == named_for_recipe


@pytest.mark.parametrize("pair, length_penalty_changed", [("de_en", False), ("en_de", True)])
def test_each_recipe_is_the_tied_run_with_weight_decay(pair, length_penalty_changed):
    """The weight-decay recipes differ from the tied runs they were compared with in exactly what validation chose."""
    tied, decayed = (load_config(REPO / "configs/multi30k/ablations" / f"{pair}_{name}.yaml").to_dict()
                     for name in ("tied", "weight_decay"))
    changed = {(section, key) for section in tied if isinstance(tied[section], dict)
               for key in tied[section] if tied[section][key] != decayed[section][key]}
    expected = {("train", "optimizer"), ("train", "weight_decay")}
    assert changed == expected | ({("decode", "length_penalty")} if length_penalty_changed else set())
    assert (decayed["train"]["optimizer"], decayed["train"]["weight_decay"]) == ("adamw", 0.1)
    assert decayed["decode"]["length_penalty"] == (1.4 if length_penalty_changed else 1.0)


def _differences(first: dict, second: dict, prefix: str = "") -> set[str]:
    keys = set(first) | set(second)
    found = set()
    for key in keys:
        a, b = first.get(key), second.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found |= _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            found.add(f"{prefix}{key}")
    return found


def test_the_everyday_recipes_differ_in_direction_and_tokenization_and_the_ablations_in_one_thing():
    de_en, en_de, tatoeba_only, tatoeba_only_en_de, en_de_joint = (
        load_config(REPO / "configs/everyday" / name).to_dict()
        for name in ("de_en.yaml", "en_de.yaml", "ablations/tatoeba_only_de_en.yaml", "ablations/tatoeba_only_en_de.yaml",
                     "ablations/en_de_joint_places.yaml"))
    # de->en took up the joint vocabulary and the other places (v4); en->de's run of them did not beat its shipped model
    v4 = {"data.vocab_size", "data.joint_vocab", "data.augment_places"}
    assert _differences(de_en, en_de) == {"data.src", "data.tgt", "train.run_dir", "name"} | v4
    assert _differences(de_en, en_de_joint) == {"data.src", "data.tgt", "train.run_dir", "name"}
    assert _differences(en_de, en_de_joint) == {"train.run_dir", "name"} | v4
    assert _differences(en_de, tatoeba_only_en_de) == {"data.corpora", "train.run_dir", "name"}
    assert tatoeba_only_en_de["data"]["corpora"] == ["tatoeba"]
    augment = {f"data.augment_{kind}" for kind in ("no_final_punct", "lowercase", "numbers", "names", "places",
                                                   "fragments")}
    # the de->en ablation was run before the recipes gained the training-pair variants and the joint vocabulary, and
    # stays as it was run
    assert _differences(de_en, tatoeba_only) == {"data.corpora", "train.run_dir", "name", "data.vocab_size",
                                                 "data.joint_vocab"} | augment
    assert not any(tatoeba_only["data"][key.split(".")[1]] for key in augment)
    assert de_en["data"]["corpora"] == [{"dataset": "multi30k", "weight": 2}, "tatoeba"]
    assert de_en["data"]["sp_byte_fallback"] and de_en["data"]["sp_split_digits"]
