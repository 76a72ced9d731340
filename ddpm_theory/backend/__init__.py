"""The torch backend: schedules, the Gaussian diffusion process, losses, small models,
data with known laws, training, checkpoints, sampling and pictures.

Public names are re-exported here; the modules hold one concept each.
"""

from __future__ import annotations

from .checkpoint import Checkpoint, CheckpointError, load_checkpoint
from .data import DATASETS, get_dataset
from .dataset import Dataset, Entropy
from .device import resolve_device
from .empirical import EmpiricalDataset
from .enums import DecoderType, LossType, Parameterization, VarianceType
from .likelihood import (
    discretized_gaussian_log_likelihood,
    gaussian_log_likelihood,
    normal_kl,
)
from .losses import LossTerms, prior_kl, training_losses, vlb_term
from .mixture import GaussianMixture
from .models import MODELS, MLPDenoiser, UNet
from .process import DiagonalGaussian, GaussianDiffusion, ModelPrediction
from .sample import Trajectory, sample
from .schedule import SCHEDULES, Schedule, ScheduleError
from .train import train

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "DATASETS",
    "Dataset",
    "DecoderType",
    "DiagonalGaussian",
    "EmpiricalDataset",
    "Entropy",
    "GaussianDiffusion",
    "GaussianMixture",
    "LossTerms",
    "LossType",
    "MLPDenoiser",
    "MODELS",
    "ModelPrediction",
    "Parameterization",
    "SCHEDULES",
    "Schedule",
    "ScheduleError",
    "Trajectory",
    "UNet",
    "VarianceType",
    "discretized_gaussian_log_likelihood",
    "gaussian_log_likelihood",
    "get_dataset",
    "load_checkpoint",
    "normal_kl",
    "prior_kl",
    "resolve_device",
    "sample",
    "train",
    "training_losses",
    "vlb_term",
]
