import os

import pytest
import torch

from s2s.checkpoint import load_checkpoint, save_checkpoint
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.training.trainer import Trainer


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, make_config):
    run = tmp_path_factory.mktemp("ckpt") / "run"
    trainer = Trainer(make_config(run, train={"epochs": 2}), run, log=lambda m: None)
    trainer.train()
    return trainer, run


def test_run_folder_has_everything(trained_run):
    _, run = trained_run
    for name in ("config.yaml", "src.vocab", "tgt.vocab", "best.pt", "last.pt", "metrics.jsonl",
                 "data/test.en", "data/test.de"):
        assert (run / name).is_file(), name
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_checkpoint_round_trip_gives_identical_translations(trained_run):
    trainer, run = trained_run
    save_checkpoint(trainer.checkpoint_payload(with_optimizer=False), run / "now.pt")
    sentences = trainer.corpus.splits["test"].src_text
    before = trainer.translator().translate(sentences, beam=3)
    after = Translator.from_checkpoint(run / "now.pt", device="cpu").translate(sentences, beam=3)
    assert before == after and len(after) == len(sentences)


def test_a_run_folder_loads_its_best_checkpoint(trained_run):
    _, run = trained_run
    assert load_checkpoint(run)["step"] == load_checkpoint(run / "best.pt")["step"]


def test_malicious_pickle_is_refused_and_does_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"format_version": 1, "x": Exploit()}, tmp_path / "evil.pt", pickle_protocol=2)
    with pytest.raises(S2SError, match="refused"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()


def test_truncated_and_foreign_files_are_clear_errors(trained_run, tmp_path):
    _, run = trained_run
    data = (run / "best.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(S2SError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(S2SError, match="corrupt or truncated"):
        load_checkpoint(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(S2SError, match="not an s2s checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    torch.save({"format_version": 99, "s2s_version": "9.0"}, tmp_path / "future.pt")
    with pytest.raises(S2SError, match="format version 99 .* reads format 1"):
        load_checkpoint(tmp_path / "future.pt")


def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint({"value": 1}, tmp_path / "c.pt")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(S2SError, match="No space left on device. The previous checkpoint there is intact"):
        save_checkpoint({"value": 2}, tmp_path / "c.pt")
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "c.pt")["value"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


KILLER = """
import sys, torch
from s2s.checkpoint import save_checkpoint
big = torch.randn(4_000_000)
for i in range(10_000):
    save_checkpoint({"i": i, "weights": big}, sys.argv[1])
    print(i, flush=True)
"""


def test_killing_the_process_mid_save_leaves_a_loadable_checkpoint(tmp_path):
    import random
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "c.pt"
    rng = random.Random(0)
    for _ in range(3):
        process = subprocess.Popen([sys.executable, "-c", KILLER, str(path)], stdout=subprocess.PIPE, text=True)
        process.stdout.readline()  # at least one checkpoint is complete
        time.sleep(rng.uniform(0.0, 0.3))  # then die at a random moment, most likely inside a save
        process.send_signal(signal.SIGKILL)
        process.wait()
        payload = load_checkpoint(path)
        assert payload["weights"].numel() == 4_000_000 and payload["i"] >= 0
