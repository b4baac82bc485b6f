"""POST /translate's checks (parse_translate_request) on any body a client can send: a RequestError or a valid request,
never another exception."""

import json
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s2s.config import DecodeConfig
from s2s.serving.service import FIELDS, Limits, RequestError, ServedModel, parse_translate_request

LIMITS = Limits(max_body_bytes=2000, max_lines=4, max_chars=50, max_beam=16)
VOCABULARY = 12  # smaller than --max-beam: a larger beam is refused for this model


def served(name: str, beam: int = 1) -> ServedModel:
    """A model as parse_translate_request sees it: decode defaults and a target vocabulary, no weights."""
    return ServedModel(name, SimpleNamespace(decode=DecodeConfig(beam=beam), tgt_vocab=["t"] * VOCABULARY))


MODELS = {"tiny": served("tiny"), "wide": served("wide", beam=5)}
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=3),
                    max_leaves=10)
NUMBERS = st.one_of(st.integers(-5, 40), st.integers(), st.floats(), st.booleans(), st.none(), st.text(max_size=3))
REQUESTS = st.fixed_dictionaries({}, optional={
    "text": st.one_of(st.lists(st.text(max_size=60), max_size=6), JSON), "beam": NUMBERS, "nbest": NUMBERS,
    "attention": st.one_of(st.booleans(), JSON), "model": st.one_of(st.sampled_from(list(MODELS)), JSON)})
BODIES = st.one_of(REQUESTS.map(lambda body: json.dumps(body).encode()),  # NaN and Infinity too, as Python writes them
                   st.dictionaries(st.sampled_from(list(FIELDS) + ["beem", "text "]), JSON, max_size=4).map(
                       lambda body: json.dumps(body).encode()),
                   JSON.map(lambda body: json.dumps(body).encode()), st.binary(max_size=80),
                   st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")))


@settings(max_examples=600, deadline=None)
@given(BODIES)
def test_any_body_is_a_request_error_or_a_request_in_range(body):
    try:
        key, lines = parse_translate_request(body, MODELS, LIMITS)
    except RequestError as error:
        assert error.status in (400, 404, 422) and error.message
        return
    assert key.model in MODELS and all(isinstance(line, str) for line in lines) and len(lines) <= LIMITS.max_lines
    assert 1 <= key.beam <= min(LIMITS.max_beam, VOCABULARY) and 1 <= key.nbest <= key.beam


@pytest.mark.parametrize("body, message", [
    ('{"text": ["a"], "beam": NaN}', "'beam' must be an integer, not NaN."),
    ('{"text": ["a"], "nbest": Infinity}', "'nbest' must be an integer, not Infinity."),
    ('{"text": ["a"], "beam": -Infinity}', "'beam' must be an integer, not -Infinity."),
    ('{"text": ["a"], "beam": 1e400}', "'beam' must be an integer, not Infinity."),
    ('{"text": ["a"], "beam": 13}', "'beam' must be between 1 and 12 (the target vocabulary of model 'tiny': a larger "
                                    "beam holds no other hypotheses), got 13."),
])
def test_non_finite_numbers_and_beams_beyond_the_vocabulary_are_422(body, message):
    with pytest.raises(RequestError) as error:
        parse_translate_request(body.encode(), MODELS, LIMITS)
    assert error.value.status == 422 and error.value.message == message


def test_a_default_beam_beyond_the_vocabulary_is_cut_to_it():
    key, _ = parse_translate_request(b'{"text": ["a"]}', {"big": served("big", beam=50)}, LIMITS)
    assert (key.beam, key.nbest) == (VOCABULARY, 1)


@pytest.mark.parametrize("body, message", [
    (b'{"text": ["a"], "beam": 1' + b"0" * 4300 + b"}",
     "a number in the request body is too large (4301 digits; at most 4300 are read); send numbers such as beam and "
     "nbest as small integers."),
    (b'{"text": [' + b"9" * 5000 + b"]}",
     "a number in the request body is too large (5000 digits; at most 4300 are read); send numbers such as beam and "
     "nbest as small integers."),
    (b'{"text": ["\xff"]}', "the request body is not valid JSON (not UTF-8: invalid start byte at byte 11); send an object "
                            'such as {"text": ["a sentence", "another one"], "beam": 5, "nbest": 1, "attention": false}.'),
])
def test_a_body_json_cannot_read_is_a_400_that_says_why(body, message):
    with pytest.raises(RequestError) as refused:
        parse_translate_request(body, MODELS, LIMITS)
    assert (refused.value.status, refused.value.message) == (400, message)
