"""Training: the paper's protocol in one ``Trainer`` (trainer.py), its optimiser (optim.py),
batching, evaluation, checkpoint files and the learning-rate search (search.py);
``PopulationTrainer`` (population.py) trains several learning-rate candidates as one.

    >>> from gru_lib.training import TrainConfig, train
    >>> result = train(model, train_rolls, valid_rolls, TrainConfig(lr=1e-3), out_dir="runs/gru")
"""
from .population import FailedResult, PopulationTrainer, train_population
from .trainer import (
                      DivergedError,
                      TrainConfig,
                      Trainer,
                      TrainingInterrupted,
                      TrainResult,
                      TrainState,
                      train,
)

__all__ = ["DivergedError", "FailedResult", "PopulationTrainer", "Trainer", "TrainConfig", "TrainingInterrupted", "TrainResult",
           "TrainState", "train", "train_population"]
