"""Fine-tuning (s2s train --init-from CKPT): a new run from a checkpoint's weights, tokenizers and vocabularies on new
data, with a fresh optimizer and schedule; a config whose model shape or vocabulary settings differ is refused."""

import numpy as np
import pytest
import torch
import yaml
from helpers import CORPUS_WORDS, REPO, tiny_config_dict

from s2s.checkpoint import load_checkpoint
from s2s.cli import main
from s2s.config import config_from_dict, load_config
from s2s.data.corpus import build_corpus
from s2s.training.trainer import Trainer, check_init_config

SUBWORDS = {"tokenizer": "sentencepiece", "vocab_size": 80}


def quiet(config, run_dir, **options) -> Trainer:
    return Trainer(config, run_dir, log=lambda message: None, **options)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """A run folder of 3 updates on the numbers task with SentencePiece tokenizers."""
    folder = tmp_path_factory.mktemp("base") / "run"
    quiet(config_from_dict(tiny_config_dict(folder, data=SUBWORDS, train={"max_steps": 3})), folder).train()
    return folder


def test_the_run_starts_from_the_checkpoints_weights_and_vocabularies(tmp_path, base_run):
    payload = load_checkpoint(base_run / "best.pt")
    config = config_from_dict(tiny_config_dict(tmp_path / "tuned", data={**SUBWORDS, "numbers_seed": 99, "numbers_train": 200},
                                               train={"max_steps": 2, "lr": 0.0002}))
    tuned = quiet(config, tmp_path / "tuned", init_from=base_run / "best.pt")
    assert tuned.step == 0 and tuned.optimizer.state == {} and tuned.optimizer.param_groups[0]["lr"] == 0.0002
    weights = tuned.model.state_dict()
    assert weights.keys() == payload["model"].keys()
    assert all(torch.equal(weights[name], value) for name, value in payload["model"].items())
    assert tuned.vocabulary_state() == {key: payload[key] for key in ("src_vocab", "tgt_vocab", "src_tokenizer", "tgt_tokenizer")}
    assert (tmp_path / "tuned" / "src.spm.model").read_bytes() == (base_run / "src.spm.model").read_bytes()
    learned = build_corpus(config.data, log=lambda message: None)  # what a new run on this data would learn
    assert learned.src_tokenizer.state()["model_proto"] != payload["src_tokenizer"]["model_proto"]
    tuned.train()
    last = load_checkpoint(tmp_path / "tuned" / "last.pt")
    assert last["init_from"] == str(base_run / "best.pt")
    config.train.max_steps = 3
    quiet(config, tmp_path / "tuned", resume=last).train()  # a resumed fine-tuning run still says where it started
    assert load_checkpoint(tmp_path / "tuned" / "last.pt")["init_from"] == str(base_run / "best.pt")


def write_pairs(folder, name: str, lines: list[str], target) -> dict:
    (folder / f"{name}.src").write_text("\n".join(lines) + "\n")
    (folder / f"{name}.tgt").write_text("\n".join(map(target, lines)) + "\n")
    return {f"{name}_src": str(folder / f"{name}.src"), f"{name}_tgt": str(folder / f"{name}.tgt")}


def test_fine_tuning_on_a_new_task_lowers_the_loss_on_its_held_back_lines(tmp_path):
    """A tiny model learns to reverse word order, then is fine-tuned to copy: on held-back copy lines the fine-tuned
    model's loss is well below the starting model's."""
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(CORPUS_WORDS, rng.integers(2, 7))) for _ in range(460)]

    def reverse(line):
        return " ".join(reversed(line.split()))

    def copy(line):
        return line

    def files(name, train, valid, target) -> dict:
        folder = tmp_path / name
        folder.mkdir()
        return {"dataset": "files", **write_pairs(folder, "train", train, target), **write_pairs(folder, "valid", valid, target)}

    train = {"epochs": 6, "lr": 0.01, "batch_tokens": 400, "patience": 0, "early_stopping_metric": "loss",
             "schedule": "constant"}
    base = config_from_dict(tiny_config_dict(tmp_path / "base", data=files("reverse", lines[:300], lines[300:320], reverse),
                                             train=train))
    quiet(base, tmp_path / "base").train()
    tuned_config = config_from_dict(tiny_config_dict(tmp_path / "tuned", data=files("copy", lines[320:440], lines[440:], copy),
                                                     train={**train, "lr": 0.005, "epochs": 10}))
    tuned = quiet(tuned_config, tmp_path / "tuned", init_from=tmp_path / "base")
    before = tuned.validation_loss()[0]  # the starting model's
    tuned.train()
    assert tuned.validation_loss()[0] < 0.85 * before  # 2.58 -> 1.97 when written


GREEK = "αλφα βητα γαμμα δελτα εψιλον ζητα ητα θητα".split()


@pytest.mark.parametrize("data, warned", [
    ("numbers", False),  # the checkpoint's own task: every token known
    ("greek", True),  # words of an alphabet the checkpoint never saw: every token <unk>
])
def test_init_from_a_vocabulary_that_does_not_cover_the_data_is_warned_about(tmp_path, base_run, data, warned):
    sections = {"data": {**SUBWORDS, "numbers_seed": 99, "numbers_train": 100}}
    if data == "greek":
        rng = np.random.default_rng(0)
        lines = [" ".join(rng.choice(GREEK, 4)) for _ in range(40)]
        folder = tmp_path / "greek"
        folder.mkdir()
        sections["data"].update({"dataset": "files", **write_pairs(folder, "train", lines, str.upper),
                                 **write_pairs(folder, "valid", lines[:5], str.upper)})
    messages = []
    Trainer(config_from_dict(tiny_config_dict(tmp_path / "tuned", **sections)), tmp_path / "tuned", log=messages.append,
            init_from=base_run / "best.pt")
    warnings = [message for message in messages if message.startswith("warning: the vocabularies of --init-from")]
    expected = (f"warning: the vocabularies of --init-from {base_run / 'best.pt'} cover 0.0 % of the source training "
                f"tokens, 0.0 % of the target training tokens; the rest are <unk>, so fine-tuning on this data trains "
                f"the model to read and write <unk> (a BLEU near 0). Fine-tune a checkpoint trained on this language "
                f"pair and tokenization, or train a new model without --init-from, which learns its vocabularies from "
                f"this data.")
    assert warnings == ([expected] if warned else [])


@pytest.mark.parametrize("shares, expected", [
    ({"source": 0.9, "target": 0.5}, None),
    ({"source": 0.123, "target": 0.9}, "cover 12.3 % of the source training tokens, 90.0 % of the target training "
                                       "tokens;"),
    ({"target": 0.2}, "cover 20.0 % of the target training tokens;"),  # a language model: one side
])
def test_the_coverage_warning_names_each_sides_share(shares, expected):
    from s2s.training.trainer import coverage_warning

    warning = coverage_warning(shares, "old.pt")
    assert (warning is None) if expected is None else (f"--init-from old.pt {expected}" in warning)


@pytest.fixture
def tiny_yaml(tmp_path):
    def write(**sections):
        path = tmp_path / "new.yaml"
        path.write_text(yaml.safe_dump(tiny_config_dict(tmp_path / "new", **sections)))
        return str(path)

    return write


def test_a_config_of_another_shape_or_vocabulary_is_refused_with_the_differences(capsys, tmp_path, base_run, tiny_yaml):
    config = tiny_yaml(data=SUBWORDS)
    assert main(["train", "--config", config, "--init-from", str(base_run), "--set", "model.hidden_size=64",
                 "data.vocab_size=90"]) == 2
    assert capsys.readouterr().err == (
        f"s2s train: error: --init-from {base_run}: the config's model shape, tokenizer or vocabulary settings differ "
        f"from the checkpoint's:\n  data.vocab_size: checkpoint has 80, --config has 90\n  model.hidden_size: "
        f"checkpoint has 32, --config has 64\nFine-tuning keeps the checkpoint's model and vocabularies: set these as "
        f"the checkpoint has them (change the data, train and decode sections).\n")
    assert not (tmp_path / "new").exists()  # refused before anything was written


def test_a_pretrained_models_name_is_accepted_and_checked(capsys, tiny_yaml):
    assert main(["train", "--config", tiny_yaml(), "--init-from", "multi30k-de-en"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("s2s train: error: --init-from multi30k-de-en: the config's model shape")
    assert "\n  model.hidden_size: checkpoint has 512, --config has 32\n" in error
    assert "\n  data.tokenizer: checkpoint has 'sentencepiece', --config has 'whitespace'\n" in error


def test_the_shipped_fine_tuning_example_fits_the_shipped_model():
    """docs/fine_tuning.md's example: configs/fine_tuning/numbers_en_de.yaml fine-tunes multi30k-en-de."""
    check_init_config(load_config(REPO / "configs/fine_tuning/numbers_en_de.yaml"), load_checkpoint("multi30k-en-de"),
                      "multi30k-en-de")


def test_init_from_and_resume_exclude_each_other(capsys, base_run, tiny_yaml):
    assert main(["train", "--resume", str(base_run), "--init-from", str(base_run)]) == 2
    assert capsys.readouterr().err == ("s2s train: error: --init-from starts a new run from a checkpoint's weights and "
                                       "--resume continues a run; give one of them.\n")
    with pytest.raises(ValueError, match="give one of them"):
        Trainer(config_from_dict(load_checkpoint(base_run / "last.pt")["config"]), base_run, resume={}, init_from=base_run)
