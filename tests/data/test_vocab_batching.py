import numpy as np
import pytest
import torch

from s2s.data.batching import gather_batch, make_batch, token_batches
from s2s.data.token_ids import TokenIds
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
    batches = token_batches([len(s) for s in src], [len(t) for t in tgt], batch_tokens=300, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(500))
    for b in batches:
        longest = max(max(len(src[i]), len(tgt[i])) + 1 for i in b)
        assert len(b) == 1 or longest * len(b) <= 300
    padded = sum(max(len(tgt[i]) + 1 for i in b) * len(b) for b in batches)
    real = sum(len(t) + 1 for t in tgt)
    assert 1 - real / padded < 0.10  # length bucketing keeps target padding under 10 %


def as_lists(batches):
    return [batch.tolist() for batch in batches]


def test_token_batches_differ_by_seed_and_repeat_with_it():
    lengths = [i % 7 + 1 for i in range(200)]
    assert as_lists(token_batches(lengths, lengths, 100, seed=1)) == as_lists(token_batches(lengths, lengths, 100, seed=1))
    assert as_lists(token_batches(lengths, lengths, 100, seed=1)) != as_lists(token_batches(lengths, lengths, 100, seed=2))


def reference_token_batches(src_ids, tgt_ids, batch_tokens, seed=None):
    """token_batches as it was before the data cache: a Python loop over lists of lists (issue 16 keeps its batches)."""
    order = list(range(len(src_ids)))
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(order), generator=generator).tolist()
    order.sort(key=lambda i: (len(tgt_ids[i]), len(src_ids[i])))
    batches, current, longest = [], [], 0
    for i in order:
        length = max(len(tgt_ids[i]), len(src_ids[i])) + 1
        if current and max(longest, length) * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    if current:
        batches.append(current)
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


@pytest.mark.parametrize("pairs, longest, batch_tokens, seed", [
    (2000, 60, 400, 7), (2000, 60, 400, None), (3000, 120, 4000, 1001), (500, 300, 100, 3), (1, 5, 10, 2), (0, 5, 10, 2),
    (700, 3, 7, 5),
])
def test_token_batches_are_those_of_the_reference_loop(pairs, longest, batch_tokens, seed):
    """Random lengths (source and target independent, so a wide source can follow a narrow one in a batch),
    budgets that fit many pairs, a few, or fewer than one (a pair alone is over the budget)."""
    rng = np.random.default_rng(pairs + longest)
    src_lengths, tgt_lengths = rng.integers(0, longest, pairs), rng.integers(1, longest, pairs)
    src, tgt = [[4] * n for n in src_lengths], [[5] * n for n in tgt_lengths]
    expected = reference_token_batches(src, tgt, batch_tokens, seed)
    assert as_lists(token_batches(src_lengths, tgt_lengths, batch_tokens, seed)) == expected


def test_gathered_batches_equal_batches_made_from_lists():
    rng = np.random.default_rng(0)
    src = [rng.integers(4, 70000, n).tolist() for n in rng.integers(0, 9, 50)]  # ids beyond uint16: int32 storage
    tgt = [rng.integers(4, 300, n).tolist() for n in rng.integers(1, 9, 50)]
    src_ids, tgt_ids = TokenIds.from_lists(src, vocab_size=70000), TokenIds.from_lists(tgt, vocab_size=300)
    assert (src_ids.ids.dtype, tgt_ids.ids.dtype) == (np.int32, np.uint16)
    indices = [7, 3, 41, 0, 19]
    gathered = gather_batch(src_ids, tgt_ids, np.array(indices))
    made = make_batch([src[i] for i in indices], [tgt[i] for i in indices], indices)
    for name in ("src", "src_lengths", "tgt_in", "tgt_out"):
        assert torch.equal(getattr(gathered, name), getattr(made, name)), name
    assert gathered.indices == indices and gathered.src.dtype == torch.long


def test_token_ids_behave_as_the_lists_they_hold():
    lists = [[4, 5], [], [6, 7, 8]]
    ids = TokenIds.from_lists(lists)
    assert len(ids) == 3 and list(ids) == lists and ids[-1] == [6, 7, 8] and ids == lists
    assert ids.lengths.tolist() == [2, 0, 3] and ids == TokenIds.from_lists(lists) and ids != TokenIds.from_lists(lists[:2])


def test_make_batch_shifts_targets():
    batch = make_batch([[7, 8], [9]], [[4, 5, 6], [4]], [0, 1])
    assert batch.tgt_in.tolist() == [[BOS, 4, 5, 6], [BOS, 4, PAD, PAD]]
    assert batch.tgt_out.tolist() == [[4, 5, 6, EOS], [4, EOS, PAD, PAD]]
    assert batch.src_lengths.tolist() == [2, 1]
    assert batch.num_tokens == 6
