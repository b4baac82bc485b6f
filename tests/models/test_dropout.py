"""s2s.models.dropout: masks drawn in pieces on every core, the same for every thread count."""

import pytest
import torch

from s2s.models.dropout import MAX_PIECES, PIECE, Dropout, dropout, keep_mask


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("numel", [7, PIECE * 3 + 5, PIECE * MAX_PIECES * 2 + 1])
def test_mask_depends_on_seed_not_threads(numel, threads):
    masks = []
    for count in (1, 2, 1):
        torch.set_num_threads(count)
        torch.manual_seed(3)
        masks.append(keep_mask(torch.Size([numel]), 0.3))
    assert torch.equal(masks[0], masks[1]) and torch.equal(masks[1], masks[2])
    torch.manual_seed(4)
    assert numel < 100 or not torch.equal(keep_mask(torch.Size([numel]), 0.3), masks[0])


def test_keep_rate_and_pieces_differ():
    torch.manual_seed(0)
    numel = PIECE * 4
    mask = keep_mask(torch.Size([numel]), 0.3)
    assert mask.dtype == torch.bool and mask.shape == (numel,)
    assert abs(mask.float().mean().item() - 0.7) < 0.005  # 262,144 draws: the standard error is 0.0009
    quarters = mask.view(4, PIECE)
    assert not torch.equal(quarters[0], quarters[1])  # each piece has its own generator and seed


def test_forward_and_gradient():
    torch.manual_seed(1)
    x = torch.randn(40, 30, 20, requires_grad=True)
    torch.manual_seed(2)
    y = dropout(x, 0.25, training=True)
    torch.manual_seed(2)
    mask = keep_mask(x.shape, 0.25)
    assert torch.equal(y == 0, ~mask)
    assert torch.allclose(y, torch.where(mask, x / 0.75, torch.zeros(())), rtol=1e-6, atol=0)
    y.backward(torch.full_like(y, 3.0))
    assert torch.allclose(x.grad, mask.float() * 4.0)


def test_identity_in_eval_and_at_zero():
    x = torch.randn(5, 6)
    module = Dropout(0.5).eval()
    assert module(x) is x
    assert dropout(x, 0.0, training=True) is x
    assert torch.equal(dropout(x, 1.0, training=True), torch.zeros_like(x))
    assert "p=0.5" in repr(Dropout(0.5))


def test_bf16_keeps_dtype():
    x = torch.randn(64, 64, dtype=torch.bfloat16)
    y = dropout(x, 0.5, training=True)
    assert y.dtype == torch.bfloat16
    assert set(torch.unique(y[y != 0] / x[y != 0]).float().tolist()) == {2.0}


def test_a_forked_child_gets_a_pool_of_its_own(threads):
    import multiprocessing

    from s2s.models import dropout as module

    torch.set_num_threads(2)
    parent = module._drawing_pool()
    assert module._drawing_pool() is parent  # kept while nothing changes
    with multiprocessing.get_context("fork").Pool(1) as pool:
        # the child inherits the parent's pool object but not its threads: submitting to it would wait forever
        assert pool.apply_async(_pool_in_child, (id(parent),)).get(timeout=60) == (True, 7)
    torch.set_num_threads(1)
    assert module._drawing_pool() is not parent  # a new thread count, a new pool


def _pool_in_child(parent_id: int):
    from s2s.models import dropout as module

    pool = module._drawing_pool()
    return id(pool) != parent_id, pool.submit(lambda: 7).result(timeout=10)
