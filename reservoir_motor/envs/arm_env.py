"""The planar arm as a Gymnasium environment (extra ``gym``), on the same kinematics as the simulator.

Action: joint angles in units of pi. Observation: the hand position and the target's phase as
(cos, sin). Reward: minus the error of the simulator, computed by the compiled loop's own error function
(``_kernel.task_error``): the squared distance to the target plus the movement cost
sum_j c_j |a_j - abar_j|, abar the actions low-passed with ``output_filter`` from abar = a at the first
step -- the simulator's error with ``task.cost_signal = "movement"``.
An episode is one period of the target curve.

Use ``gymnasium.make("reservoir_motor.envs.arm_env:ArmDraw-v0")``, which imports this module and so
registers the environment.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from .. import _kernel as K
from . import arm, targets


class ArmDrawEnv(gym.Env):
    """Draw a closed curve with the tip of an n-joint planar arm, knowing only a scalar reward."""

    metadata = {"render_modes": []}

    def __init__(self, arm_lengths=(1.8, 1.8), target="butterfly", n_steps=500, costs=None, output_filter=0.2):
        self.lengths = np.asarray(arm_lengths, dtype=np.float64)
        if self.lengths.ndim != 1 or self.lengths.size < 1 or np.any(self.lengths <= 0):
            raise ValueError(f"arm_lengths = {arm_lengths!r} is not allowed: must be positive segment lengths")
        if int(n_steps) < 2:
            raise ValueError(f"n_steps = {n_steps!r} is not allowed: must be an integer >= 2")
        self.n_steps = int(n_steps)
        self.costs = np.zeros(self.lengths.size) if costs is None else np.asarray(costs, dtype=np.float64)
        if self.costs.shape != self.lengths.shape or np.any(self.costs < 0):
            raise ValueError(f"costs = {costs!r} is not allowed: one cost >= 0 per joint")
        self.output_filter = float(output_filter)
        self.target = targets.curve(target, self.n_steps)
        why = targets.check_reachable(self.target, self.lengths)
        if why:
            raise ValueError(f"target = {target!r} is not allowed: {why}")
        n = self.lengths.size
        self.action_space = spaces.Box(-1.0, 1.0, shape=(n,), dtype=np.float64)  # +-pi
        reach = arm.reach(self.lengths)
        low = np.array([-reach, -2.0 - reach, -1.0, -1.0])
        high = np.array([reach, -2.0 + reach, 1.0, 1.0])
        self.observation_space = spaces.Box(low, high, dtype=np.float64)
        self._hand = np.empty(2)
        self._state = np.zeros(0)  # the kinematic arm is stateless

    def _observation(self):
        phase = 2.0 * np.pi * self._step / self.n_steps
        return np.array([self._hand[0], self._hand[1], np.cos(phase), np.sin(phase)])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._step = 0
        self._abar = np.zeros(self.lengths.size)
        arm.tip_position(self._abar, self.lengths, self._hand)
        return self._observation(), {}

    def step(self, action):
        action = np.clip(np.asarray(action, dtype=np.float64), self.action_space.low, self.action_space.high)
        K.filter_into(self._abar, action, self.output_filter, self._step == 0)
        f = self.target[self._step]
        error = float(K.task_error(K.EFFECTOR_ARM, action, self._abar, f, self._state, self.lengths, 0.0, self.costs,
                                   0.0, self._hand))
        self._step += 1
        truncated = self._step >= self.n_steps
        obs = self._observation()
        return obs, -error, False, truncated, {"error": error, "target": f.copy()}


gym.register(id="ArmDraw-v0", entry_point=ArmDrawEnv)
