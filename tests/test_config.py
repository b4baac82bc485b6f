import pytest

from s2s.config import config_from_dict, load_config
from s2s.errors import S2SError


def test_defaults_validate_and_quickstart_loads():
    config = load_config("configs/quickstart.yaml")
    assert config.name == "quickstart"
    assert config.model.resolved_name == "gru_attn"
    assert config.data.dataset == "numbers"


def test_set_overrides_fields_with_yaml_types():
    config = load_config("configs/quickstart.yaml", ["train.epochs=3", "model.cell=lstm", "model.attention=none",
                                                      "train.lr=5e-4", "model.bidirectional=false"])
    assert config.train.epochs == 3 and config.train.lr == 5e-4
    assert config.model.resolved_name == "lstm" and config.model.bidirectional is False


@pytest.mark.parametrize("raw, message", [
    ({"model": {"hiden_size": 8}}, "unknown key 'model.hiden_size'. Did you mean 'hidden_size'?"),
    ({"trian": {}}, "unknown section 'trian'. Did you mean 'train'?"),
    ({"model": {"cell": "transformer"}}, "'model.cell' is 'transformer'; choose one of rnn, lstm, gru"),
    ({"model": {"dropout": 1.0}}, "'model.dropout' must be in [0, 1), got 1.0"),
    ({"model": {"hidden_size": -4}}, "'model.hidden_size' must be > 0, got -4"),
    ({"decode": {"beam": 0}}, "'decode.beam' must be > 0, got 0"),
    ({"data": {"workers": -1}}, "'data.workers' must be >= 0, got -1"),
    ({"train": {"epochs": "many"}}, "'train.epochs' must be of type int, got 'many'"),
    ({"model": {"hidden_size": 33}}, "must be even (got 33)"),
    ({"model": {"tie_embeddings": True, "emb_size": 128}}, "'model.emb_size' (128) must equal 'model.hidden_size' (512)"),
    ({"model": {"freeze_embeddings": True}}, "'model.freeze_embeddings' keeps pretrained vectors fixed, but neither "
                                             "'model.src_embeddings' nor 'model.tgt_embeddings' names a vectors file"),
    ({"model": {"freeze_embeddings": True, "tgt_embeddings": "v.vec", "tie_embeddings": True, "emb_size": 512}},
     "would also freeze the output layer, which 'model.tie_embeddings' shares with the target embedding"),
    ({"model": {"src_embedings": "v.vec"}}, "unknown key 'model.src_embedings'. Did you mean 'src_embeddings'?"),
    ({"data": {"dataset": "text", "train_text": "a.txt"}}, "data.dataset is 'text' but 'data.train_text'/'data.valid_text' are not set"),
    ({"train": {"bptt": -1}}, "'train.bptt' must be >= 0, got -1"),
])
def test_config_errors_name_the_key_and_the_fix(raw, message):
    with pytest.raises(S2SError) as error:
        config_from_dict(raw, "x.yaml")
    assert message in str(error.value)
    assert str(error.value).startswith("x.yaml: ")


def test_bad_set_syntax_and_missing_file(tmp_path):
    with pytest.raises(S2SError, match="--set expects section.key=value"):
        load_config(None, ["train.epochs"])
    with pytest.raises(S2SError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    (tmp_path / "bad.yaml").write_text("model: [unclosed")
    with pytest.raises(S2SError, match="bad.yaml', line 1, column 17: YAML syntax error: while parsing a flow sequence"):
        load_config(tmp_path / "bad.yaml")
    (tmp_path / "latin1.yaml").write_bytes("model: {name: gr\xfc}".encode("latin-1"))
    with pytest.raises(S2SError, match="latin1.yaml' is not UTF-8 text .* save it as UTF-8"):
        load_config(tmp_path / "latin1.yaml")
