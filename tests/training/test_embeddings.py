"""Pretrained word vectors in the embedding tables: rows land on the right ids, coverage is counted exactly, errors."""

import numpy as np
import pytest
import torch

from s2s.config import ModelConfig
from s2s.data.vocab import Vocab
from s2s.data.word_vectors import WordVectors, write_word_vectors
from s2s.errors import S2SError
from s2s.models import build_model
from s2s.training.embeddings import freeze_embeddings, load_embeddings

SRC = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "haus", "katze", "hund"])
TGT = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "house", "cat"])


def vectors_file(tmp_path, name, words, dim=4):
    """A vectors file whose word i has the vector [i + 1, i + 1, ...] (so a row tells which word it came from)."""
    path = tmp_path / name
    write_word_vectors(path, WordVectors(words, np.array([[i + 1.0] * dim for i in range(len(words))], dtype=np.float32)))
    return str(path)


def model_config(**options):
    """Unscaled loading by default, so that a row shows the file's values; rescaling has its own test."""
    return ModelConfig(**{"cell": "gru", "attention": "dot", "emb_size": 4, "hidden_size": 8, "dropout": 0.0,
                          "rescale_embeddings": False, **options})


def test_rows_go_to_the_right_ids_and_coverage_is_exact(tmp_path):
    # the file's order differs from the vocabulary's; "<pad>" in the file must not touch the padding row; "dog" is
    # not in the vocabulary
    src_file = vectors_file(tmp_path, "src.vec", ["hund", "dog", "haus", "<pad>", "<unk>"])
    cfg = model_config(src_embeddings=src_file, tgt_embeddings=vectors_file(tmp_path, "tgt.vec", ["cat"]))
    torch.manual_seed(0)
    model = build_model(cfg, len(SRC), len(TGT))
    before = model.encoder.embed.weight.detach().clone()
    messages = []
    coverage = load_embeddings(model, cfg, SRC, TGT, log=messages.append)
    assert coverage == {"src": (3, 7), "tgt": (1, 6)}  # hund, haus, <unk>; cat
    src_rows = model.encoder.embed.weight.detach()
    assert src_rows[SRC.index["hund"]].tolist() == [1.0] * 4
    assert src_rows[SRC.index["haus"]].tolist() == [3.0] * 4
    assert src_rows[SRC.index["<unk>"]].tolist() == [5.0] * 4
    assert src_rows[0].tolist() == [0.0] * 4  # <pad>
    untouched = [SRC.index[t] for t in ("<bos>", "<eos>", "katze")]
    assert torch.equal(src_rows[untouched], before[untouched])
    assert model.decoder.embed.weight[TGT.index["cat"]].tolist() == [1.0] * 4
    assert messages[0] == (f"model.src_embeddings: 3 of 7 source vocabulary rows found in {src_file} (42.9 %); "
                           f"the other 4 keep their random initialisation")


def test_a_language_model_takes_target_vectors(tmp_path):
    cfg = model_config(name="gru_lm", tgt_embeddings=vectors_file(tmp_path, "tgt.vec", ["house", "cat"]))
    model = build_model(cfg, len(TGT), len(TGT))
    assert load_embeddings(model, cfg, TGT, TGT, log=lambda m: None) == {"tgt": (2, 6)}
    assert model.decoder.embed.weight[TGT.index["cat"]].tolist() == [2.0] * 4
    cfg.src_embeddings = cfg.tgt_embeddings
    with pytest.raises(S2SError, match=r"'model.src_embeddings' needs a model with a source embedding table \(encoder.embed\)"):
        load_embeddings(model, cfg, TGT, TGT, log=lambda m: None)


def test_dimension_mismatch_names_the_file_and_both_sizes(tmp_path):
    path = vectors_file(tmp_path, "v.vec", ["haus"], dim=3)
    cfg = model_config(src_embeddings=path)
    with pytest.raises(S2SError) as error:
        load_embeddings(build_model(cfg, len(SRC), len(TGT)), cfg, SRC, TGT, log=lambda m: None)
    assert str(error.value) == (f"'model.src_embeddings' file '{path}' holds 3-dimensional vectors, but 'model.emb_size' "
                                f"is 4; set model.emb_size: 3, or train vectors of size 4 (s2s embeddings train --dim 4).")


def test_frozen_tables_do_not_change_in_training(tmp_path):
    cfg = model_config(src_embeddings=vectors_file(tmp_path, "v.vec", ["haus"]), freeze_embeddings=True)
    model = build_model(cfg, len(SRC), len(TGT))
    load_embeddings(model, cfg, SRC, TGT, log=lambda m: None)
    freeze_embeddings(model, cfg)
    frozen, free = model.encoder.embed.weight.detach().clone(), model.decoder.embed.weight.detach().clone()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    src, tgt = torch.tensor([[4, 5, 6]]), torch.tensor([[2, 4, 5]])
    model(src, torch.tensor([3]), tgt, tgt_out=torch.tensor([[4, 5, 3]])).backward()
    optimizer.step()
    assert torch.equal(model.encoder.embed.weight, frozen) and not model.encoder.embed.weight.requires_grad
    assert not torch.equal(model.decoder.embed.weight, free)  # only the table loaded from a file is frozen


def test_an_embedding_lookup_is_a_one_hot_vector_times_the_table():
    torch.manual_seed(0)
    table = torch.nn.Embedding(7, 4)
    one_hot = torch.nn.functional.one_hot(torch.tensor([5, 2]), 7).float()  # (2, V)
    assert torch.allclose(one_hot @ table.weight, table(torch.tensor([5, 2])))  # e_w = Eᵀ x_w: row w of E
    assert float(one_hot[0] @ one_hot[1]) == 0.0  # two different words: orthogonal, cosine 0, whatever they mean


def test_rescaled_vectors_keep_their_directions_at_the_tables_initial_spread(tmp_path):
    path = tmp_path / "v.vec"
    words = ["haus", "katze", "hund"]
    vectors = np.array([[0.1, -0.2, 0.05, 0.3], [0.2, 0.1, -0.1, 0.0], [-0.3, 0.2, 0.1, 0.1]], dtype=np.float32)
    write_word_vectors(path, WordVectors(words, vectors))
    cfg = model_config(emb_size=4, src_embeddings=str(path), rescale_embeddings=True)
    torch.manual_seed(0)
    model = build_model(cfg, len(SRC), len(TGT))
    init_std = float(model.encoder.embed.weight.detach()[1:].std())
    messages = []
    load_embeddings(model, cfg, SRC, TGT, log=messages.append)
    rows = model.encoder.embed.weight.detach()[[SRC.index[w] for w in words]]
    factor = init_std / float(torch.from_numpy(vectors).std())
    torch.testing.assert_close(rows, torch.from_numpy(vectors) * factor)  # one factor: directions and cosines kept
    assert abs(float(rows.std()) - init_std) < 1e-5 and factor > 3  # N(0, 1) rows are far wider than these vectors
    assert messages[0].endswith(f"the other 4 keep their random initialisation; the vectors were scaled by "
                                f"{factor:.3g} to the table's initial spread")
