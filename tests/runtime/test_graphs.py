"""s2s.runtime.graphs and s2s.runtime.weights: a checkpoint read without torch gives the arrays torch.load gives, and
the graphs built from them are byte for byte the ones s2s export writes; anything but plain values and tensors is
refused before it is built."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from onnx_models import make_checkpoint

from s2s.config import config_from_dict
from s2s.errors import S2SError
from s2s.runtime.graphs import decoder_graph, encoder_graph, model_spec, state_names
from s2s.runtime.weights import read_checkpoint


@pytest.mark.parametrize("name, input_feeding", [("gru_attn", False), ("lstm_attn", True), ("rnn", False)])
def test_graphs_built_from_the_checkpoint_file_are_the_exported_files(exported, name, input_feeding):
    checkpoint, folder = exported(name, input_feeding=input_feeding)
    payload = read_checkpoint(checkpoint)
    spec = model_spec(config_from_dict(payload["config"]).model, payload["model"], "test")
    assert (spec.cell, spec.attention, spec.input_feeding) == (name.split("_")[0], name.endswith("_attn"), input_feeding)
    assert encoder_graph(spec, payload["model"]) == (folder / "encoder.onnx").read_bytes()
    assert decoder_graph(spec, payload["model"]) == (folder / "decoder.onnx").read_bytes()
    assert state_names(spec) == (["h", "c", "fed"] if name == "lstm_attn" else ["h"])


def test_read_checkpoint_gives_the_arrays_torch_load_gives_float16_kept_and_tied_weights_shared(tmp_path):
    checkpoint = make_checkpoint(tmp_path / "model.pt")
    payload = torch.load(checkpoint, weights_only=True)
    payload["model"] = {key: value.half() for key, value in payload["model"].items()}
    payload["model"]["decoder.out.weight"] = payload["model"]["decoder.embed.weight"]  # one tensor, two names
    torch.save(payload, tmp_path / "half.pt")
    read = read_checkpoint(tmp_path / "half.pt")
    assert read.keys() == payload.keys()
    for key, tensor in payload["model"].items():
        assert read["model"][key].dtype == np.float16
        np.testing.assert_array_equal(read["model"][key], tensor.numpy())
    assert np.shares_memory(read["model"]["decoder.out.weight"], read["model"]["decoder.embed.weight"])
    assert read["src_tokenizer"] == payload["src_tokenizer"] and read["src_vocab"] == payload["src_vocab"]


SPRUNG = []


def spring():
    SPRUNG.append(True)


class Trap:
    def __reduce__(self):
        return (spring, ())


def test_read_checkpoint_refuses_any_other_object_without_running_it(tmp_path):
    torch.save({"format_version": 1, "model": {}, "trap": Trap()}, tmp_path / "trap.pt")
    with pytest.raises(S2SError, match=r"trap.pt' holds a .*test_graphs.spring, which s2s cannot read without torch "
                                       r"\(an s2s checkpoint holds plain values and float or integer tensors\); "
                                       r"translate it with --engine torch."):
        read_checkpoint(tmp_path / "trap.pt")
    assert not SPRUNG


def test_read_checkpoint_names_a_file_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "text.pt").write_text("not a zip")
    with pytest.raises(S2SError, match="checkpoint '.*text.pt' is corrupt or truncated"):
        read_checkpoint(tmp_path / "text.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(S2SError, match="is not an s2s checkpoint of format version 1"):
        read_checkpoint(tmp_path / "other.pt")


def test_a_language_model_has_no_graphs(tmp_path):
    config = config_from_dict({"model": {"name": "gru_lm"}})
    with pytest.raises(S2SError, match="test holds a gru_lm model; only the zoo's translation models"):
        model_spec(config.model, {}, "test")


def test_pickle_protocol_bytes_come_back_as_bytes(tmp_path):
    """The SentencePiece model inside a checkpoint is bytes, which protocol 2 pickles through _codecs.encode."""
    torch.save({"format_version": 1, "proto": b"\x00\xffspm"}, tmp_path / "bytes.pt", pickle_protocol=2)
    assert read_checkpoint(tmp_path / "bytes.pt")["proto"] == b"\x00\xffspm"
    assert pickle.DEFAULT_PROTOCOL >= 2
