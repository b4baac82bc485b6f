"""Sampling from a language model: seeds repeat, temperature 0 is greedy, top-k keeps the k best, specials never drawn."""

import torch

from s2s.config import ModelConfig
from s2s.decoding.generator import next_tokens, sample
from s2s.models import build_model
from s2s.specials import BOS, EOS, PAD


def random_lm(seed=0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(name="lstm_lm", emb_size=8, hidden_size=16, dropout=0.0), 20, 20)


def test_the_same_seed_gives_the_same_samples_and_another_seed_others():
    model = random_lm()

    def draw(seed):
        return sample(model, [5, 6], n=8, max_tokens=12, temperature=2.0, generator=torch.Generator().manual_seed(seed))

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
    assert all(len(row) <= 12 and EOS not in row and PAD not in row and BOS not in row for row in draw(3))


def test_temperature_zero_is_greedy_and_top_k_keeps_the_k_best():
    logits = torch.tensor([[9.0, 0.0, 9.0, 0.0, 1.0, 3.0, 2.0, 2.5]] * 2000)  # <pad>, <bos> highest: never drawn
    assert next_tokens(logits, 0.0, 0, None).unique().tolist() == [5]
    drawn = next_tokens(logits, 1.0, 2, torch.Generator().manual_seed(0))
    assert sorted(drawn.unique().tolist()) == [5, 7]  # the two best real tokens
    share = float((drawn == 5).float().mean())  # softmax over {3.0, 2.5}: e^0.5 / (1 + e^0.5) = 0.622
    assert abs(share - 0.622) < 0.04
    everything = next_tokens(logits, 1.0, 0, torch.Generator().manual_seed(0))
    assert PAD not in everything.tolist() and BOS not in everything.tolist() and len(everything.unique()) == 6


def test_greedy_sampling_matches_a_hand_run_step_loop():
    model = random_lm(1).eval()
    tokens = sample(model, [4], n=1, max_tokens=6, temperature=0)[0]
    prev, state, expected = torch.tensor([BOS, 4]), None, []
    logits, state = model(prev[None])
    for _ in range(6):
        scores = logits[0, -1].clone()
        scores[[PAD, BOS]] = float("-inf")
        chosen = int(scores.argmax())
        if chosen == EOS:
            break
        expected.append(chosen)
        logits, state = model(torch.tensor([[chosen]]), state)
    assert tokens == expected


def test_prompt_words_outside_the_vocabulary_are_named_and_a_temperature_must_be_finite(capsys):
    import pytest

    from s2s.data.tokenizers import build_tokenizer
    from s2s.data.vocab import Vocab
    from s2s.decoding.generator import TextGenerator
    from s2s.errors import S2SError
    from s2s.specials import SPECIALS

    vocab = Vocab(SPECIALS + [f"w{i}" for i in range(16)])
    generator = TextGenerator(random_lm(), build_tokenizer("whitespace"), vocab, config=None)
    generator.generate("w1 zebra w2 quux zebra", max_tokens=3, seed=0)
    assert capsys.readouterr().err == ("warning: the prompt's 'zebra', 'quux' are not in the model's vocabulary and "
                                       "become <unk>.\n")
    generator.generate("w3 w4", max_tokens=3, seed=0)
    assert capsys.readouterr().err == ""
    for temperature in (float("nan"), float("inf")):
        with pytest.raises(S2SError, match=f"a finite temperature >= 0.*got temperature={temperature}"):
            generator.generate("w1", temperature=temperature)


def test_tokens_named_never_are_never_drawn():
    logits = torch.tensor([[0.0, 0.0, 0.0, 1.0, 9.0, 1.0]] * 200)  # token 4 is the likeliest by far
    drawn = next_tokens(logits, 1.0, 0, torch.Generator().manual_seed(1), never=[4])
    assert {3, 5} <= set(drawn.tolist()) <= {1, 3, 5}  # never <pad> 0, <bos> 2, nor 4
    assert next_tokens(logits, 0.0, 0, None, never=[4]).tolist() == [3] * 200  # greedy: the best left
    assert set(next_tokens(logits, 1.0, 0, torch.Generator().manual_seed(1)).tolist()) >= {4}
