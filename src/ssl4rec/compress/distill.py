"""Knowledge distillation of a sequential teacher into a smaller SASRec student.

At every next-item position of a training window the student's loss mixes the
ground truth (full cross-entropy over the catalog) with the teacher's view: the KL
divergence between the teacher's and the student's softmax over the whole catalog
at temperature ``T``, scaled by ``T²`` so its gradients keep their size as ``T``
changes:

    loss = (1 − α) · CE(student, next item) + α · T² · KL(p_teacher^T ‖ p_student^T)

A text teacher's item text vectors reach the student reduced by PCA to
``text_dim`` columns, so neither model runs the language model when serving and
the student's text adaptor is small.

References:
    Hinton, Vinyals, Dean. Distilling the Knowledge in a Neural Network. NIPS 2014
    Deep Learning Workshop (softened softmax targets, the T² factor).
    Tang, Wang. Ranking Distillation: Learning Compact Ranking Models With High
    Performance for Recommender System. KDD 2018 (distilling a recommender's
    ranking into a student of a fraction of its size).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from typing_extensions import override

from ssl4rec.compress.config import CompressConfig
from ssl4rec.config.base import from_dict, to_dict
from ssl4rec.data.splits import Split
from ssl4rec.models.configs.sasrec import SASRecConfig
from ssl4rec.models.nn.sequential import SequentialRecommender
from ssl4rec.models.sasrec import SASRec
from ssl4rec.training.trainer import TrainConfig

__all__ = ["DistilledSASRec", "distill", "parameter_count", "pca_vectors"]

logger = logging.getLogger(__name__)


def parameter_count(model: Any) -> int:
    """Parameters of the model's modules (buffers such as text vectors not counted)."""
    return sum(p.numel() for m in model.modules().values() for p in m.parameters())


def pca_vectors(vectors: torch.Tensor, width: int) -> np.ndarray:
    """Rows of ``vectors`` ``(n, t)`` projected on their first ``width`` principal axes."""
    x = vectors.detach().float()
    centred = x - x.mean(dim=0, keepdim=True)  # (n, t)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)  # vh: (t, t)
    width = min(width, vh.shape[0])
    return (centred @ vh[:width].T).numpy().astype(np.float32)  # (n, width)


class DistilledSASRec(SASRec):
    """A SASRec student trained on ground truth plus a teacher's catalog softmax.

    Saved and loaded as a plain ``sasrec`` (the teacher is needed only to train).

    Args:
        config: the student's config (``loss="ce"``).
        teacher: a fitted causal sequential model over the same item vocabulary.
        alpha: weight of the distillation term.
        temperature: softmax temperature ``T``.
        item_text: the student's text vectors (PCA of the teacher's), for text models.
    """

    def __init__(
        self,
        config: SASRecConfig,
        *,
        teacher: SequentialRecommender[Any],
        alpha: float,
        temperature: float,
        item_text: np.ndarray | None = None,
    ) -> None:
        super().__init__(config, item_text=item_text)
        self.teacher = teacher
        self.alpha = alpha
        self.temperature = temperature

    @override
    def training_step(self, batch: Any, phase: str | None = None) -> dict[str, torch.Tensor]:
        assert self.net is not None and self.teacher.net is not None
        tokens, targets = batch["tokens"], batch["targets"]  # (B, L)
        table = self.net.items.table()  # (n, d)
        hidden, _ = self.net(tokens, table)  # (B, L, d)
        truth = self.next_item_loss(hidden, targets, table, tokens)
        keep = targets > 0  # (B, L)
        student = self._add_seen_offset_to_logits(
            self.net.queries(hidden[keep]) @ self.net.keys(table).T, tokens, keep, None
        )  # (N, n)
        with torch.no_grad():
            teacher_net = self.teacher.net.to(tokens.device)
            t_table = teacher_net.items.table()  # (n, d_t)
            t_hidden, _ = teacher_net(tokens, t_table)  # (B, L, d_t)
            teacher = self.teacher._add_seen_offset_to_logits(
                teacher_net.queries(t_hidden[keep]) @ teacher_net.keys(t_table).T, tokens, keep, None
            )  # (N, n)
        temp = self.temperature
        kd = F.kl_div(
            F.log_softmax(student / temp, dim=-1),
            F.log_softmax(teacher / temp, dim=-1),
            log_target=True,
            reduction="batchmean",
        ) * (temp * temp)
        loss = (1 - self.alpha) * truth + self.alpha * kd
        return {"loss": loss, "truth": truth.detach(), "distill": kd.detach()}


def distill(
    teacher: SequentialRecommender[Any],
    split: Split,
    config: CompressConfig,
    train_config: TrainConfig,
) -> SASRec:
    """Train a ``DistilledSASRec`` student of ``teacher`` on ``split`` (early stop on valid).

    Warns when the student has more parameters than the teacher.

    Returns:
        The fitted student (a ``SASRec`` once saved and loaded).
    """
    assert teacher.net is not None
    fields = {f.name for f in dataclasses.fields(SASRecConfig)}
    base = {k: v for k, v in to_dict(teacher.config).items() if k in fields}
    base.update(
        embedding_dim=config.student_dim,
        num_layers=config.student_layers,
        num_heads=config.student_heads,
        ff_dim=config.student_ff_dim,
        loss="ce",
        epochs=config.finetune_epochs,
        seed=config.seed,
    )
    student_config = from_dict(SASRecConfig, base, where="student")
    text = None
    if student_config.item_repr != "id":
        text = pca_vectors(teacher.net.items.text, config.text_dim)
    student = DistilledSASRec(
        student_config,
        teacher=teacher,
        alpha=config.alpha,
        temperature=config.temperature,
        item_text=text,
    )
    student._remember(split.train)  # the sizes the parameter count below needs
    student.build(split.train)
    n_student, n_teacher = parameter_count(student), parameter_count(teacher)
    if n_student > n_teacher:
        message = (
            f"distill: the student ({n_student} parameters) is larger than its teacher "
            f"({n_teacher}); a smaller student_dim/student_layers compresses"
        )
        warnings.warn(message, UserWarning, stacklevel=2)
        logger.warning(message)
    logger.info("distill: teacher=%d student=%d parameters", n_teacher, n_student)
    student.fit(split.train, valid=split.valid, train_config=train_config)
    return student
