"""Training: the paper's protocol in one ``Trainer`` (trainer.py), its optimiser (optim.py),
batching, evaluation, checkpoint files and the learning-rate search (search.py).

    >>> from gru_lib.training import TrainConfig, train
    >>> result = train(model, train_rolls, valid_rolls, TrainConfig(lr=1e-3), out_dir="runs/gru")
"""
from .trainer import (
                      DivergedError,
                      TrainConfig,
                      Trainer,
                      TrainingInterrupted,
                      TrainResult,
                      TrainState,
                      train,
)

__all__ = ["DivergedError", "Trainer", "TrainConfig", "TrainingInterrupted", "TrainResult",
           "TrainState", "train"]
