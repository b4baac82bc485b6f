"""Hostile input to the Python API: every public entry point that takes text (the torch Translator, the onnx engine's
OnnxTranslator, TextGenerator, the torch.hub translator) refuses one string, None, numbers, bytes, NUL characters,
unpaired surrogates and mixed lists with one S2SError that names the entry point, the argument and the fix
(s2s.data.readers.check_lines / check_text: one function for all of them); and says what it dropped or guessed
(Translation.warnings, the stderr warning for a line the source vocabulary knows nothing of)."""

from __future__ import annotations

import pytest
import torch
from helpers import REPO
from onnx_models import make_checkpoint

from s2s.config import ModelConfig
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.decoding.generator import TextGenerator
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.models import build_model


@pytest.fixture(autouse=True, scope="module")
def one_thread(one_torch_thread):
    """Tiny models: one torch thread (tests/conftest.py)."""


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """{"Translator": the torch engine, "OnnxTranslator": the onnx engine, "TextGenerator": a language model,
    "hub": torch.hub's multi30k_de_en} on tiny random weights (the hub's: the shipped model)."""
    from s2s.export.onnx import export_onnx
    from s2s.runtime import OnnxTranslator

    folder = tmp_path_factory.mktemp("api_inputs")
    checkpoint = make_checkpoint(folder / "model.pt")
    tokenizer = build_tokenizer("whitespace")
    vocab = Vocab.build([["the", "cat"]])
    lm = build_model(ModelConfig(name="gru_lm", emb_size=8, hidden_size=8), len(vocab), len(vocab))
    return {"Translator": Translator.from_checkpoint(checkpoint, device="cpu"),
            "OnnxTranslator": OnnxTranslator.from_export(export_onnx(checkpoint, folder / "export")),
            "TextGenerator": TextGenerator(lm, tokenizer, vocab, None),
            "hub": torch.hub.load(str(REPO), "multi30k_de_en", source="local", device="cpu")}


# (entry point, the object it is called on, call(object, value), the argument's name in the error)
LIST_ENTRY_POINTS = [
    ("Translator.translate", "Translator", lambda t, value: t.translate(value), "lines"),
    ("Translator.translate_detailed", "Translator", lambda t, value: t.translate_detailed(value), "lines"),
    ("Translator.translate_stream", "Translator", lambda t, value: list(t.translate_stream(value)), "lines"),
    ("Translator.translate_detailed", "Translator", lambda t, value: t.translate_detailed(["the"], prefix=value),
     "prefix"),
    ("Translator.score", "Translator", lambda t, value: t.score(value, ["the"]), "src_lines"),
    ("Translator.score", "Translator", lambda t, value: t.score(["the"], value), "tgt_lines"),
    ("OnnxTranslator.translate", "OnnxTranslator", lambda t, value: t.translate(value), "lines"),
    ("OnnxTranslator.translate_detailed", "OnnxTranslator", lambda t, value: t.translate_detailed(value), "lines"),
    ("OnnxTranslator.translate_stream", "OnnxTranslator", lambda t, value: list(t.translate_stream(value)), "lines"),
    ("Translator.translate", "hub", lambda t, value: t.translate(value), "lines"),
]
FIX = "give a list of str, one per sentence."
ITEM_FIX = "give text as a str ('' for an empty line)."
# (bad value, the error after 'ENTRY: ARGUMENT')
BAD_LISTS = [
    ("Ein Hund", " must be a list of strings, not one string ('Ein Hund'); wrap it in a list: ['Ein Hund']."),
    (None, f" must be a list of strings, not None; {FIX}"),
    (3, f" must be a list of strings, not int (3); {FIX}"),
    (b"three", f" must be a list of strings, not bytes (b'three'); {FIX}"),
    ({"the": "cat"}, f" must be a list of strings, not a dict; {FIX}"),
    ([None], f"[0] is None, not a string; {ITEM_FIX}"),
    ([3], f"[0] is int (3), not a string; {ITEM_FIX}"),
    ([2.5], f"[0] is float (2.5), not a string; {ITEM_FIX}"),
    ([b"three"], "[0] is bytes (b'three'), not a string; decode it first, e.g. text.decode('utf-8')."),
    (["\x00"], "[0] contains a NUL character (\\x00), which is no text; remove it (is this binary data?)."),
    (["the", "cat\x00dog"], "[1] contains a NUL character (\\x00), which is no text; remove it (is this binary data?)."),
    (["the", "\ud800 cat"], "[1] holds an unpaired UTF-16 surrogate ('\\ud800' at character 0); give valid Unicode text."),
    (["the", None, 3], f"[1] is None, not a string; {ITEM_FIX}"),
    ([["the"]], f"[0] is a list, not a string; {ITEM_FIX}"),
]


CASES = [(*entry_point, *bad_list) for entry_point in LIST_ENTRY_POINTS for bad_list in BAD_LISTS
         if not (entry_point[3] == "prefix" and bad_list[0] is None)]  # prefix=None: no prefixes


@pytest.mark.parametrize("entry, engine, call, argument, bad, error", CASES,
                         ids=[f"{engine}-{entry}-{argument}-{repr(bad)[:20]}" for entry, engine, _, argument, bad, _ in CASES])
def test_entry_points_refuse_what_is_not_a_list_of_text(engines, entry, engine, call, argument, bad, error):
    with pytest.raises(S2SError) as refused:
        call(engines[engine], bad)
    assert str(refused.value) == f"{entry}: {argument}{error}"


@pytest.mark.parametrize("entry, engine, call, argument", LIST_ENTRY_POINTS[:3] + LIST_ENTRY_POINTS[6:9],
                         ids=[f"{engine}-{entry}" for entry, engine, _, _ in LIST_ENTRY_POINTS[:3] + LIST_ENTRY_POINTS[6:9]])
def test_a_list_or_a_tuple_translates_and_only_the_stream_takes_a_generator(engines, entry, engine, call, argument):
    translator = engines[engine]
    assert len(call(translator, ["the cat", ""])) == len(call(translator, ("the cat", ""))) == 2
    if entry.endswith("translate_stream"):
        assert len(call(translator, (line for line in ["the cat", "a dog"]))) == 2
    else:
        with pytest.raises(S2SError) as refused:
            call(translator, (line for line in ["the cat"]))
        assert str(refused.value) == f"{entry}: lines must be a list of strings, not a generator; pass list(...) of it."


def test_the_stream_numbers_a_bad_line_by_its_place_in_the_whole_input(engines):
    lines = ["the cat"] * 5 + [None]
    with pytest.raises(S2SError) as refused:
        list(engines["Translator"].translate_stream(lines, chunk_size=2))
    assert str(refused.value) == f"Translator.translate_stream: lines[5] is None, not a string; {ITEM_FIX}"


# text entry points: one string is the argument here
TEXT_ENTRY_POINTS = [("TextGenerator.generate", lambda g, value: g.generate(value, max_tokens=2), "prompt"),
                     ("TextGenerator.encode", lambda g, value: g.encode(value), "line")]
BAD_TEXTS = [
    (None, f" is None, not a string; {ITEM_FIX}"),
    (3, f" is int (3), not a string; {ITEM_FIX}"),
    (b"the", " is bytes (b'the'), not a string; decode it first, e.g. text.decode('utf-8')."),
    (["the"], f" is a list, not a string; {ITEM_FIX}"),
    ("the\x00", " contains a NUL character (\\x00), which is no text; remove it (is this binary data?)."),
]


@pytest.mark.parametrize("bad, error", BAD_TEXTS, ids=[repr(bad) for bad, _ in BAD_TEXTS])
@pytest.mark.parametrize("entry, call, argument", TEXT_ENTRY_POINTS, ids=[entry for entry, _, _ in TEXT_ENTRY_POINTS])
def test_text_entry_points_refuse_what_is_not_text(engines, entry, call, argument, bad, error):
    with pytest.raises(S2SError) as refused:
        call(engines["TextGenerator"], bad)
    assert str(refused.value) == f"{entry}: {argument}{error}"


@pytest.mark.parametrize("option, value, error", [
    ("n", "3", "TextGenerator.generate: n must be an integer, got '3'."),
    ("temperature", None, "TextGenerator.generate: temperature must be a number, got None."),
    ("top_k", 1.5, "TextGenerator.generate: top_k must be an integer, got 1.5."),
    ("max_tokens", True, "TextGenerator.generate: max_tokens must be an integer, got True."),
    ("seed", "1", "TextGenerator.generate: seed must be an integer or None, got '1'."),
])
def test_generate_refuses_options_of_the_wrong_type(engines, option, value, error):
    with pytest.raises(S2SError) as refused:
        engines["TextGenerator"].generate("the", **{option: value})
    assert str(refused.value) == error


NO_KNOWN_TOKEN = ("no token the model's source vocabulary knows, so the translation is made from <unk> alone and says "
                  "nothing about the input; check that the input is in the model's source language and script.")
# (lines, max_input_tokens, Translation.warnings per line, the stderr warnings)
DROPPED = [
    (["the cat"], 400, [[]], []),
    (["Xylo Quux"], 400, [["2 of its 2 tokens are not in the model's source vocabulary and were translated as <unk>: "
                           "'Xylo', 'Quux'."]], [f"warning: input line 1 has {NO_KNOWN_TOKEN}"]),
    (["the Xylo cat", "", "Xylo Xylo", "Quux"], 400,
     [["1 of its 3 tokens are not in the model's source vocabulary and were translated as <unk>: 'Xylo'."], [],
      ["2 of its 2 tokens are not in the model's source vocabulary and were translated as <unk>: 'Xylo'."],
      ["1 of its 1 tokens are not in the model's source vocabulary and were translated as <unk>: 'Quux'."]],
     [f"warning: 2 input lines (first: line 3) have {NO_KNOWN_TOKEN}"]),
    (["the cat sees a dog"], 3, [["the line has 5 tokens; only the first 3 were translated (split it into "
                                  "sentences)."]],
     ["warning: input line 1 has 5 tokens; translating only the first 3."]),
]


@pytest.mark.parametrize("engine", ["Translator", "OnnxTranslator"])
@pytest.mark.parametrize("lines, limit, warnings, stderr", DROPPED, ids=["known", "unknown", "mixed", "cut"])
def test_what_is_dropped_or_fed_as_unk_is_said(engines, capsys, monkeypatch, engine, lines, limit, warnings, stderr):
    translator = engines[engine]
    monkeypatch.setattr(translator, "max_input_tokens", limit)
    translations = translator.translate_detailed(lines)
    assert [t.warnings for t in translations] == warnings
    assert capsys.readouterr().err.splitlines() == stderr


CHECKPOINT_PATH = "a checkpoint file, run folder or pretrained model's name as a str or pathlib.Path."
EXPORT_PATH = "a folder written by s2s export as a str or pathlib.Path."


def from_export(path, **options):
    from s2s.runtime import OnnxTranslator

    return OnnxTranslator.from_export(path, **options)


# (what is called, call(engines), the S2SError)
BAD_ARGUMENTS = [
    ("from_checkpoint(None)", lambda e: Translator.from_checkpoint(None),
     f"Translator.from_checkpoint: path is None, not a path; give {CHECKPOINT_PATH}"),
    ("from_checkpoint(3)", lambda e: Translator.from_checkpoint(3),
     f"Translator.from_checkpoint: path is int (3), not a path; give {CHECKPOINT_PATH}"),
    ("from_checkpoint([bytes])", lambda e: Translator.from_checkpoint([b"a.pt"]),
     f"Translator.from_checkpoint: path is bytes (b'a.pt'), not a path; give {CHECKPOINT_PATH}"),
    ("from_checkpoint(device=None)", lambda e: Translator.from_checkpoint(REPO / "pretrained" / "multi30k-de-en",
                                                                          device=None),
     "device must be a name such as auto, cpu, cuda or cuda:N, got None."),
    ("from_export(None)", lambda e: from_export(None),
     f"OnnxTranslator.from_export: path is None, not a path; give {EXPORT_PATH}"),
    ("from_export(threads='2')", lambda e: from_export("unused", threads="2"),
     "threads must be at least 1 (got '2'), or None for every usable CPU core."),
    ("TextGenerator.from_checkpoint(3)", lambda e: TextGenerator.from_checkpoint(3),
     "TextGenerator.from_checkpoint: path is int (3), not a path; give a language model's checkpoint file or run "
     "folder as a str or pathlib.Path."),
    ("translate_stream(chunk_size=0)", lambda e: list(e["Translator"].translate_stream(["the"], chunk_size=0)),
     "Translator.translate_stream: chunk_size must be an integer >= 1, got 0."),  # was: no translations at all
    ("translate_stream(chunk_size='2')", lambda e: list(e["OnnxTranslator"].translate_stream(["the"], chunk_size="2")),
     "OnnxTranslator.translate_stream: chunk_size must be an integer >= 1, got '2'."),
    ("translate_detailed(first_line=-1)", lambda e: e["Translator"].translate_detailed(["the"], first_line=-1),
     "Translator.translate_detailed: first_line must be an integer >= 0, got -1."),
]


@pytest.mark.parametrize("call, error", [(call, error) for _, call, error in BAD_ARGUMENTS],
                         ids=[label for label, _, _ in BAD_ARGUMENTS])
def test_loaders_and_options_refuse_arguments_of_the_wrong_type(engines, call, error):
    with pytest.raises(S2SError) as refused:
        call(engines)
    assert str(refused.value) == error
