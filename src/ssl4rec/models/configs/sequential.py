"""Config fields shared by the Transformer sequential models; importing it imports no torch.

``SequentialConfig`` is the base of SASRec's, BERT4Rec's and CL4SRec's configs (the
models share ``ssl4rec.models.nn.sequential``); ``ItemRepr`` and ``ITEM_REPRS`` name
the item representations that ``ssl4rec.models.nn.item_encoder`` builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from typing_extensions import override

from ssl4rec.config.base import Checks
from ssl4rec.models.config import GradientConfig

__all__ = ["BLOCKS", "ID_INITS", "ITEM_REPRS", "NEGATIVE_SAMPLINGS", "ItemRepr", "SequentialConfig"]

ItemRepr = Literal["id", "id+text", "text"]
ITEM_REPRS: tuple[str, ...] = ("id", "id+text", "text")
ID_INITS: tuple[str, ...] = ("random", "text")
"""How ID vectors start (``SequentialConfig.id_init``)."""
NEGATIVE_SAMPLINGS: tuple[str, ...] = ("uniform", "popularity")
BLOCKS: tuple[str, ...] = ("transformer", "ligr")
"""Transformer block kinds (``SequentialConfig.block``)."""
LENGTH_POOL = 50
"""Batches per pool that ``group_by_length`` sorts by window length."""


@dataclass(frozen=True, kw_only=True)
class SequentialConfig(GradientConfig):
    """Fields shared by the Transformer sequential models."""

    renamed_fields: ClassVar[dict[str, str]] = {"hidden_dim": "embedding_dim"}
    """Former field names -> current ones (``from_dict`` names the new one)."""
    losses: ClassVar[tuple[str, ...]] = ("ce", "sampled_ce", "gbce")
    """Values ``loss`` may take for this model."""

    max_seq_len: int = 50
    """Window length L: the most recent L items of a history are used."""
    embedding_dim: int = 64
    """Width d of item vectors and hidden states."""
    num_layers: int = 2
    """Transformer blocks."""
    num_heads: int = 2
    """Attention heads per block (must divide embedding_dim)."""
    ff_dim: int = 256
    """Hidden width of the feed-forward layers."""
    dropout: float = 0.2
    """Dropout on inputs, attention weights and residual branches, in [0, 1)."""
    batch_size: int = 128
    """Sequence windows per training step."""
    item_repr: ItemRepr = "id"
    """``id``, ``id+text`` (ID + MoE adaptor of text vectors) or ``text`` (inductive)."""
    text_encoder: str = "all-MiniLM-L6-v2"
    """Sentence-transformers model (name or local path) that ``ssl4rec.runner`` encodes
    item text with; a model built in Python gets its vectors through ``item_text``."""
    text_template: str | None = None
    """Item-text template name or format string (runner); null = the ``default`` template."""
    text_cache_dir: str | None = None
    """Embedding cache root (runner); null = ``$SSL4REC_HOME/embeddings`` or the user cache."""
    num_experts: int = 8
    """Experts of the MoE text adaptor."""
    adaptor_dropout: float = 0.1
    """Dropout on text vectors inside the adaptor, in [0, 1)."""
    id_dropout: float = 0.0
    """``id+text`` only: chance per item and training step that the loss scores it by
    text + a learned unknown-item vector instead of text + its ID vector (inputs keep
    their IDs); items without training events (cold items) always get that vector.
    In [0, 1)."""
    id_init: Literal["random", "text"] = "random"
    """How ID vectors start: ``random`` (normal, std 0.02) or ``text``, the item text
    vectors' principal components (the first ``embedding_dim``, scaled to the same
    std; Harte et al., RecSys 2023, initialise SASRec's and BERT4Rec's item
    embeddings this way). ``text`` with ``item_repr: id`` reads the item text to
    initialise only; the saved model holds no text."""
    loss: Literal["ce", "sampled_ce", "gbce", "bce"] = "ce"
    """Next-item loss at every predicting position: ``ce``, softmax cross-entropy over
    all items; ``sampled_ce``, softmax cross-entropy over the target and
    ``num_negatives`` items drawn once per batch and shared by all its positions
    (evaluation still ranks all items); ``gbce``, generalised binary cross-entropy
    over the target and the same shared negatives (gSASRec, Petrov & Macdonald,
    RecSys 2023; see ``gbce_t``); ``bce`` (SASRec only), the original sampled
    binary cross-entropy with one uniform negative per position."""
    num_negatives: int = 256
    """``sampled_ce`` and ``gbce``: negatives drawn per batch (with replacement); > 0."""
    gbce_t: float = 0.75
    """``gbce``: calibration t in [0, 1]; the positive term is raised to the power
    ``β = α (t (1 − 1/α) + 1/α)``, ``α = num_negatives / (items − 1)``. ``t = 0`` is
    plain sampled BCE, ``t = 1`` makes the scores calibrated to the full catalog
    (gSASRec's default 0.75)."""
    label_smoothing: float = 0.0
    """``ce``: label smoothing ε of the full softmax cross-entropy (Szegedy et al.,
    CVPR 2016): the target gets ``1 − ε`` and every candidate ``ε / n`` more; in [0, 1)."""
    contrastive_weight: float = 0.0
    """λ of a DuoRec-style contrastive term added to the next-item loss (Qiu et al.,
    WSDM 2022): the hidden states of sampled predicting positions under two dropout
    draws of the same batch are positives, and so are positions of the batch with
    the same target item; every other position of the batch is a negative (InfoNCE
    over dot products). 0 turns it off (no second encoder pass); ≥ 0."""
    contrastive_temperature: float = 1.0
    """τ of the contrastive term (DuoRec's default 1 over dot products); > 0."""
    contrastive_anchors: int = 256
    """Predicting positions per batch (drawn at random) the contrastive term compares; > 1."""
    filter_mix: float = 0.0
    """BSARec's α (Shin et al., AAAI 2024): every block mixes a Fourier low-pass filter
    of the window (plus its high frequencies times a learned β) with attention as
    ``α · filter + (1 − α) · attention``; causal for next-item models. 0 = attention
    only (no filter built); in [0, 1]."""
    filter_keep: int = 3
    """Low frequencies the ``filter_mix`` filter keeps (BSARec's ``c // 2 + 1``); > 0."""
    block: Literal["transformer", "ligr"] = "transformer"
    """``transformer``: pre-LayerNorm blocks with a GELU feed-forward and plain residuals;
    ``ligr``: the layer of eSASRec (LiGR, Gao et al., arXiv:2502.03417): each residual
    branch is gated by ``σ(W x + b)`` of the block's input and the feed-forward is
    SwiGLU (width ``ff_dim``, no biases)."""
    adamw: bool = False
    """Decoupled weight decay (AdamW, Loshchilov & Hutter, ICLR 2019) instead of Adam's
    L2 penalty: ``weight_decay`` shrinks the weight matrices and embeddings (item and
    position) at the learning rate's pace, and never biases, LayerNorm gains, the
    ``seen_bias`` scalar or the filters' β."""
    negative_sampling: Literal["uniform", "popularity"] = "uniform"
    """``sampled_ce`` and ``gbce``: ``uniform`` over the items with training events, or
    ``popularity`` (proportional to their training events) with the logQ correction
    (log q subtracted from every logit, Yi et al., RecSys 2019)."""
    pad_to_longest: bool = False
    """Pad each training batch to its longest window instead of ``max_seq_len``.
    Positions are right-aligned and padding is masked, so the model is the same; on
    short histories the encoder does a fraction of the work (the dropout draws, and so
    a seeded run's numbers, differ from padding to ``max_seq_len``)."""
    group_by_length: bool = False
    """With ``pad_to_longest``: make each training batch from windows of similar length
    (the shuffled windows are cut into pools of ``LENGTH_POOL`` batches, each pool is
    sorted by length and cut into batches, and the batches are shuffled), so batches
    of short windows are short. Each batch's mean loss is scaled by its predicting
    positions over the epoch's mean per batch, so every position keeps the weight it
    has in mixed batches; a batch is still no longer a uniform draw of windows."""
    score_temperature: float = 0.0
    """0: an item's score is the dot product of the query (the position's hidden state)
    and its vector. > 0: their cosine similarity divided by this temperature τ, in
    training and in serving alike (UniSRec's scoring, Hou et al., KDD 2022, τ = 0.07):
    vector lengths no longer carry popularity, and τ sets how peaked the softmax is.
    ≥ 0."""
    seen_bias: bool = False
    """Learn one scalar added to the score of every item already in the input window:
    repeat-aware scoring (it turns negative where users do not repeat items, as on
    MovieLens, and positive where they do, as in listening logs)."""

    @override
    def validate(self, checks: Checks) -> None:
        super().validate(checks)
        if self.max_seq_len < 2:
            checks.fail("max_seq_len", "≥ 2", self.max_seq_len)
        checks.positive_fields(
            self, "embedding_dim", "num_layers", "num_heads", "ff_dim", "num_experts"
        )
        checks.fractions(self, "dropout", "adaptor_dropout", "id_dropout", "label_smoothing")
        checks.in_range("gbce_t", self.gbce_t, 0.0, 1.0)
        if self.loss == "gbce" and self.negative_sampling != "uniform":
            checks.fail(
                "negative_sampling",
                "'uniform' with loss 'gbce' (gSASRec's β assumes uniform negatives)",
                self.negative_sampling,
            )
        if self.label_smoothing > 0 and self.loss != "ce":
            checks.fail("label_smoothing", "0 unless loss is 'ce'", self.label_smoothing)
        checks.non_negative("contrastive_weight", self.contrastive_weight)
        checks.positive("contrastive_temperature", self.contrastive_temperature)
        checks.non_negative("score_temperature", self.score_temperature)
        if self.contrastive_anchors < 2:
            checks.fail("contrastive_anchors", "≥ 2", self.contrastive_anchors)
        checks.in_range("filter_mix", self.filter_mix, 0.0, 1.0)
        checks.positive("filter_keep", self.filter_keep)
        checks.one_of("block", self.block, BLOCKS)
        checks.one_of("item_repr", self.item_repr, ITEM_REPRS)
        checks.one_of("id_init", self.id_init, ID_INITS)
        if self.id_init == "text" and self.item_repr == "text":
            checks.fail("id_init", "'random' with item_repr 'text' (no ID vectors)", self.id_init)
        checks.one_of("loss", self.loss, self.losses)
        checks.positive("num_negatives", self.num_negatives)
        checks.one_of("negative_sampling", self.negative_sampling, NEGATIVE_SAMPLINGS)
        if self.group_by_length and not self.pad_to_longest:
            checks.fail(
                "group_by_length", "false unless pad_to_longest is true", self.group_by_length
            )
        if self.num_heads > 0:
            checks.divides("num_heads", self.num_heads, "embedding_dim", self.embedding_dim)
