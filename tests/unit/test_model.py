"""The network is autoregressive in the order it is given, and samples reproducibly."""

import pytest
import torch

from duck_synth.model import BatchModel, ModelConfig, order_ranks


def make():
    torch.manual_seed(0)
    cfg = ModelConfig(context_cards=(4, 3), target_cards=(5, 6, 6, 2), target_groups=(0, 1, 1, 2), hidden=16)
    return BatchModel(cfg).eval()


def test_target_logits_ignore_later_targets():
    net = make()
    ranks = order_ranks(net.cfg.target_groups, [2, 0, 1])  # column 2 first, then 0, then 1
    tokens = torch.tensor([[1, 2, 3, 4, 5, 1]])
    base = net(tokens, ranks)
    changed = tokens.clone()
    changed[0, 2 + 1] = 0  # a sub-column of column 1, which comes last
    after = net(changed, ranks)
    for j in (0, 3):  # columns 0 and 2 come before column 1: unaffected
        assert torch.allclose(base[0, j], after[0, j])
    assert not torch.allclose(base[0, 2], after[0, 2])  # column 1's second sub-column sees its first


def test_sampling_is_reproducible_and_respects_given_values():
    net = make()
    ctx = torch.randint(0, 3, (256, 2))
    a = net.sample(ctx, torch.Generator().manual_seed(1))
    b = net.sample(ctx, torch.Generator().manual_seed(1))
    c = net.sample(ctx, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    given = torch.zeros(256, 4, dtype=torch.long)
    given[:, 3] = 1
    mask = torch.tensor([False, False, False, True])
    out = net.sample(ctx, torch.Generator().manual_seed(1), given, mask, [2, 0, 1])
    assert (out[:, 3] == 1).all()
    assert (out < torch.tensor(net.cfg.target_cards)).all()


def test_sampled_tokens_follow_the_networks_own_conditionals():
    """The fast sampler (value tables, cut heads, shared prefix states) draws from forward()'s softmax."""
    torch.manual_seed(0)
    net = BatchModel(ModelConfig(context_cards=(), target_cards=(3, 4), target_groups=(0, 1), hidden=16)).eval()
    for p in net.parameters():
        p.data.mul_(4)  # peaked, distinct conditionals
    out = net.sample(torch.zeros(60_000, 0, dtype=torch.long), torch.Generator().manual_seed(0))
    ranks = order_ranks(net.cfg.target_groups, [0, 1])
    for first in range(3):
        probs = torch.softmax(net(torch.tensor([[first, 0]]), ranks)[0], dim=-1)
        rows = out[out[:, 0] == first]
        assert abs(len(rows) / len(out) - probs[0, first].item()) < 0.01
        if len(rows) > 2000:
            seen = torch.bincount(rows[:, 1], minlength=4).float() / len(rows)
            assert torch.allclose(seen, probs[1, :4], atol=0.03)


def test_shared_prefix_states_give_the_same_tokens_as_one_state_per_row(monkeypatch):
    from duck_synth import model

    torch.manual_seed(0)
    net = BatchModel(ModelConfig(context_cards=(), target_cards=(5, 6, 6, 2), target_groups=(0, 1, 1, 2),
                                 hidden=16)).eval()
    none = torch.zeros(4096, 0, dtype=torch.long)
    shared = net.sample(none, torch.Generator().manual_seed(3))
    monkeypatch.setattr(model, "TREE_STATES", 0)
    assert torch.equal(net.sample(none, torch.Generator().manual_seed(3)), shared)


def test_row_slices_and_cached_tables_do_not_change_the_tokens(monkeypatch):
    from duck_synth import model

    net = make()
    ctx = torch.randint(0, 3, (1000, 2))
    whole = net.sample(ctx, torch.Generator().manual_seed(5))
    monkeypatch.setattr(model, "SLICE_ROWS", 97)  # many slices, the last one short
    assert torch.equal(net.sample(ctx, torch.Generator().manual_seed(5)), whole)
    # new weights (as load_state_dict writes them) replace the cached input tables
    other = BatchModel(net.cfg).eval()
    net.load_state_dict(other.state_dict())
    assert torch.equal(net.sample(ctx, torch.Generator().manual_seed(5)),
                       other.sample(ctx, torch.Generator().manual_seed(5)))


def test_logits_too_large_or_too_small_for_exp_fall_back_to_the_shifted_softmax():
    """On CPU the sampler skips the per-row max; rows whose exp overflows or all underflows are
    redrawn from max-shifted logits, so a constant shift of one target's logits changes nothing."""
    torch.manual_seed(0)
    cfg = ModelConfig(context_cards=(4,), target_cards=(5, 7), target_groups=(0, 1), hidden=16)
    net = BatchModel(cfg).eval()
    ctx = torch.randint(0, 4, (3000, 1))
    plain = net.sample(ctx, torch.Generator().manual_seed(4))
    for shift in (500.0, -500.0):  # exp overflows to inf / every exp underflows to 0
        shifted = BatchModel(cfg).eval()
        shifted.load_state_dict(net.state_dict())
        with torch.no_grad():
            shifted.head_b[1, :7] += shift
        out = shifted.sample(ctx, torch.Generator().manual_seed(4))
        assert (out[:, 1] < 7).all() and torch.equal(out[:, 0], plain[:, 0])
        assert (out[:, 1] == plain[:, 1]).float().mean() > 0.995  # same draws; rounding may move a boundary


def test_row_i_draws_the_same_tokens_whatever_the_number_of_rows():
    net = make()
    ctx = torch.randint(0, 3, (700, 2))
    whole = net.sample(ctx, torch.Generator().manual_seed(8))
    assert torch.equal(net.sample(ctx[:250], torch.Generator().manual_seed(8)), whole[:250])


def test_parts_sample_as_separate_calls_would_in_one_pass():
    """A GPU samples several blocks in one pass: each part draws its own key, so its rows are those
    a call of its own gives, with context or without (the shared-prefix states)."""
    no_context = BatchModel(ModelConfig((), (3, 4, 5), (0, 1, 2), hidden=16)).eval()
    for net, ctx in ((make(), torch.randint(0, 3, (700, 2))), (no_context, torch.zeros(700, 0, dtype=torch.long))):
        alone = [net.sample(ctx[:300], torch.Generator().manual_seed(1)),
                 net.sample(ctx[300:], torch.Generator().manual_seed(2))]
        parts = [(torch.Generator().manual_seed(1), 300), (torch.Generator().manual_seed(2), 400)]
        assert torch.equal(net.sample(ctx, None, parts=parts), torch.cat(alone))
    with pytest.raises(ValueError, match="parts cover 300 rows, the context 700"):
        net.sample(ctx, None, parts=parts[:1])
