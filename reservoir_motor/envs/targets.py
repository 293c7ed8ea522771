"""Target curves, sampled once per period."""

from __future__ import annotations

import numpy as np


def butterfly(n_samples: int, scale: float = 14.4734) -> np.ndarray:
    """The butterfly of Task 1 (spec 6.1), ``(n_samples, 2)``.

    theta runs from 0 to 2 pi inclusive, as in the scripts, so the first and last samples coincide.
    """
    theta = np.linspace(0.0, 2.0 * np.pi, n_samples)
    rho = (9 - np.sin(theta) + 2 * np.sin(3 * theta) + 2 * np.sin(5 * theta) - np.sin(7 * theta)
           + 3 * np.cos(2 * theta) - 2 * np.cos(4 * theta))
    return np.column_stack([rho * np.cos(theta), rho * np.sin(theta)]) / scale


def make_target(config) -> np.ndarray:
    """The target of one period, ``(n_period_steps, 2)``, for a validated :class:`ExperimentConfig`."""
    return butterfly(config.n_period_steps, config.task.target_scale)
