"""Fine-tune a sentence encoder so items consumed together get similar vectors.

Positive pairs are items that follow each other closely in users' time-ordered
histories; every other item in the batch is a negative (in-batch InfoNCE, as in
SimCLR / "Multiple Negatives Ranking Loss"). Either the last transformer layers are
trained (the rest frozen) or LoRA adapters via ``peft``, merged back into the
weights before saving, so the result is a plain sentence-transformers folder.

References:
    Oord et al., "Representation Learning with Contrastive Predictive Coding", 2018.
    Hu et al., "LoRA: Low-Rank Adaptation of Large Language Models", ICLR 2022.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ssl4rec.config.base import Checks, to_dict
from ssl4rec.data.interactions import Interactions
from ssl4rec.errors import ConfigError, DataError
from ssl4rec.logging import progress as progress_bar
from ssl4rec.text.sentence_transformers import SentenceTransformerEncoder, torch_threads
from ssl4rec.text.templates import item_texts

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

__all__ = ["FinetuneConfig", "cooccurrence_pairs", "finetune_encoder", "info_nce_loss"]

logger = logging.getLogger(__name__)

_META_FILE = "ssl4rec_finetune.json"


@dataclass(frozen=True, kw_only=True)
class FinetuneConfig:
    """Settings of ``finetune_encoder``."""

    epochs: int = 1
    """Passes over the positive pairs (≥ 1)."""
    batch_size: int = 32
    """Pairs per step (≥ 2); the other pairs of a batch are the negatives."""
    learning_rate: float = 5e-5
    """AdamW step size (> 0). LoRA usually wants more, around 1e-4 to 1e-3."""
    temperature: float = 0.05
    """Softmax temperature of InfoNCE on cosine similarities (> 0)."""
    num_pairs: int | None = 20_000
    """Cap on distinct positive pairs, sampled with ``seed``; ``None`` keeps all."""
    window: int = 1
    """Items up to this many steps apart in a history form a pair (1 = consecutive)."""
    trainable: Literal["last_layers", "lora"] = "last_layers"
    """Train the last ``num_trainable_layers`` layers, or LoRA adapters on all layers."""
    num_trainable_layers: int = 2
    """Transformer layers trained with ``trainable="last_layers"`` (≥ 1)."""
    lora_rank: int = 8
    """Rank of the LoRA update matrices (≥ 1)."""
    lora_alpha: int = 16
    """LoRA scaling numerator (≥ 1, an integer as in peft); the update is scaled by
    ``lora_alpha / lora_rank``."""
    seed: int = 0
    """Seeds pair sampling, batch order, dropout and LoRA initialisation (≥ 0)."""

    def __post_init__(self) -> None:
        c = Checks("FinetuneConfig")
        c.positive("epochs", self.epochs)
        if self.batch_size < 2:
            c.fail("batch_size", "≥ 2 (in-batch negatives need two pairs)", self.batch_size)
        c.positive("learning_rate", self.learning_rate)
        c.positive("temperature", self.temperature)
        c.positive("num_pairs", self.num_pairs)
        c.positive("window", self.window)
        c.one_of("trainable", self.trainable, ("last_layers", "lora"))
        c.positive("num_trainable_layers", self.num_trainable_layers)
        c.positive("lora_rank", self.lora_rank)
        c.positive("lora_alpha", self.lora_alpha)
        c.non_negative("seed", self.seed)
        c.raise_if_any()


def cooccurrence_pairs(
    data: Interactions,
    *,
    window: int = 1,
    max_pairs: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Distinct unordered pairs of items that occur close together in histories.

    Args:
        data: The dataset; ``data.sequences()`` gives each user's time-ordered items.
        window: Items at most this many positions apart form a pair.
        max_pairs: Keep a random subset of this size (drawn with ``seed``).
        seed: Seed of the subset draw.

    Returns:
        int64 array ``(num_pairs, 2)`` of item indices, ``[:, 0] < [:, 1]``, sorted
        unless subsampled.
    """
    chunks = []
    for seq in data.sequences():
        for gap in range(1, window + 1):
            if len(seq) > gap:
                chunks.append(np.stack([seq[:-gap], seq[gap:]], axis=1))
    if not chunks:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(chunks).astype(np.int64)  # (events, 2)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(np.sort(pairs, axis=1), axis=0)
    if max_pairs is not None and len(pairs) > max_pairs:
        rng = np.random.default_rng(seed)
        pairs = pairs[np.sort(rng.choice(len(pairs), size=max_pairs, replace=False))]
    return pairs


def info_nce_loss(
    anchors: torch.Tensor,
    positives: torch.Tensor,
    *,
    temperature: float,
    anchor_ids: torch.Tensor | None = None,
    positive_ids: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric InfoNCE with in-batch negatives.

    Optimizes: for each pair ``i``, the cosine similarity of ``anchors[i]`` and
    ``positives[i]`` is pushed above that of ``anchors[i]`` and every other
    ``positives[j]`` (and the same with the roles swapped), through a softmax at
    ``temperature``.

    Args:
        anchors: ``(batch, dim)`` embeddings.
        positives: ``(batch, dim)`` embeddings; row ``i`` is the positive of anchor ``i``.
        temperature: Softmax temperature (> 0).
        anchor_ids: Optional ``(batch,)`` item ids of the anchors.
        positive_ids: Optional ``(batch,)`` item ids of the positives. With both id
            tensors, a candidate that is the same item as the true positive or as the
            anchor itself is not used as a negative.

    Returns:
        Scalar loss, the mean of both directions.
    """
    import torch
    import torch.nn.functional as F

    a = F.normalize(anchors, dim=-1)
    p = F.normalize(positives, dim=-1)
    logits = a @ p.T / temperature  # (batch, batch); diagonal = positives
    target = torch.arange(len(a), device=a.device)
    logits_t = logits.T  # rows = positives as anchors, columns = anchors as candidates
    if anchor_ids is not None and positive_ids is not None:
        eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
        # (batch, batch): candidate j duplicates the positive or the anchor of row i
        clash = (positive_ids[None, :] == positive_ids[:, None]) | (
            positive_ids[None, :] == anchor_ids[:, None]
        )
        clash_t = (anchor_ids[None, :] == anchor_ids[:, None]) | (
            anchor_ids[None, :] == positive_ids[:, None]
        )
        logits = logits.masked_fill(clash & ~eye, float("-inf"))
        logits_t = logits_t.masked_fill(clash_t & ~eye, float("-inf"))
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits_t, target)) / 2


def finetune_encoder(
    encoder: SentenceTransformerEncoder,
    data: Interactions,
    config: FinetuneConfig | None = None,
    *,
    out_dir: str | os.PathLike[str],
    template: str | Sequence[str] | None = None,
    progress: bool | None = None,
) -> SentenceTransformerEncoder:
    """Fine-tune ``encoder`` on co-occurrence pairs and save the result.

    The encoder's own model is not modified; a fresh copy is trained. Training
    runs under a forked torch RNG seeded with ``config.seed``, so results repeat
    for a seed and global random state is left as it was. ``encoder.num_threads``
    applies to training too.

    Args:
        encoder: The base encoder.
        data: Interactions whose histories give the positive pairs and whose item
            table gives the text (rendered with ``template``).
        config: Training settings; ``None`` uses ``FinetuneConfig()``.
        out_dir: Folder for the tuned model (created; existing model files in it
            are overwritten). It also gets ``ssl4rec_finetune.json`` with the
            config, the base encoder name and the mean loss of each epoch.
        template: Item-text template, see ``ssl4rec.text.templates.item_texts``.
        progress: Progress bar over batches; ``None`` follows ``ssl4rec.logging.progress``.

    Returns:
        A ``SentenceTransformerEncoder`` loading the saved folder.

    Raises:
        TypeError: when ``encoder`` is not a ``SentenceTransformerEncoder``.
        DataError: when fewer than 2 positive pairs with text exist.
        ConfigError: when ``num_trainable_layers`` exceeds the model's layers.
        ImportError: for ``trainable="lora"`` without ``peft``.
    """
    import torch

    if not isinstance(encoder, SentenceTransformerEncoder):
        raise TypeError(
            f"finetune_encoder(): encoder must be a SentenceTransformerEncoder; got "
            f"{type(encoder).__name__}"
        )
    config = config or FinetuneConfig()
    out_path = Path(out_dir).expanduser()
    if encoder.path is not None and out_path.resolve() == encoder.path:
        raise ConfigError(
            "finetune_encoder(): out_dir must differ from the base model folder; "
            f"got {str(out_path)!r}"
        )
    texts = item_texts(data, template)
    pairs = cooccurrence_pairs(data, window=config.window)
    has_text = np.array([bool(t) for t in texts], dtype=bool)
    pairs = pairs[has_text[pairs[:, 0]] & has_text[pairs[:, 1]]]
    if config.num_pairs is not None and len(pairs) > config.num_pairs:
        rng = np.random.default_rng(config.seed)
        pairs = pairs[np.sort(rng.choice(len(pairs), size=config.num_pairs, replace=False))]
    if len(pairs) < 2:
        raise DataError(
            f"finetune_encoder(): found {len(pairs)} positive pairs of items with text in "
            f"{data.name!r}; need at least 2 (window={config.window})"
        )

    st = encoder.load_model()
    device = st.device
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices), torch_threads(encoder.num_threads):
        torch.manual_seed(config.seed)
        transformer = _transformer_module(st)
        params = _prepare_trainable(transformer, config)
        losses = _train(st, texts, pairs, params, config, progress=progress)
        if config.trainable == "lora":
            transformer.model = transformer.model.merge_and_unload()
    for param in st.parameters():
        param.requires_grad_(True)
    st.eval()
    out_path.mkdir(parents=True, exist_ok=True)
    st.save(str(out_path))
    meta = {
        "base_encoder": encoder.name,
        "config": to_dict(config),
        "num_pairs": len(pairs),
        "epoch_losses": losses,
    }
    (out_path / _META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    logger.info("fine-tuned encoder saved: out_dir=%s losses=%s", out_path, losses)
    return SentenceTransformerEncoder(
        out_path,
        device=encoder.device,
        max_seq_length=encoder.max_seq_length,
        num_threads=encoder.num_threads,
    )


# ---------------------------------------------------------------------- helpers
def _transformer_module(st: SentenceTransformer) -> Any:
    """The module of ``st`` that wraps the Hugging Face model (``.model``)."""
    for module in st.children():
        if hasattr(module, "auto_model") and hasattr(module, "model"):
            return module
    raise DataError("finetune_encoder(): the model has no Hugging Face transformer module")


def _prepare_trainable(transformer: Any, config: FinetuneConfig) -> list[torch.nn.Parameter]:
    """Freeze the model, then unfreeze the last layers or add LoRA adapters."""
    hf_model = transformer.model
    for param in hf_model.parameters():
        param.requires_grad_(False)
    if config.trainable == "last_layers":
        layers = _layer_stack(hf_model)
        if config.num_trainable_layers > len(layers):
            raise ConfigError(
                f"FinetuneConfig.num_trainable_layers must be ≤ {len(layers)} (the model's "
                f"layers); got {config.num_trainable_layers}"
            )
        for layer in layers[-config.num_trainable_layers :]:
            for param in layer.parameters():
                param.requires_grad_(True)
    else:
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as err:
            raise ImportError(
                "FinetuneConfig.trainable='lora' needs peft; install it with: "
                "pip install 'ssl4rec[text]'"
            ) from err
        lora = LoraConfig(
            r=config.lora_rank,
            lora_alpha=config.lora_alpha,
            lora_dropout=0.0,
            bias="none",
            target_modules="all-linear",
        )
        with warnings.catch_warnings():
            # transformers' own deprecation notice when peft inspects the model
            warnings.filterwarnings(
                "ignore", message=".*is_gradient_checkpointing", category=FutureWarning
            )
            transformer.model = get_peft_model(hf_model, lora)
    params = [p for p in transformer.model.parameters() if p.requires_grad]
    count = sum(p.numel() for p in params)
    logger.info("finetune: trainable=%s parameters=%d", config.trainable, count)
    if not params:  # pragma: no cover - both branches always unfreeze something
        raise DataError("finetune_encoder(): no trainable parameters")
    return params


def _layer_stack(hf_model: Any) -> Any:
    """The model's list of transformer blocks: its ``ModuleList`` with most parameters."""
    import torch

    best, best_size = None, -1
    for module in hf_model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0:
            size = sum(p.numel() for p in module.parameters())
            if size > best_size:
                best, best_size = module, size
    if best is None:
        raise DataError("finetune_encoder(): cannot find the transformer layers of the model")
    return best


def _train(
    st: SentenceTransformer,
    texts: list[str],
    pairs: np.ndarray,
    params: list[torch.nn.Parameter],
    config: FinetuneConfig,
    *,
    progress: bool | None,
) -> list[float]:
    """Run the InfoNCE loop; return the mean loss of each epoch."""
    import torch

    rng = np.random.default_rng(config.seed)
    optimizer = torch.optim.AdamW(params, lr=config.learning_rate)
    preprocess = getattr(st, "preprocess", None) or st.tokenize
    device = st.device

    def embed(ids: np.ndarray) -> torch.Tensor:
        features = preprocess([texts[i] for i in ids])
        features = {
            k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in features.items()
        }
        return st(features)["sentence_embedding"]  # (batch, dim)

    st.train()
    losses: list[float] = []
    for epoch in range(config.epochs):
        order = rng.permutation(len(pairs))
        # both orientations of a pair are equally valid; pick one per pair and epoch
        flip = rng.random(len(pairs)) < 0.5
        epoch_pairs = pairs[order].copy()  # (num_pairs, 2)
        epoch_pairs[flip] = epoch_pairs[flip][:, ::-1]
        starts = [s for s in range(0, len(pairs), config.batch_size) if len(pairs) - s >= 2]
        total = 0.0
        for start in progress_bar(
            starts, desc=f"fine-tuning epoch {epoch + 1}", total=len(starts), enabled=progress
        ):
            batch = epoch_pairs[start : start + config.batch_size]  # (batch, 2)
            anchor_ids = torch.as_tensor(batch[:, 0], device=device)
            positive_ids = torch.as_tensor(batch[:, 1], device=device)
            loss = info_nce_loss(
                embed(batch[:, 0]),
                embed(batch[:, 1]),
                temperature=config.temperature,
                anchor_ids=anchor_ids,
                positive_ids=positive_ids,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
            optimizer.step()
            total += float(loss.detach())
        losses.append(total / max(len(starts), 1))
        logger.info("finetune epoch done: epoch=%d loss=%.4f", epoch + 1, losses[-1])
    return losses
