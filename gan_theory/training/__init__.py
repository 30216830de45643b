"""Training every GAN of the theory: data sets, models, loops, metrics, checkpoints, DDP.

>>> from gan_theory.training import TrainConfig, train
>>> result = train(TrainConfig(model="gan-ns", data="ring-8", steps=2, progress=False,
...                            eval_samples=200))
>>> result.step
2
"""

from .config import MODELS as MODELS
from .config import TrainConfig as TrainConfig
from .data import dataset_names as dataset_names
from .data import get_dataset as get_dataset
from .errors import CheckpointError as CheckpointError
from .errors import ConfigError as ConfigError
from .errors import TrainingDivergedError as TrainingDivergedError
from .trainer import Trainer as Trainer
from .trainer import TrainResult as TrainResult
from .trainer import train as train

__all__ = [
    "MODELS",
    "CheckpointError",
    "ConfigError",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingDivergedError",
    "dataset_names",
    "get_dataset",
    "train",
]
