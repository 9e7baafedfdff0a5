"""Sampled softmax for the sequential models: the loss, its logQ correction, the models."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import torch

import pytest

from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.evaluator import evaluate
from ssl4rec.models.bert4rec import BERT4Rec
from ssl4rec.models.cl4srec import CL4SRec
from ssl4rec.models.nn.losses import sampled_softmax_loss
from ssl4rec.models.nn.sequential import seen_mask
from ssl4rec.models.sasrec import SASRec
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL as TINY
from ssl4rec.testing.synthetic import cycle_data, cycle_split
from ssl4rec.training.trainer import TrainConfig

CFG = TrainConfig(progress=False, num_threads=1)


def reference_loss(pos, neg, pos_items, neg_items, log_q=None):
    """Row by row, in plain Python: -log(e^p / (e^p + sum of non-hit e^n))."""
    total = 0.0
    for n in range(len(pos)):
        p = float(pos[n]) - (float(log_q[pos_items[n]]) if log_q is not None else 0.0)
        terms = [p]
        for k in range(len(neg_items)):
            if int(neg_items[k]) == int(pos_items[n]):
                continue  # accidental hit
            shift = float(log_q[neg_items[k]]) if log_q is not None else 0.0
            terms.append(float(neg[n, k]) - shift)
        top = max(terms)
        total += -(p - top - math.log(sum(math.exp(t - top) for t in terms)))
    return total / len(pos)


@pytest.mark.parametrize("corrected", [False, True])
def test_loss_and_gradient_match_a_row_by_row_reference(corrected):
    gen = torch.Generator().manual_seed(0)
    n_items, rows, k = 30, 7, 9
    pos = torch.randn(rows, generator=gen, dtype=torch.float64, requires_grad=True)
    neg = torch.randn(rows, k, generator=gen, dtype=torch.float64, requires_grad=True)
    pos_items = torch.randint(n_items, (rows,), generator=gen)
    neg_items = torch.randint(n_items, (k,), generator=gen)
    neg_items[2] = pos_items[0]  # an accidental hit in row 0
    neg_items[5] = neg_items[4]  # a repeated negative
    q = torch.rand(n_items, generator=gen, dtype=torch.float64) + 0.1
    log_q = (q / q.sum()).log() if corrected else None
    loss = sampled_softmax_loss(pos, neg, pos_items, neg_items, log_q)
    assert loss.item() == pytest.approx(
        reference_loss(pos.detach(), neg.detach(), pos_items, neg_items, log_q), rel=1e-12
    )
    # gradient against finite differences of the reference
    g_pos, g_neg = torch.autograd.grad(loss, (pos, neg))
    assert g_neg[0, 2] == 0.0  # the hit takes no part in row 0
    eps = 1e-6
    for n, kk in [(0, 0), (3, 4), (6, 8)]:
        bumped = neg.detach().clone()
        bumped[n, kk] += eps
        up = reference_loss(pos.detach(), bumped, pos_items, neg_items, log_q)
        bumped[n, kk] -= 2 * eps
        down = reference_loss(pos.detach(), bumped, pos_items, neg_items, log_q)
        assert float(g_neg[n, kk]) == pytest.approx((up - down) / (2 * eps), abs=1e-8)
    assert float(g_pos.sum()) < 0  # raising the targets lowers the loss


def test_uniform_correction_is_a_constant_shift():
    gen = torch.Generator().manual_seed(1)
    pos, neg = torch.randn(5, generator=gen), torch.randn(5, 6, generator=gen)
    pos_items, neg_items = torch.arange(5), torch.arange(5, 11)
    uniform = torch.full((11,), math.log(1 / 11))
    torch.testing.assert_close(
        sampled_softmax_loss(pos, neg, pos_items, neg_items, uniform),
        sampled_softmax_loss(pos, neg, pos_items, neg_items),
    )


def test_logq_correction_turns_popularity_samples_into_the_full_softmax():
    """With many popularity-drawn negatives, the corrected loss pushes each item down by
    its full-softmax probability; without the correction popular items get far more."""
    gen = torch.Generator().manual_seed(2)
    n_items, k = 40, 200_000
    scores = torch.randn(n_items, generator=gen, dtype=torch.float64)
    target = 0
    counts = torch.arange(1, n_items + 1, dtype=torch.float64) ** 2  # skewed popularity
    q = counts / counts.sum()
    neg_items = torch.multinomial(q, k, replacement=True, generator=gen)

    def weights(log_q):
        neg = scores[neg_items][None, :].clone().requires_grad_(True)  # (1, K)
        pos = scores[target : target + 1]
        loss = sampled_softmax_loss(pos, neg, torch.tensor([target]), neg_items, log_q)
        (grad,) = torch.autograd.grad(loss, neg)  # d loss / d score of each draw
        per_item = torch.zeros(n_items, dtype=torch.float64).index_add_(0, neg_items, grad[0])
        return per_item[1:] / per_item[1:].sum()  # share of the push-down per negative item

    full = torch.softmax(scores[1:], 0)  # the full softmax over the non-target items
    corrected, raw = weights(q.log()), weights(None)
    assert (corrected - full).abs().max() < 0.01
    assert (raw - full).abs().max() > 0.05  # uncorrected: tilted towards popular items


def test_sasrec_sampled_step_matches_a_dense_reference_with_seen_bias():
    data = cycle_data()
    model = SASRec(**TINY, epochs=1, loss="sampled_ce", num_negatives=5, seen_bias=True)
    model.fit(data, train_config=CFG)
    net = model.net
    with torch.no_grad():
        net.seen_bias.fill_(-0.5)  # a visible offset, so the seen items matter
    batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
    negatives = batch["negatives"]
    assert negatives.shape == (5,)
    batch["negatives"] = torch.cat([negatives[:4], negatives[:1]])  # force a repeat
    loss = model.training_step(batch)["loss"]
    table = net.items.table()  # (n, d)
    hidden, _ = net(batch["tokens"], table)  # (B, L, d)
    keep = batch["targets"] > 0
    rows, cols = keep.nonzero(as_tuple=True)
    tokens = batch["tokens"][rows]  # (N, L)
    n = net.items.num_items
    logits = hidden[keep] @ table.T + net.seen_offset() * seen_mask(
        tokens, model.visible_positions(tokens, cols), n
    )  # (N, n): the full logits with the offset, then the sampled columns
    target = batch["targets"][keep] - 1
    pos = logits.gather(1, target[:, None]).squeeze(1)
    reference = sampled_softmax_loss(pos, logits[:, batch["negatives"]], target, batch["negatives"])
    torch.testing.assert_close(loss, reference)
    (grad,) = torch.autograd.grad(loss, net.seen_bias)
    (expected,) = torch.autograd.grad(reference, net.seen_bias)
    torch.testing.assert_close(grad, expected)


def test_negatives_follow_the_chosen_distribution():
    data = cycle_data()
    counts = data.item_counts
    for sampling in ("uniform", "popularity"):
        model = SASRec(**TINY, loss="sampled_ce", num_negatives=4000, negative_sampling=sampling)
        model.build(data)
        drawn = model.sample_negatives(torch.Generator().manual_seed(0)).numpy()
        freq = np.bincount(drawn, minlength=data.num_items) / len(drawn)
        expected = (
            counts / counts.sum() if sampling == "popularity" else (counts > 0) / (counts > 0).sum()
        )
        assert np.abs(freq - expected).max() < 0.02
        assert freq[counts == 0].sum() == 0


@pytest.mark.parametrize("sampling", ["uniform", "popularity"])
def test_sasrec_learns_the_planted_sequence_with_sampled_softmax(sampling):
    split = cycle_split()
    model = SASRec(
        **TINY,
        epochs=12,
        loss="sampled_ce",
        num_negatives=6,
        negative_sampling=sampling,
        pad_to_longest=sampling == "popularity",  # both batch layouts learn it
    ).fit(split.train, valid=split.valid, train_config=CFG)
    ndcg = evaluate(model, split, part="test", metrics=("ndcg@10",)).metrics["ndcg@10"]
    assert ndcg > 0.8  # Pop about 0.44, full-softmax SASRec about 1.0 on this cycle


@pytest.mark.parametrize("model_class", [BERT4Rec, CL4SRec])
def test_other_sequential_models_train_with_sampled_softmax(model_class):
    data = cycle_data()
    model = model_class(**TINY, epochs=1, loss="sampled_ce", num_negatives=4, pad_to_longest=True)
    model.fit(data, train_config=CFG)
    batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
    assert batch["negatives"].shape == (4,)
    assert torch.isfinite(model.training_step(batch)["loss"])


def test_bce_is_sasrec_only_and_bad_settings_are_named():
    with pytest.raises(ConfigError, match="loss"):
        BERT4Rec(**TINY, loss="bce")
    with pytest.raises(ConfigError, match="num_negatives") as err:
        SASRec(**TINY, loss="sampled_ce", num_negatives=0, negative_sampling="zipf")
    assert "negative_sampling" in str(err.value)


@pytest.mark.parametrize("model_class", [SASRec, CL4SRec])
@pytest.mark.parametrize("loss", ["ce", "sampled_ce"])
def test_padding_to_the_longest_window_leaves_the_loss_unchanged(model_class, loss):
    """Right-aligned positions and masked padding: trimming left padding is exact."""
    data = cycle_data(num_users=40, length=5)  # windows shorter than max_seq_len
    losses = []
    for trim in (False, True):
        model = model_class(**TINY, loss=loss, num_negatives=4, pad_to_longest=trim)
        model.build(data)
        model.net.eval()  # dropout 0 in TINY; eval for good measure
        batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
        assert batch["tokens"].shape[1] == (4 if trim else 8)
        losses.append(model.training_step(batch)["loss"])
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)


def varied_lengths(num_users: int = 80) -> Interactions:
    """User u has 2 + u % 7 events, so training windows have 1 to 7 inputs."""
    rows = [(f"u{u}", f"i{(u + t) % 12}", t) for u in range(num_users) for t in range(2 + u % 7)]
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "ts"], orient="row")
    return Interactions.from_frame(frame, time_col="ts")


@pytest.mark.parametrize("model_class", [SASRec, BERT4Rec, CL4SRec])
def test_grouping_by_length_keeps_every_window_and_pads_less(model_class):
    data = varied_lengths()
    rows, padded = [], []
    for group in (False, True):
        model = model_class(**{**TINY, "batch_size": 4}, pad_to_longest=True, group_by_length=group)
        model.build(data)
        batches = list(model.batches(data, torch.Generator().manual_seed(0)))
        lengths = [(b["tokens"] > 0).sum(1) for b in batches]  # real positions per row
        # each window once: the rows' lengths (and, where unmasked, their targets) as a multiset
        key = "tokens" if model_class is BERT4Rec else "targets"
        rows.append(
            sorted(
                (int(n), tuple(row[row > 0].tolist()) if key == "targets" else ())
                for b, n_row in zip(batches, lengths, strict=True)
                for n, row in zip(n_row, b[key], strict=True)
            )
        )
        padded.append(sum(b["tokens"].numel() for b in batches))
        if group:  # the pool is the whole data: a batch spans two adjacent lengths at most
            assert max(int(n.max() - n.min()) for n in lengths) <= 1
    assert rows[0] == rows[1]
    assert len(rows[0]) == len(data.sequences())
    assert padded[1] < 0.8 * padded[0]


def test_grouping_by_length_needs_padding_to_the_longest():
    with pytest.raises(ConfigError, match="group_by_length"):
        SASRec(**TINY, group_by_length=True)


def test_grouped_batches_weigh_every_position_as_mixed_batches_do():
    """Σ scale × batch mean = the epoch's summed position losses / mean positions per batch."""
    data = varied_lengths()
    totals = []
    for group in (False, True):
        model = SASRec(**{**TINY, "batch_size": 4}, pad_to_longest=True, group_by_length=group)
        model.build(data)
        model.net.eval()
        batches = list(model.batches(data, torch.Generator().manual_seed(0)))
        with torch.no_grad():
            losses = [model.training_step(b)["loss"] for b in batches]
        positions = [int((b["targets"] > 0).sum()) for b in batches]
        if group:
            scales = torch.stack([b["scale"] for b in batches])
            assert float(scales.mean()) == pytest.approx(1.0)
            mean = sum(positions) / len(batches)
            torch.testing.assert_close(scales, torch.tensor(positions) / mean)
            totals.append(float(sum(losses)) * sum(positions) / len(batches))
        else:
            assert "scale" not in batches[0]
            totals.append(sum(float(x) * n for x, n in zip(losses, positions, strict=True)))
    assert totals[1] == pytest.approx(totals[0], rel=1e-5)
