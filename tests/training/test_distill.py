"""Sequence-level distillation (s2s.training.distill): the teacher's translations of the training sources, chunk by
chunk; a stopped run resumes where it stopped; another teacher or other settings are refused; the user's files stay;
the student configs load and train. Tiny teachers on the write_corpus files, trained in seconds."""

import json
import shutil
from pathlib import Path

import pytest
import yaml
from helpers import files_config, write_corpus

from s2s.cli import main
from s2s.config import config_from_dict, load_config
from s2s.data.readers import read_lines
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.training import distill as distill_module
from s2s.training.distill import MANIFEST, distill
from s2s.training.lm_trainer import make_trainer


@pytest.fixture(autouse=True, scope="module")
def one_thread(one_torch_thread):
    """Tiny models: one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """(the student's Config on the write_corpus files, the run folders of two tiny teachers trained on them)."""
    folder = tmp_path_factory.mktemp("distill")
    write_corpus(folder / "text")
    config = files_config(folder)
    teachers = []
    for seed in (3, 4):
        run = folder / f"teacher{seed}"
        teacher = files_config(folder, cache=False)
        teacher.train.seed, teacher.train.run_dir = seed, str(run)
        make_trainer(teacher, run, log=lambda message: None).train()
        teachers.append(run)
    return config, teachers


def quiet(config, teachers, output, **options) -> tuple[dict, list[str]]:
    messages = []
    return distill(config, teachers, output, device="cpu", log=messages.append, **options), messages


def sources(config) -> list[str]:
    return read_lines(config.data.train_src)


def test_the_distilled_targets_are_the_teachers_beam_translations(tmp_path, corpus):
    config, teachers = corpus
    summary, messages = quiet(config, teachers[:1], tmp_path / "out", beam=3, batch_size=16)
    expected = Translator.from_checkpoint(teachers[0], device="cpu").translate(sources(config), beam=3, batch_size=16)
    assert read_lines(tmp_path / "out" / "files.distilled.de") == expected
    assert expected[5] == "" and len(expected) == 60  # the blank source line stays blank (the student drops it)
    assert summary["sentences"] == summary["translated"] == 60 and summary["chunks"] == 1
    assert messages[1].startswith("distill: translated 60 sentences in ") and "sentences/s)" in messages[1]
    assert json.loads((tmp_path / "out" / MANIFEST).read_text())["decode"]["beam"] == 3


def test_an_ensemble_of_two_teachers_translates_as_the_ensembled_translator(tmp_path, corpus):
    config, teachers = corpus
    quiet(config, teachers, tmp_path / "out", beam=2)
    expected = Translator.from_checkpoint(teachers, device="cpu").translate(sources(config), beam=2)
    assert read_lines(tmp_path / "out" / "files.distilled.de") == expected
    single = Translator.from_checkpoint(teachers[0], device="cpu").translate(sources(config), beam=2)
    assert expected != single  # the second teacher counts


def test_a_stopped_run_resumes_with_the_missing_chunks_only_and_the_same_output(tmp_path, corpus, monkeypatch):
    config, teachers = corpus
    quiet(config, teachers[:1], tmp_path / "whole", beam=2, chunk_lines=25)
    translate_chunk, calls, stops = distill_module.translate_chunk, [], [25]

    def stop_at_the_second_chunk(translator, lines, first_line, options):
        calls.append(first_line)
        if first_line in stops:  # Ctrl-C while the second chunk (lines 25-49) is translated, the first time only
            stops.clear()
            raise KeyboardInterrupt
        return translate_chunk(translator, lines, first_line, options)

    monkeypatch.setattr(distill_module, "translate_chunk", stop_at_the_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        quiet(config, teachers[:1], tmp_path / "out", beam=2, chunk_lines=25)
    assert sorted(path.name for path in (tmp_path / "out" / "chunks").iterdir()) == ["files.000000.de"]  # no half chunk
    assert not (tmp_path / "out" / "files.distilled.de").exists()

    calls.clear()
    summary, messages = quiet(config, teachers[:1], tmp_path / "out", beam=2, chunk_lines=25)
    assert calls == [25, 50]  # chunks 2 and 3 (lines 25-49, 50-59) only
    assert summary["chunks_done_before"] == 1 and summary["translated"] == 35
    assert messages[1] == f"distill: resuming in {tmp_path / 'out'}: 1 of 3 chunks were done already (kept); " \
                          f"translating the other 2"
    assert (tmp_path / "out" / "files.distilled.de").read_bytes() == (tmp_path / "whole" / "files.distilled.de").read_bytes()


@pytest.mark.parametrize("change, message", [
    ({"beam": 3}, "holds a distillation with other decoding settings (it used {'beam': 2, "),
    ({"chunk_lines": 30}, "holds a distillation with other --chunk-lines (it used 25; now 30)"),
    ({"teachers": 1}, "holds a distillation with other teachers (it used {first}/best.pt as they were then; now "
                      "{second}/best.pt)"),
    ({"source": True}, "holds a distillation with other training sources (it translated {source} as they were then"),
])
def test_another_teacher_source_or_setting_is_refused_and_changes_nothing(tmp_path, corpus, change, message):
    config, teachers = corpus
    text = tmp_path / "text"
    shutil.copytree(Path(config.data.train_src).parent, text)
    config = files_config(tmp_path)
    quiet(config, teachers[:1], tmp_path / "out", beam=2, chunk_lines=25)
    before = {path: path.read_bytes() for path in (tmp_path / "out").rglob("*") if path.is_file()}
    options = {"beam": change.get("beam", 2), "chunk_lines": change.get("chunk_lines", 25)}
    if "source" in change:
        with open(text / "train.src", "a") as handle:
            handle.write("one more line\n")
        with open(text / "train.tgt", "a") as handle:
            handle.write("line more one\n")
    with pytest.raises(S2SError) as error:
        quiet(config, teachers[change.get("teachers", 0):][:1], tmp_path / "out", **options)
    expected = message.replace("{first}", str(teachers[0])).replace("{second}", str(teachers[1])) \
        .replace("{source}", str(text.resolve() / "train.src"))
    assert expected in str(error.value)
    assert str(error.value).endswith("choose another --output, or delete the folder to start over.")
    assert {path: path.read_bytes() for path in (tmp_path / "out").rglob("*") if path.is_file()} == before


def test_the_users_files_in_the_folder_stay_and_one_where_distill_writes_is_refused(tmp_path, corpus):
    config, teachers = corpus
    out = tmp_path / "out"
    (out / "chunks").mkdir(parents=True)
    (out / "notes.txt").write_text("mine\n")
    (out / "chunks" / "notes.txt").write_text("mine too\n")
    (out / "student.yaml").write_text("my own config\n")
    with pytest.raises(S2SError, match=f"--output '{out}' holds student.yaml, which distill did not write there \\(the "
                                       f"folder has no {MANIFEST}\\); choose another --output, or move student.yaml"):
        quiet(config, teachers[:1], out, beam=2)
    assert sorted(path.name for path in out.rglob("*")) == ["chunks", "notes.txt", "notes.txt", "student.yaml"]
    (out / "student.yaml").unlink()
    for _ in range(2):  # written, then resumed with nothing left to do
        quiet(config, teachers[:1], out, beam=2)
    assert (out / "notes.txt").read_text() == "mine\n" and (out / "chunks" / "notes.txt").read_text() == "mine too\n"
    assert not any(".tmp" in path.name for path in out.rglob("*"))


def test_the_student_configs_load_keep_the_references_for_validation_and_train(tmp_path, corpus):
    config, teachers = corpus
    summary, messages = quiet(config, teachers[:1], tmp_path / "out", beam=2)
    alone, mixed = (load_config(path) for path in summary["students"])
    distilled = str((tmp_path / "out" / "files.distilled.de").resolve())
    reference = {key: str(Path(getattr(config.data, key)).resolve())
                 for key in ("train_src", "train_tgt", "valid_src", "valid_tgt")}
    assert alone.data.dataset == mixed.data.dataset == "corpora"
    assert alone.data.corpora == [{"dataset": "files", "name": "files", "weight": 1, **reference,
                                   "train_tgt": distilled}]
    assert mixed.data.corpora == [{"dataset": "files", "name": "files", "weight": 1, **reference},
                                  {"dataset": "files", "name": "files-distilled", "weight": 1,
                                   "train_src": reference["train_src"], "train_tgt": distilled}]
    assert (alone.name, mixed.name) == ("tiny-distilled", "tiny-distilled-mix")
    assert (alone.train.run_dir, mixed.train.run_dir) == (config.train.run_dir + "-distilled",
                                                          config.train.run_dir + "-distilled-mix")
    assert alone.model == config.model and mixed.train.seed == config.train.seed
    assert messages[-1].endswith(f"s2s train --config {summary['students'][1]}")
    for student in (alone, mixed):
        student.train.max_steps, student.train.run_dir = 1, str(tmp_path / student.name)
        result = make_trainer(student, tmp_path / student.name, log=lambda message: None).train()
        assert result["steps"] == 1


@pytest.mark.parametrize("data, options, message", [
    ({"dataset": "numbers"}, {}, "data.dataset is 'numbers', which has no parallel training files to translate"),
    ({}, {"nbest": 2}, "--nbest: distillation keeps the teacher's best translation of each sentence"),
    ({}, {"beam": 10**6}, "beam"),
])
def test_data_without_files_and_unusable_options_are_refused(tmp_path, corpus, data, options, message):
    config, teachers = corpus
    raw = config.to_dict()
    raw["data"].update(data)
    with pytest.raises(S2SError, match=message):
        quiet(config_from_dict(raw), teachers[:1], tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_the_command_writes_the_folder_and_prints_the_next_commands(tmp_path, corpus, capsys):
    config, teachers = corpus
    path = tmp_path / "student.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    assert main(["distill", "--teacher", str(teachers[0]), "--config", str(path), "--output", str(tmp_path / "out"),
                 "--beam", "2", "--chunk-lines", "40", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("distill: translated 60 sentences in ")
    assert out[-2:] == [f"train the student on the teacher's outputs alone: s2s train --config {tmp_path / 'out' / 'student.yaml'}",
                        f"or on them beside the references:                s2s train --config {tmp_path / 'out' / 'student-mix.yaml'}"]
    assert len(read_lines(tmp_path / "out" / "files.distilled.de")) == 60


@pytest.mark.parametrize("words, message", [
    ([], "the following arguments are required: --teacher, --config, --output"),
    (["--teacher", "{teacher}", "--config", "{config}", "--output", "{config}"], "--output '{config}' is a file; give a folder."),
    (["--teacher", "{missing}", "--config", "{config}", "--output", "{out}"], "--teacher '{missing}' does not exist"),
    (["--teacher", "{teacher}", "--config", "{missing}", "--output", "{out}"], "--config file '{missing}' does not exist"),
    (["--teacher", "{teacher}", "--config", "{config}", "--output", "{dir}"],
     "--output '{dir}' would write over --config '{config}', an input of this command; choose another --output."),
    (["--teacher", "{teacher}", "--config", "{config}", "--output", "{out}", "--chunk-lines", "0"],
     "argument --chunk-lines: must be >= 1, got 0"),
])
def test_bad_flags_are_one_line_errors(tmp_path, corpus, capsys, words, message):
    config, teachers = corpus
    path = tmp_path / "student.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    places = {"{teacher}": str(teachers[0]), "{config}": str(path), "{missing}": str(tmp_path / "missing"),
              "{out}": str(tmp_path / "out"), "{dir}": str(tmp_path)}
    filled = [places.get(word, word) for word in words]
    try:
        code = main(["distill", *filled])
    except SystemExit as exit_:
        code = exit_.code
    error = capsys.readouterr().err
    for name, value in places.items():
        message = message.replace(name, value)
    assert code == 2 and message in error and error.count("\n") == 1, error


def test_help_names_the_flags(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["distill", "--help"])
    text = capsys.readouterr().out
    assert exit_.value.code == 0
    assert all(flag in text for flag in ("--teacher", "--config", "--output", "--chunk-lines", "--beam", "--engine"))


def test_the_onnx_engine_distills_an_export_as_the_torch_engine_its_checkpoint(tmp_path, corpus):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from s2s.export.onnx import export_onnx

    config, teachers = corpus
    export = export_onnx(teachers[0] / "best.pt", tmp_path / "export", verify=False)
    summary, _ = quiet(config, [export], tmp_path / "onnx", engine="onnx", beam=2, chunk_lines=25)
    quiet(config, teachers[:1], tmp_path / "torch", beam=2, chunk_lines=25)
    assert summary["translated"] == 60
    assert read_lines(tmp_path / "onnx" / "files.distilled.de") == read_lines(tmp_path / "torch" / "files.distilled.de")
    manifest = json.loads((tmp_path / "onnx" / MANIFEST).read_text())
    assert manifest["engine"] == "onnx" and {Path(item["path"]).name for item in manifest["teachers"][0]} >= \
        {"encoder.onnx", "decoder.onnx", "manifest.json"}


def test_a_shipped_model_by_name_teaches_with_the_onnx_engine(tmp_path):
    pytest.importorskip("onnxruntime")
    text = tmp_path / "text"
    text.mkdir()
    lines = {"de": ["Ein Hund rennt.", "Zwei Männer spielen Fußball.", "Eine Frau liest."],
             "en": ["A dog runs.", "Two men play soccer.", "A woman reads."]}
    for language, side in lines.items():
        (text / f"train.{language}").write_text("\n".join(side) + "\n", encoding="utf-8")
    data = {"dataset": "files", "src": "de", "tgt": "en", "train_src": str(text / "train.de"),
            "train_tgt": str(text / "train.en"), "valid_src": str(text / "train.de"), "valid_tgt": str(text / "train.en")}
    config = config_from_dict({"data": data})
    summary, _ = quiet(config, ["multi30k-de-en"], tmp_path / "onnx", engine="onnx", beam=2)
    quiet(config, ["multi30k-de-en"], tmp_path / "torch", beam=2)
    assert summary["translated"] == 3
    assert read_lines(tmp_path / "onnx" / "files.distilled.en") == read_lines(tmp_path / "torch" / "files.distilled.en")
    manifest = json.loads((tmp_path / "onnx" / MANIFEST).read_text())
    assert {Path(item["path"]).name for item in manifest["teachers"][0]} >= {"model.pt", "card.json"}


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_a_teacher_of_the_other_direction_is_refused(tmp_path, corpus, engine):
    """An en->de teacher for a de->en config translated all of Multi30k's German sources into German 'targets' (a
    25-minute job found by hand); the language pairs are compared before anything is translated."""
    config, teachers = corpus
    teacher = teachers[0]
    if engine == "onnx":
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
        from s2s.export.onnx import export_onnx

        teacher = export_onnx(teachers[0] / "best.pt", tmp_path / "export", verify=False)
    raw = config.to_dict()
    raw["data"]["src"], raw["data"]["tgt"] = config.data.tgt, config.data.src
    with pytest.raises(S2SError, match=f"--teacher .* translates {config.data.src}→{config.data.tgt}, but "
                                       f"--config's data is {config.data.tgt}→{config.data.src}; give teachers"):
        quiet(config_from_dict(raw), [teacher], tmp_path / "out", engine=engine)
    assert not (tmp_path / "out").exists()
