"""ssl4rec.training: the generic trainer, device resolution, seeds, run folders."""

from ssl4rec.training.trainable import EpochCallback, Trainable
from ssl4rec.training.trainer import TrainConfig, Trainer, TrainingDivergedError

__all__ = ["EpochCallback", "TrainConfig", "Trainable", "Trainer", "TrainingDivergedError"]
