import math
from typing import get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s2s.config import SECTIONS, config_from_dict, load_config
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


def test_a_bad_value_from_set_is_blamed_on_the_flag_and_one_from_the_file_on_the_file(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("train:\n  lr: .nan\ndecode:\n  nbest: 3\n")
    with pytest.raises(S2SError, match=r"^--set train.lr=1e400: 'train.lr' must be a finite number, got inf.$"):
        load_config(None, ["train.lr=1e400"])
    with pytest.raises(S2SError, match=f"^{config}: 'train.lr' must be a finite number, got nan.$"):
        load_config(config)
    with pytest.raises(S2SError, match=f"^{config} and --set decode.beam=2: 'decode.nbest' \\(3\\) cannot exceed"):
        load_config(config, ["train.lr=0.1", "decode.beam=2"])


KEYS = sorted(f"{section}.{key}" for section, kind in SECTIONS.items() for key in get_type_hints(kind)) + ["imports", "name"]
YAML_VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["nan", ".nan", ".inf", "-.inf", "1e400", "9" * 400, "-0", "0x1f", "1_000", "²", "--5", "~", "[]",
                     "[1, a]", "{a: 1, a: 2}", "!!binary aGk=", "2001-12-14", "!!set {a}", "[" * 200, "!!python/none ''",
                     "&a [*a]", "? [1]\n: 2", "true", "yes", "'3'", "\x00"]),
    st.integers().map(str), st.floats().map(str),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=12)), YAML_VALUES), max_size=4))
def test_set_overrides_raise_nothing_but_s2serror(overrides):
    try:
        config = load_config(None, [f"{key}={value}" for key, value in overrides])
    except S2SError as error:
        assert str(error).startswith(("--set ", "config")), error  # the flag that gave the value, or the config
    else:
        for name in SECTIONS:
            for key, value in vars(getattr(config, name)).items():
                assert not isinstance(value, float) or math.isfinite(value), (name, key, value)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
                    max_leaves=8)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(list(SECTIONS) + ["imports", "name", "other"]),
                       st.one_of(JSON, st.dictionaries(st.sampled_from(KEYS).map(lambda k: k.split(".")[-1]), JSON,
                                                       max_size=4)), max_size=4))
def test_any_config_mapping_raises_nothing_but_s2serror(raw):
    try:
        config_from_dict(raw, "x.yaml")
    except S2SError:
        pass
