"""Tests of the shared Transformer blocks, item encoder and windowing."""

from __future__ import annotations

import numpy as np
import torch

import pytest

from ssl4rec.models.nn.item_encoder import ItemEncoder, MoEAdaptor
from ssl4rec.models.nn.sequential import sequence_windows
from ssl4rec.models.nn.transformer import SelfAttention, TransformerEncoder, left_pad


def test_left_pad_keeps_most_recent_items_right_aligned():
    tokens = left_pad([np.array([5, 6, 7, 8]), np.array([], dtype=np.int64), np.array([3])], 3)
    assert tokens.tolist() == [[7, 8, 9], [0, 0, 0], [0, 0, 4]]


def test_left_pad_appends_token_after_truncation():
    tokens = left_pad([np.array([1, 2, 3, 4])], 3, append=99)
    assert tokens.tolist() == [[4, 5, 99]]
    assert left_pad([[]], 3, append=99).tolist() == [[0, 0, 99]]


@pytest.mark.parametrize("causal", [True, False])
def test_fully_padded_rows_give_finite_outputs(causal):
    torch.manual_seed(0)
    enc = TransformerEncoder(8, 2, 2, 16, 5, 0.0, causal=causal).eval()
    tokens = torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 3, 4]])
    out, attention = enc(torch.randn(2, 5, 8), tokens, return_attention=True)
    assert torch.isfinite(out).all()
    assert all(torch.isfinite(a).all() for a in attention)


def test_causal_attention_ignores_the_future():
    torch.manual_seed(0)
    enc = TransformerEncoder(8, 2, 2, 16, 4, 0.0, causal=True).eval()
    tokens = torch.tensor([[1, 2, 3, 4]])
    x = torch.randn(1, 4, 8)
    y = x.clone()
    y[0, 3] += torch.randn(8)  # change only the last position
    a, _ = enc(x, tokens)
    b, _ = enc(y, tokens)
    torch.testing.assert_close(a[0, :3], b[0, :3])
    assert not torch.allclose(a[0, 3], b[0, 3])


def test_attention_rows_sum_to_one_and_skip_padding():
    attn = SelfAttention(8, 2, 0.0).eval()
    allowed = torch.tensor([[True, True, False]]).expand(3, -1)[None]  # (1, 3, 3)
    x = torch.randn(1, 3, 8)
    with torch.no_grad():
        y, weights = attn(x, allowed, return_weights=True)
        fused, none = attn(x, allowed)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 2, 3))
    assert float(weights[..., 2].max()) < 1e-6
    assert none is None
    torch.testing.assert_close(fused, y)  # the fused kernel computes the same thing


def test_windows_cover_every_next_item_pair_once():
    seq = np.arange(10)
    wins = sequence_windows([seq, np.array([1]), np.array([])], length=4, step=3)
    pairs = [(int(w[i]), int(w[i + 1])) for w in wins for i in range(len(w) - 1)]
    assert sorted(pairs) == [(i, i + 1) for i in range(9)]
    assert all(len(w) <= 4 for w in wins)


def test_disjoint_windows_for_cloze():
    wins = sequence_windows([np.arange(7)], length=3, step=3)
    # windows shorter than 2 items are dropped (item 0 would stand alone)
    assert sorted(int(x) for w in wins for x in w) == list(range(1, 7))


def test_moe_adaptor_shapes_and_gradients():
    adaptor = MoEAdaptor(12, 6, 4, 0.0)
    out = adaptor(torch.randn(5, 12))
    assert out.shape == (5, 6)
    out.sum().backward()
    assert adaptor.weight.grad is not None and adaptor.gate.weight.grad is not None


@pytest.mark.parametrize("mode", ["id", "id+text", "text"])
def test_item_encoder_modes(mode):
    text = torch.randn(4, 12)
    trained = torch.tensor([True, True, True, False])
    enc = ItemEncoder(4, 6, mode, text=text, trained=trained, num_experts=2)
    table = enc.table()
    assert table.shape == (4, 6)
    vectors = enc.embed(torch.tensor([[0, 1, 5]]), table)  # pad, item 0, [MASK]
    assert torch.equal(vectors[0, 0], torch.zeros(6))
    torch.testing.assert_close(vectors[0, 2], enc.mask_token)
    if mode == "id":
        assert torch.equal(table[3], torch.zeros(6))  # no training events, no vector
    else:
        assert float(table[3].detach().abs().sum()) > 0  # the text still represents it


def test_item_encoder_requires_text_for_text_modes():
    with pytest.raises(ValueError, match="needs text vectors"):
        ItemEncoder(4, 6, "text")


def test_dropout_keeps_each_element_with_probability_1_minus_p_and_rescales():
    from ssl4rec.models.nn.dropout import Dropout

    drop = Dropout(0.2)
    x = torch.ones(200_000, requires_grad=True)
    torch.manual_seed(0)
    y = drop(x)
    kept = y != 0
    assert abs(float(kept.float().mean()) - 0.8) < 0.005
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1.25))
    y.sum().backward()  # the gradient flows through kept elements only, rescaled
    torch.testing.assert_close(x.grad, kept.float() * 1.25)
    drop.eval()
    assert drop(x) is x
    assert Dropout(0.0)(x) is x
    with pytest.raises(ValueError, match="Dropout.p"):
        Dropout(1.0)


def test_attention_with_dropout_matches_the_fused_kernel_without_it():
    torch.manual_seed(0)
    attn = SelfAttention(8, 2, dropout=0.5)
    x = torch.randn(3, 5, 8)
    allowed = torch.ones(3, 5, 5, dtype=torch.bool).tril()
    allowed[0] = False  # a fully masked row stays finite on both paths
    attn.eval()
    fused, _ = attn(x, allowed)
    explicit, weights = attn(x, allowed, return_weights=True)
    torch.testing.assert_close(fused, explicit)
    attn.train()
    dropped, none = attn(x, allowed)  # explicit weights with dropout, none returned
    assert none is None and torch.isfinite(dropped).all()
    assert not torch.allclose(dropped, fused)
