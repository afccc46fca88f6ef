"""nnfunc: a small, exact neural-network library in pure NumPy, written as a functional core.

Frozen records (:class:`Dataset`, :class:`Scaler`, :class:`Params`, ...) pass through pure
functions that return new values and never change their arguments.  Samples are rows
everywhere: ``X: (n_samples, n_features)``, ``Y: (n_samples, n_outputs)``,
``W: (n_in, n_out)``, ``b: (n_out,)`` and ``Z = X @ W + b``.  The exact objective is written
once, in :mod:`nnfunc.net`.  Every random function takes an explicit
``numpy.random.Generator``.

The tutorial's nine steps:

1. a reproducible start ............ ``rng = np.random.default_rng(seed)``
2. data ............................ :func:`make_tutorial_data`, :class:`Dataset`
3. train/test split ................ :func:`split`, :func:`batches`
4. standardization ................. :func:`fit_scaler`, :func:`transform`,
   :func:`inverse_transform`
5. layers and parameter count ...... :func:`init`, :func:`n_params`, :func:`count_params`,
   :func:`check_capacity`
6. forward propagation ............. :func:`forward`, :data:`ACTIVATIONS`
7. back-propagation ................ :func:`grads`, :func:`value_and_grads`, :func:`grad_check`
8. gradient descent ................ :func:`sgd_step`, :func:`train`, :func:`adam`, :func:`sgd`,
   :func:`momentum`, schedules :func:`constant`, :func:`step_decay`, :func:`cosine`
9. testing ......................... :func:`loss`, :class:`Model`, :func:`predict`

Then keep and look: :func:`save` / :func:`load` a model to one ``.npz`` file,
:func:`summary` of its layers, and (with the ``plot`` extra, matplotlib)
:func:`plot_history` and :func:`plot_predictions`.
"""

from .activations import (
    ACTIVATIONS,
    Activation,
    get_activation,
    leaky_relu,
    linear,
    relu,
    sigmoid,
    tanh,
)
from .data import Dataset, batches, make_tutorial_data, split
from .errors import (
    CapacityWarning,
    DataError,
    DeadUnitsWarning,
    DivergenceError,
    DTypeError,
    FileFormatError,
    HyperParameterError,
    NnfuncError,
    NnfuncWarning,
    NonFiniteError,
    ScaleWarning,
    ShapeError,
    UnknownActivationError,
)
from .io import load, save
from .losses import Loss, mse
from .model import Model, predict
from .net import forward, grad_check, grads, loss, objective, penalty, value_and_grads
from .optim import (
    AdamState,
    MomentumState,
    Optimizer,
    SgdState,
    adam,
    apply_updates,
    momentum,
    sgd,
    sgd_step,
    tree_map,
    zeros_like,
)
from .params import Layer, Params, check_capacity, count_params, init, n_params
from .plot import plot_history, plot_predictions
from .scaling import Scaler, fit_scaler, inverse_transform, transform
from .schedules import Schedule, constant, cosine, step_decay
from .summary import LayerSummary, Summary, summary
from .train import History, TrainResult, default_optimizer, train

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "AdamState",
    "CapacityWarning",
    "DTypeError",
    "DataError",
    "Dataset",
    "DeadUnitsWarning",
    "DivergenceError",
    "FileFormatError",
    "History",
    "HyperParameterError",
    "Layer",
    "LayerSummary",
    "Loss",
    "Model",
    "MomentumState",
    "NnfuncError",
    "NnfuncWarning",
    "NonFiniteError",
    "Optimizer",
    "Params",
    "ScaleWarning",
    "Scaler",
    "Schedule",
    "SgdState",
    "ShapeError",
    "Summary",
    "TrainResult",
    "UnknownActivationError",
    "adam",
    "apply_updates",
    "batches",
    "check_capacity",
    "constant",
    "cosine",
    "count_params",
    "default_optimizer",
    "fit_scaler",
    "forward",
    "get_activation",
    "grad_check",
    "grads",
    "init",
    "inverse_transform",
    "leaky_relu",
    "linear",
    "load",
    "loss",
    "make_tutorial_data",
    "momentum",
    "mse",
    "n_params",
    "objective",
    "penalty",
    "plot_history",
    "plot_predictions",
    "predict",
    "relu",
    "save",
    "sgd",
    "sgd_step",
    "sigmoid",
    "split",
    "step_decay",
    "summary",
    "tanh",
    "train",
    "transform",
    "tree_map",
    "value_and_grads",
    "zeros_like",
]
