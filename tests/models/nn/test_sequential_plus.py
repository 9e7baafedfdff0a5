"""Options of the shared sequential base: gBCE, the DuoRec term, the BSARec filter, AdamW,
label smoothing, the LiGR block, cosine scoring. Each: shapes and gradients, and one defining property."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import pytest

from ssl4rec.errors import ConfigError
from ssl4rec.evaluation.evaluator import evaluate
from ssl4rec.models.base import load_model
from ssl4rec.models.bert4rec import BERT4Rec
from ssl4rec.models.cl4srec import CL4SRec, info_nce
from ssl4rec.models.nn.filter import FrequencyFilter, low_pass_matrix
from ssl4rec.models.nn.losses import gbce_beta, gbce_loss, supervised_info_nce
from ssl4rec.models.nn.transformer import TransformerEncoder
from ssl4rec.models.sasrec import SASRec
from ssl4rec.testing.synthetic import TINY_SEQUENTIAL as TINY
from ssl4rec.testing.synthetic import cycle_data, cycle_split
from ssl4rec.training.trainer import TrainConfig

CFG = TrainConfig(progress=False, num_threads=1)


# ---------------------------------------------------------------------------- gBCE
def test_gbce_beta_spans_bce_to_calibrated():
    assert gbce_beta(256, 1001, 0.0) == pytest.approx(1.0)
    assert gbce_beta(256, 1001, 1.0) == pytest.approx(256 / 1000)
    alpha = 256 / 1000
    assert gbce_beta(256, 1001, 0.75) == pytest.approx(alpha * (0.75 * (1 - 1 / alpha) + 1 / alpha))


def test_gbce_with_beta_one_is_bce_and_beta_scales_the_positive_gradient():
    gen = torch.Generator().manual_seed(0)
    pos = torch.randn(6, generator=gen, dtype=torch.float64, requires_grad=True)
    neg = torch.randn(6, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    pos_items, neg_items = torch.arange(6), torch.arange(10, 14)  # no accidental hits
    bce = F.binary_cross_entropy_with_logits(
        torch.cat([pos[:, None], neg], dim=1),
        torch.cat([torch.ones(6, 1), torch.zeros(6, 4)], dim=1).double(),
    )
    torch.testing.assert_close(gbce_loss(pos, neg, pos_items, neg_items, 1.0), bce)
    (g_pos,) = torch.autograd.grad(gbce_loss(pos, neg, pos_items, neg_items, 0.3), pos)
    expected = -0.3 * (1 - torch.sigmoid(pos.detach())) / 5 / 6  # d/dpos of -β log σ / (1+K), mean
    torch.testing.assert_close(g_pos, expected)


def test_gbce_leaves_accidental_hits_out():
    pos, neg = torch.zeros(2), torch.full((2, 3), 5.0)
    pos_items, neg_items = torch.tensor([0, 1]), torch.tensor([0, 7, 8])
    loss = gbce_loss(pos, neg, pos_items, neg_items, 1.0)
    big = F.softplus(torch.tensor(5.0))  # -log(1 - σ(5))
    half = F.softplus(torch.tensor(0.0))  # -log σ(0)
    expected = ((half + 2 * big) + (half + 3 * big)) / 4 / 2
    torch.testing.assert_close(loss, expected)


@pytest.mark.parametrize("seen_bias", [False, True])
def test_sasrec_gbce_at_t_zero_is_sampled_bce_of_its_scores(seen_bias):
    data = cycle_data()
    model = SASRec(**TINY, loss="gbce", gbce_t=0.0, num_negatives=5, seen_bias=seen_bias)
    model.build(data)
    if seen_bias:
        with torch.no_grad():
            model.net.seen_bias.fill_(-0.5)  # a visible offset, so the seen items matter
    batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
    assert batch["negatives"].shape == (*batch["tokens"].shape, 5)  # per position
    loss = model.training_step(batch)["loss"]
    net = model.net
    hidden, _ = net(batch["tokens"], net.items.table())
    keep = batch["targets"] > 0
    logits = hidden[keep] @ net.items.table().T  # (N, n)
    if seen_bias:  # dense reference: an item is seen at p if it is among tokens[: p + 1]
        rows, cols = keep.nonzero(as_tuple=True)
        for n, (b, p) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
            for token in set(batch["tokens"][b, : p + 1].tolist()) - {0}:
                logits[n, token - 1] = logits[n, token - 1] + net.seen_offset()
    target, negatives = batch["targets"][keep] - 1, batch["negatives"][keep]  # (N,), (N, 5)
    pos, neg = logits.gather(1, target[:, None]), logits.gather(1, negatives)
    hit = negatives == target[:, None]
    terms = torch.cat([F.softplus(-pos), F.softplus(neg).masked_fill(hit, 0.0)], dim=1)
    torch.testing.assert_close(loss, terms.sum(1).mean() / 6)


def test_gbce_needs_uniform_negatives():
    with pytest.raises(ConfigError, match="negative_sampling"):
        SASRec(**TINY, loss="gbce", negative_sampling="popularity")
    with pytest.raises(ConfigError, match="gbce_t"):
        SASRec(**TINY, loss="gbce", gbce_t=1.5)


# ---------------------------------------------------------------------------- DuoRec
def test_supervised_info_nce_with_distinct_labels_is_nt_xent():
    gen = torch.Generator().manual_seed(1)
    z1, z2 = torch.randn(7, 5, generator=gen), torch.randn(7, 5, generator=gen)
    torch.testing.assert_close(
        supervised_info_nce(z1, z2, torch.arange(7), 0.5), info_nce(z1, z2, 0.5)
    )


def test_supervised_info_nce_counts_same_label_rows_as_positives():
    gen = torch.Generator().manual_seed(2)
    z1, z2 = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    labels = torch.tensor([0, 1, 0, 2])
    loss = supervised_info_nce(z1, z2, labels, 1.0)
    z, y = torch.cat([z1, z2]), torch.cat([labels, labels])
    total = 0.0
    for a in range(8):  # row by row
        others = [j for j in range(8) if j != a]
        positives = [j for j in others if y[j] == y[a]]
        top = torch.logsumexp(torch.stack([z[a] @ z[j] for j in positives]), 0)
        total += float(torch.logsumexp(torch.stack([z[a] @ z[j] for j in others]), 0) - top)
    assert float(loss) == pytest.approx(total / 8, rel=1e-5)


@pytest.mark.parametrize("model_class", [SASRec, BERT4Rec, CL4SRec])
def test_contrastive_term_zero_weight_is_the_plain_loss(model_class):
    data = cycle_data()
    losses = []
    for weight in (0.0, 0.7):
        model = model_class(**{**TINY, "dropout": 0.3}, contrastive_weight=weight)
        model.build(data)
        batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
        torch.manual_seed(0)  # the first pass's dropout draw
        losses.append(model.training_step(batch))
    plain, duo = losses
    assert "duo" not in plain and float(duo["duo"].detach()) > 0
    torch.testing.assert_close(duo["loss"], plain["loss"] + 0.7 * duo["duo"])


def test_contrastive_term_reaches_the_encoder_and_the_item_table():
    data = cycle_data()
    model = SASRec(**{**TINY, "dropout": 0.3}, contrastive_weight=1.0, contrastive_anchors=16)
    model.build(data)
    batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
    hidden, _ = model.net(batch["tokens"], model.net.items.table())
    duo = model.contrastive_loss(batch, hidden, model.net.items.table())
    assert duo is not None and duo.ndim == 0
    duo.backward()
    assert model.net.encoder.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert model.net.items.ids.weight.grad.abs().sum() > 0


# ---------------------------------------------------------------------------- BSARec filter
def test_low_pass_matrix_keeps_the_trend_and_drops_the_fastest_wave():
    m = low_pass_matrix(8, 2)
    torch.testing.assert_close(m @ torch.ones(8), torch.ones(8))
    alternating = torch.tensor([1.0, -1.0] * 4)
    torch.testing.assert_close(m @ alternating, torch.zeros(8), atol=1e-6, rtol=0)
    torch.testing.assert_close(low_pass_matrix(8, 5), torch.eye(8), atol=1e-6, rtol=0)


def test_causal_filter_is_the_window_filter_at_the_last_position_and_never_reads_ahead():
    causal = FrequencyFilter(4, 6, 2, causal=True).matrix
    full = FrequencyFilter(4, 6, 2, causal=False).matrix
    assert torch.equal(causal, causal.tril())
    torch.testing.assert_close(causal[-1], full[-1])
    # a history ending at position i gets the last position's filter of its left-padded window
    x = torch.randn(6)
    for i in range(6):
        shifted = torch.cat([torch.zeros(5 - i), x[: i + 1]])
        torch.testing.assert_close(causal[i] @ x, full[-1] @ shifted)


def test_filter_branch_with_zero_mix_is_the_attention_only_block():
    torch.manual_seed(0)
    mixed = TransformerEncoder(8, 2, 2, 16, 6, 0.0, causal=True, filter_mix=0.6).eval()
    plain = TransformerEncoder(8, 2, 2, 16, 6, 0.0, causal=True).eval()
    missing = plain.load_state_dict(mixed.state_dict(), strict=False)
    assert not missing.missing_keys and all("filter" in k for k in missing.unexpected_keys)
    tokens = torch.tensor([[0, 0, 3, 1, 4, 2], [5, 1, 2, 3, 4, 6]])
    vectors = torch.randn(2, 6, 8)
    with_filter = mixed(vectors, tokens)[0]
    for block in mixed.blocks:
        block.filter_mix = 0.0
    torch.testing.assert_close(mixed(vectors, tokens)[0], plain(vectors, tokens)[0])
    assert not torch.allclose(with_filter, plain(vectors, tokens)[0])


@pytest.mark.parametrize("causal", [True, False])
def test_encoder_with_filter_keeps_causality_and_trains_beta(causal):
    torch.manual_seed(0)
    enc = TransformerEncoder(8, 1, 2, 16, 6, 0.0, causal=causal, filter_mix=0.5)
    tokens = torch.tensor([[0, 2, 3, 1, 4, 2]])
    vectors = torch.randn(1, 6, 8)
    changed = vectors.clone()
    changed[0, -1] += torch.randn(8)  # the last item only
    out, out2 = enc(vectors, tokens)[0], enc(changed, tokens)[0]
    assert torch.allclose(out[0, :-1], out2[0, :-1], atol=1e-6) == causal
    # a weighted sum: a plain sum of LayerNorm-ed outputs has no gradient (up to rounding)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
    assert enc.blocks[0].filter.sqrt_beta.grad.abs().sum() > 1e-4
    # padding does not leak into real positions through the filter
    padded = vectors.clone()
    padded[0, 0] += 10.0
    torch.testing.assert_close(enc(padded, tokens)[0][0, 1:], enc(vectors, tokens)[0][0, 1:])


def test_filter_model_pads_to_the_longest_window_exactly_and_round_trips(tmp_path):
    data = cycle_data(num_users=40, length=5)
    losses = []
    for trim in (False, True):
        model = SASRec(**TINY, filter_mix=0.5, filter_keep=2, pad_to_longest=trim)
        model.build(data)
        model.net.eval()
        batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
        losses.append(model.training_step(batch)["loss"])
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-5, atol=1e-6)
    fitted = SASRec(**TINY, epochs=1, filter_mix=0.5).fit(data, train_config=CFG)
    fitted.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    hist = [np.array([1, 2, 3])]
    torch.testing.assert_close(loaded.score_history(hist), fitted.score_history(hist))


# ---------------------------------------------------------------------------- LiGR block
def test_ligr_block_gates_each_residual_branch_by_its_input():
    torch.manual_seed(0)
    enc = TransformerEncoder(8, 1, 2, 16, 6, 0.0, causal=True, block="ligr").eval()
    block = enc.blocks[0]
    x = torch.randn(2, 6, 8)
    tokens = torch.tensor([[0, 0, 3, 1, 4, 2], [5, 1, 2, 3, 4, 6]])
    allowed = enc.attention_mask(tokens)
    attn, _ = block.attn(block.norm1(x), allowed)
    mid = x + torch.sigmoid(block.gates[0](x)) * attn
    z = block.norm2(mid)
    ff = block.ff.down(F.silu(block.ff.gate(z)) * block.ff.up(z))
    torch.testing.assert_close(block(x, allowed)[0], mid + torch.sigmoid(block.gates[1](mid)) * ff)
    assert block.ff.gate.bias is None and block.ff.down.bias is None  # SwiGLU has no biases
    # still causal: the last item changes only the last position
    vectors = torch.randn(1, 6, 8)
    changed = vectors.clone()
    changed[0, -1] += torch.randn(8)  # (a constant shift would vanish in the input LayerNorm)
    out, out2 = enc(vectors, tokens[:1])[0], enc(changed, tokens[:1])[0]
    torch.testing.assert_close(out[0, :-1], out2[0, :-1])
    assert not torch.allclose(out[0, -1], out2[0, -1])
    # the default block has no gates (its numbers are unchanged by the option)
    assert TransformerEncoder(8, 1, 2, 16, 6, 0.0, causal=True).blocks[0].gates is None


def test_ligr_sasrec_round_trips_and_names_a_bad_block(tmp_path):
    data = cycle_data(num_users=40, length=5)
    fitted = SASRec(**TINY, epochs=1, block="ligr").fit(data, train_config=CFG)
    fitted.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    hist = [np.array([1, 2, 3])]
    torch.testing.assert_close(loaded.score_history(hist), fitted.score_history(hist))
    with pytest.raises(ConfigError, match="block"):
        SASRec(**TINY, block="mamba")


# ---------------------------------------------------------------------------- AdamW, label smoothing
def test_adamw_decays_matrices_and_embeddings_but_not_norms_or_biases():
    data = cycle_data()
    model = SASRec(**{**TINY, "learning_rate": 0.1}, adamw=True, weight_decay=0.5, seen_bias=True)
    model.build(data)
    opt = model.configure_optimizers()["model"]
    assert isinstance(opt, torch.optim.AdamW)
    net = model.net
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()  # zero gradients: only the decay moves anything
    after = dict(net.named_parameters())
    shrink = 1 - 0.1 * 0.5
    torch.testing.assert_close(after["items.ids.weight"], before["items.ids.weight"] * shrink)
    torch.testing.assert_close(after["encoder.positions.weight"], before["encoder.positions.weight"] * shrink)
    for name in ("encoder.final_norm.weight", "encoder.blocks.0.attn.qkv.bias", "seen_bias"):
        assert torch.equal(after[name], before[name]), name
    assert isinstance(SASRec(**TINY).fit(data, train_config=CFG).configure_optimizers()["model"], torch.optim.Adam)


def _first_step(**options):
    """Loss of SASRec's first training batch, with its hidden states and targets (0-based)."""
    data = cycle_data()
    model = SASRec(**TINY, **options)
    model.build(data)
    batch = next(iter(model.batches(data, torch.Generator().manual_seed(0))))
    loss = model.training_step(batch)["loss"]
    net = model.net
    hidden, _ = net(batch["tokens"], net.items.table())
    keep = batch["targets"] > 0
    return loss, hidden[keep], net.items.table(), batch["targets"][keep] - 1


def test_label_smoothing_is_the_smoothed_full_cross_entropy():
    loss, hidden, table, targets = _first_step(label_smoothing=0.2)
    logp = torch.log_softmax(hidden @ table.T, dim=1)  # (N, n)
    nll = -logp.gather(1, targets[:, None]).squeeze(1)
    torch.testing.assert_close(loss, (0.8 * nll - 0.2 * logp.mean(1)).mean())
    with pytest.raises(ConfigError, match="label_smoothing"):
        SASRec(**TINY, label_smoothing=1.0)
    with pytest.raises(ConfigError, match="label_smoothing"):
        SASRec(**TINY, label_smoothing=0.1, loss="sampled_ce")


# ---------------------------------------------------------------------------- cosine scoring
def test_score_temperature_trains_and_serves_cosine_over_tau(tmp_path):
    loss, hidden, table, targets = _first_step(score_temperature=0.1)
    cosine = F.normalize(hidden, dim=1) @ F.normalize(table, dim=1).T  # (N, n)
    torch.testing.assert_close(loss, F.cross_entropy(cosine / 0.1, targets))

    model = SASRec(**{**TINY, "epochs": 1}, score_temperature=0.1).fit(cycle_data(), train_config=CFG)
    histories = [np.array([0, 1, 2]), np.array([3])]
    queries, items = model.query_vectors(histories), model.item_vectors()
    np.testing.assert_allclose(np.linalg.norm(queries, axis=1), 10.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(items, axis=1), 1.0, rtol=1e-5)
    scores = model.score_history(histories).numpy()
    assert scores.max() <= 10.0 + 1e-4 and scores.min() >= -10.0 - 1e-4  # cos / τ
    np.testing.assert_allclose(scores, queries @ items.T, rtol=1e-5, atol=1e-5)
    model.save(tmp_path / "m")
    np.testing.assert_allclose(load_model(tmp_path / "m").score_history(histories).numpy(), scores, atol=1e-5)
    with pytest.raises(ConfigError, match="score_temperature"):
        SASRec(**TINY, score_temperature=-0.1)


# ---------------------------------------------------------------------------- every option learns
@pytest.mark.parametrize(
    ("options", "floor"),
    [
        ({"loss": "gbce", "num_negatives": 2}, 0.8),
        ({"contrastive_weight": 0.1}, 0.8),
        ({"filter_mix": 0.5, "filter_keep": 2}, 0.8),
        ({"adamw": True, "weight_decay": 0.01, "label_smoothing": 0.1}, 0.8),
        ({"block": "ligr"}, 0.8),
        ({"score_temperature": 0.1}, 0.8),
    ],
    ids=["gbce", "duorec", "bsarec", "adamw-ls", "ligr", "cosine"],
)
def test_sasrec_with_each_option_learns_the_planted_sequence(options, floor):
    split = cycle_split()
    model = SASRec(**{**TINY, "epochs": 12, **options}).fit(
        split.train, valid=split.valid, train_config=CFG
    )
    ndcg = evaluate(model, split, part="test", metrics=("ndcg@10",)).metrics["ndcg@10"]
    assert ndcg > floor  # Pop about 0.44, plain SASRec about 1.0 on this cycle


def test_bad_option_values_are_named():
    with pytest.raises(ConfigError) as err:
        SASRec(**TINY, contrastive_weight=-1, contrastive_anchors=1, filter_mix=2.0, filter_keep=0)
    for field in ("contrastive_weight", "contrastive_anchors", "filter_mix", "filter_keep"):
        assert field in str(err.value)
