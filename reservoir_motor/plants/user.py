"""A user's own plant: what the network's outputs drive, written outside the package (docs/plants.md).

``task.effector = "package.module:name"`` names a :class:`Plant` that the module defines; its parameters
are given in the config's ``task.plant`` table (``{mass = 1.0, ...}``; those not given take the plant's
defaults). No file of this package is edited.

How numba calls it. Two ways were weighed. Passing the step to the shared loop as an argument (a numba
first-class function) keeps one loop and can be cached (numba >= 0.53, PR #6373), but numba then calls
the step as a separate compiled function instead of inlining it, the case that made a run's last bits
depend on whether the cache was warm (``kernel.loop.STAGE``), and it changes the built-in plants' compiled
loop. A loop compiled per plant (``kernel.loop.loop_for``: the loop's own code compiled again with the user's
step inlined in place of the built-in ``plant_step``) leaves the built-in loop, its cache and its numbers
untouched and inlines the step like every other stage; its price is a fresh compile of a few seconds in
every process that runs the plant (it must not be cached: numba's cache key would not tell it from the
built-in loop). The second is what this package does.

Every plant, built-in or not, advances by one step of the same signature::

    step(command, state, params, dt_s, hand) -> None
      command: float64[n_inputs]  the network outputs of this step (read only)
      state:   float64[n_state]   the plant's own state, advanced in place (may be size 0)
      params:  float64[n_params]  the plant's parameters, in the order of Plant.params (read only)
      dt_s:    float              the simulation step in seconds (network.dt_ms / 1000)
      hand:    float64[2]         written: the hand position in task coordinates

The step is plain Python that numba can compile (loops over arrays, ``math``, no objects, no allocation).
Before a plant is accepted its plain-Python step runs once from the initial state with a zero command; a
plant that cannot be imported, has the wrong signature or sizes, writes what it must only read, or gives a
non-finite hand or state is refused with one line (``ConfigError``), and so is a step that numba cannot
compile (when the run compiles its loop). The state is recorded with the hand (trace ``plant_state``).
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import ConfigError

#: The step's parameters, in order.
STEP_ARGUMENTS = ("command", "state", "params", "dt_s", "hand")


@dataclass(frozen=True)
class Plant:
    """A plant written by a user.

    Parameters
    ----------
    step : callable
        ``step(command, state, params, dt_s, hand)``, plain Python that numba can compile (module docstring).
    n_inputs : int
        The network outputs the plant takes as its command.
    state_names : tuple of str
        The entries of the plant's state (empty: stateless).
    params : dict of str to float
        The parameters and their defaults, in the order ``step`` reads them from ``params``.
    initial_state : sequence of float or callable
        The state at the start of a run: values, or a function of the parameter vector returning them.
    reach : callable, optional
        ``reach(points, params)``: why a target point (rows of ``points``, shape (n, 2)) is out of the plant's
        reach, or None. Without it every target is accepted.
    joints : callable, optional
        ``joints(commands, states, params)``: the points of the limb to draw, shape (samples, points, 2),
        from the recorded commands (samples x n_inputs) and states (samples x n_state). Without it the run
        figure and the animation draw the hand alone.
    doc : str
        One line saying what the plant is.
    """

    step: Callable
    n_inputs: int
    state_names: tuple = ()
    params: dict = field(default_factory=dict)
    initial_state: object = ()
    reach: Callable | None = None
    joints: Callable | None = None
    doc: str = ""


def _refuse(spec: str, why: str):
    raise ConfigError(f"task.effector = {spec!r} is not allowed: {why}")


def _import(spec: str) -> Plant:
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any failure of the user's module is reported in one line
        _refuse(spec, f"importing {module_name!r} failed: {type(exc).__name__}: {exc} (is its directory on "
                "PYTHONPATH?)")
    if not hasattr(module, attr):
        _refuse(spec, f"module {module_name!r} has no {attr!r}")
    plant = getattr(module, attr)
    if not isinstance(plant, Plant):
        _refuse(spec, f"{spec} is a {type(plant).__name__}, not a reservoir_motor.plants.Plant")
    return plant


def _check_description(spec: str, plant: Plant) -> None:
    step = getattr(plant.step, "py_func", plant.step)
    if not callable(step):
        _refuse(spec, "its step is not callable")
    try:
        args = [p for p in inspect.signature(step).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        args = None
    if args is None or len(args) != len(STEP_ARGUMENTS) or len(inspect.signature(step).parameters) != len(args):
        _refuse(spec, f"its step must take exactly ({', '.join(STEP_ARGUMENTS)})")
    if isinstance(plant.n_inputs, bool) or not isinstance(plant.n_inputs, int) or plant.n_inputs < 1:
        _refuse(spec, f"n_inputs = {plant.n_inputs!r}: must be an integer >= 1")
    names = tuple(plant.state_names)
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        _refuse(spec, f"state_names = {plant.state_names!r}: must be distinct non-empty strings")
    params = plant.params
    if not isinstance(params, dict) or not all(isinstance(k, str) and k.isidentifier() for k in params) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in params.values()):
        _refuse(spec, f"params = {params!r}: must map parameter names to finite default numbers")
    for name in ("reach", "joints"):
        if getattr(plant, name) is not None and not callable(getattr(plant, name)):
            _refuse(spec, f"{name} must be callable or None")


def initial_state(plant: Plant, params: np.ndarray) -> np.ndarray:
    """The state at the start of a run, for the parameter vector ``params``."""
    init = plant.initial_state
    values = init(params.copy()) if callable(init) else init
    return np.array(values, dtype=np.float64).reshape(-1)


def _read_only(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def trial_step(spec: str, plant: Plant, task, dt_s: float):
    """One plain-Python step from the initial state under a zero command: (task key, why) or None."""
    params = parameters(plant, task)
    try:
        state = initial_state(plant, params)
    except Exception as exc:  # noqa: BLE001
        return "effector", f"its initial_state failed: {type(exc).__name__}: {exc}"
    if state.size != len(plant.state_names):
        return "effector", (f"its initial state has {state.size} values for {len(plant.state_names)} state_names "
                            f"({', '.join(plant.state_names) or 'none'})")
    if not np.all(np.isfinite(state)):
        return "plant", f"the initial state {state.tolist()} is not finite"
    hand = np.full(2, np.nan)
    command, read_params = _read_only(np.zeros(plant.n_inputs)), _read_only(params)
    try:
        with np.errstate(all="ignore"):  # a division by zero shows as a non-finite result, below
            returned = plant.step(command, state, read_params, float(dt_s), hand)
    except Exception as exc:  # noqa: BLE001 - the user's code: any error is the plant's, in one line
        return "effector", (f"its step failed on a trial step from the initial state: {type(exc).__name__}: {exc}"
                            " (command and params are read only; state is its own, hand has 2 entries)")
    if returned is not None:
        return "effector", "its step returned a value: it must write the hand into `hand` and return None"
    if not np.all(np.isfinite(hand)):
        return "plant", (f"a trial step from the initial state gave the hand {hand.tolist()} (not written, or "
                         "not finite)")
    if not np.all(np.isfinite(state)):
        return "plant", f"a trial step from the initial state gave the state {state.tolist()}, not finite"
    return None


def parameters(plant: Plant, task) -> np.ndarray:
    """The parameter vector of ``task.plant``, in the order of ``plant.params``, defaults where not given."""
    return np.array([float(task.plant.get(name, default)) for name, default in plant.params.items()],
                    dtype=np.float64)


def load_plant(spec: str) -> Plant:
    """The user's plant ``package.module:name``, imported and its description checked.

    Raises ``ConfigError`` with one line when it cannot be imported or is not a valid :class:`Plant`.
    ``kinds.effector`` makes its registry entry and keeps it, so this runs once per plant and process.
    """
    plant = _import(spec)
    _check_description(spec, plant)
    return plant

