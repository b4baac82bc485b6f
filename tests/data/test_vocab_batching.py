import torch

from s2s.data.batching import make_batch, token_batches
from s2s.data.vocab import BOS, EOS, PAD, UNK, Vocab


def test_vocab_specials_frequency_order_and_unknowns():
    vocab = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], min_freq=2)
    assert vocab.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "b", "a"]
    assert vocab.encode(["a", "zzz"]) == [5, UNK]
    assert vocab.decode([BOS, 4, 5, EOS, 4]) == ["b", "a"]


def test_token_batches_cover_every_pair_once_within_budget():
    torch.manual_seed(0)
    lengths = torch.randint(1, 40, (500,)).tolist()
    src = [[4] * n for n in lengths]
    tgt = [[5] * max(1, n - 3) for n in lengths]
    batches = token_batches(src, tgt, batch_tokens=300, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(500))
    for b in batches:
        longest = max(max(len(src[i]), len(tgt[i])) + 1 for i in b)
        assert len(b) == 1 or longest * len(b) <= 300
    padded = sum(max(len(tgt[i]) + 1 for i in b) * len(b) for b in batches)
    real = sum(len(t) + 1 for t in tgt)
    assert 1 - real / padded < 0.10  # length bucketing keeps target padding under 10 %


def test_token_batches_differ_by_seed_and_repeat_with_it():
    src = [[4] * (i % 7 + 1) for i in range(200)]
    assert token_batches(src, src, 100, seed=1) == token_batches(src, src, 100, seed=1)
    assert token_batches(src, src, 100, seed=1) != token_batches(src, src, 100, seed=2)


def test_make_batch_shifts_targets():
    batch = make_batch([[7, 8], [9]], [[4, 5, 6], [4]], [0, 1])
    assert batch.tgt_in.tolist() == [[BOS, 4, 5, 6], [BOS, 4, PAD, PAD]]
    assert batch.tgt_out.tolist() == [[4, 5, 6, EOS], [4, EOS, PAD, PAD]]
    assert batch.src_lengths.tolist() == [2, 1]
    assert batch.num_tokens == 6
