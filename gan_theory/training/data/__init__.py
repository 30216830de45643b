"""Built-in data sets needing no download, sampled deterministically from a torch.Generator."""

from .base import Dataset as Dataset
from .base import Modes as Modes
from .base import PairedDomains as PairedDomains
from .digits import Digits as Digits
from .mixtures import GaussianMixture as GaussianMixture
from .mixtures import bimodal_1d as bimodal_1d
from .mixtures import grid_25 as grid_25
from .mixtures import mixture_1d as mixture_1d
from .mixtures import ring_8 as ring_8
from .registry import dataset_names as dataset_names
from .registry import get_dataset as get_dataset
from .registry import is_paired as is_paired
from .registry import paired_names as paired_names
from .registry import single_names as single_names
from .shapes import Ring as Ring
from .shapes import Square as Square
from .shapes import TwoMoons as TwoMoons

__all__ = [
    "Dataset",
    "Digits",
    "GaussianMixture",
    "Modes",
    "PairedDomains",
    "Ring",
    "Square",
    "TwoMoons",
    "bimodal_1d",
    "dataset_names",
    "get_dataset",
    "grid_25",
    "is_paired",
    "mixture_1d",
    "paired_names",
    "ring_8",
    "single_names",
]
