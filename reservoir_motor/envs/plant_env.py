"""Every built-in plant as a Gymnasium environment (extra ``gym``), on the compiled loop's own step and error.

The env is described by the same keys as the config's ``task`` section (``effector``, ``plant``,
``arm_lengths``, ``target``, ``target_scale``, ``costs``, ``effort_cost``), validated by ``config.TaskConfig``
with the same one-line messages, plus the period in steps, the step ``dt_ms`` and the output filter of the
movement cost. Each step calls ``kernel.loop.task_error``, the function the compiled loop calls: it advances the
plant's state under the action (``kernel.loop.plant_step``) and returns the squared distance of the hand from the
target plus the movement cost sum_o c_o |a_o - abar_o| and the effort cost c_e sum_o a_o^2, abar the actions
low-passed with ``output_filter`` from abar = a at the first step (the simulator's error with
``task.cost_signal = "movement"``). Reward: minus that error. An episode is one period of the target curve.

Action: the plant's command (the network outputs), in the box +-``action_bound``. Observation: the hand
position, the plant's state (``Effector.state_names``) and the target's phase as (cos, sin). ``envs.ENVS``
names each built-in plant's id and defaults; ``envs.register_envs`` registers them all.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .. import elementary, kinds
from ..config import TaskConfig
from ..kernel import loop as K
from ..plants import targets


class PlantDrawEnv(gym.Env):
    """Draw a closed curve with the hand of a built-in plant, knowing only a scalar reward."""

    metadata = {"render_modes": []}

    def __init__(self, effector="identity", plant=None, arm_lengths=(), target="butterfly",
                 target_scale=TaskConfig.target_scale, costs=(), effort_cost=0.0, n_steps=500, dt_ms=2.0,
                 output_filter=0.2, action_bound=1.0):
        self.task = TaskConfig(effector=effector, plant=dict(plant or {}), arm_lengths=tuple(arm_lengths),
                               target=target, target_scale=target_scale, costs=tuple(costs),
                               effort_cost=effort_cost)
        self.plant = kinds.effector(effector)
        if self.plant.code == kinds.USER_PLANT:
            raise ValueError(f"effector = {effector!r} is not allowed: the envs cover the built-in plants "
                             f"({', '.join(kinds.EFFECTORS)})")
        if isinstance(n_steps, bool) or int(n_steps) != n_steps or n_steps < 2:
            raise ValueError(f"n_steps = {n_steps!r} is not allowed: must be an integer >= 2")
        if not dt_ms > 0:
            raise ValueError(f"dt_ms = {dt_ms!r} is not allowed: must be > 0")
        self.n_steps, self.dt_s, self.output_filter = int(n_steps), float(dt_ms) / 1000.0, float(output_filter)
        n_out = self.task.n_outputs
        self.costs = np.asarray(self.task.costs, dtype=np.float64) if self.task.costs else np.zeros(n_out)
        self.params = np.ascontiguousarray(self.plant.params(self.task), dtype=np.float64)
        self.target = targets.curve(target, self.n_steps, target_scale)
        if not action_bound > 0:
            raise ValueError(f"action_bound = {action_bound!r} is not allowed: must be > 0")
        bound = float(action_bound)
        self.action_space = spaces.Box(-bound, bound, shape=(n_out,), dtype=np.float64)
        n_obs = 2 + self.plant.n_state + 2
        low, high = np.full(n_obs, -np.inf), np.full(n_obs, np.inf)
        low[-2:], high[-2:] = -1.0, 1.0
        self.observation_space = spaces.Box(low, high, dtype=np.float64)
        self._hand = np.empty(2)

    def _observation(self):
        phase = 2.0 * np.pi * self._step / self.n_steps
        return np.concatenate([self._hand, self._state, [elementary.cos(phase), elementary.sin(phase)]])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._step = 0
        self._abar = np.zeros(self.task.n_outputs)
        self._state = np.array(self.plant.initial_state(self.params), dtype=np.float64).reshape(self.plant.n_state)
        # the hand of the initial state: a step of no duration under no command moves nothing
        K.plant_step(self.plant.code, self._abar, self._state.copy(), self.params, 0.0, self._hand)
        return self._observation(), {}

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), self.action_space.low, self.action_space.high)
        K.filter_into(self._abar, action, self.output_filter, self._step == 0)
        f = self.target[self._step]
        error = float(K.task_error(self.plant.code, action, self._abar, f, self._state, self.params, self.dt_s,
                                   self.costs, self.task.effort_cost, self._hand))
        self._step += 1
        truncated = self._step >= self.n_steps
        return self._observation(), -error, False, truncated, {"error": error, "target": f.copy()}
