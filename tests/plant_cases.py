"""Plants written as a user would, outside the package: one that works (a point mass with a drawn rod) and
one for each way a plant can be refused. ``plants/test_user_plants.py`` copies this file into a temporary directory;
``kernel_cases.py`` runs the point mass from here."""

import math
from fractions import Fraction

import numpy as np

from reservoir_motor.plants import Plant


def push(command, state, params, dt_s, hand):
    mass, viscosity = params[0], params[1]
    for k in range(2):
        force = command[k] - viscosity * state[2 + k]
        state[2 + k] += dt_s * force / mass
        state[k] += dt_s * state[2 + k]
    hand[0] = state[0]
    hand[1] = state[1]


def _joints(commands, states, params):  # a rod from the origin to the mass
    return np.stack([np.zeros_like(states[:, :2]), states[:, :2]], axis=1)


POINT_MASS = Plant(step=push, n_inputs=2, state_names=("x", "y", "vx", "vy"),
                   params={"mass": 0.05, "viscosity": 5.0}, initial_state=lambda p: np.array([0.1, 0.0, 0.0, 0.0]),
                   joints=_joints, doc="a point mass")


def _three(command, state, params, dt_s):
    pass


def _writes_command(command, state, params, dt_s, hand):
    command[0] = 0.0
    hand[0] = hand[1] = 0.0


def _infinite(command, state, params, dt_s, hand):
    hand[0] = math.inf
    hand[1] = 0.0


def _silent(command, state, params, dt_s, hand):
    pass


def _returns(command, state, params, dt_s, hand):
    hand[0] = hand[1] = 0.0
    return 1.0


HALF = Fraction(1, 2)


def _untypable(command, state, params, dt_s, hand):
    hand[0] = command[0] * HALF
    hand[1] = command[1]


WRONG_SIGNATURE = Plant(step=_three, n_inputs=2)
WRONG_SIZE = Plant(step=push, n_inputs=2, state_names=("x", "y", "vx", "vy"), params={"mass": 1.0, "viscosity": 1.0},
                   initial_state=(0.0, 0.0, 0.0))
WRITES_COMMAND = Plant(step=_writes_command, n_inputs=2)
INFINITE = Plant(step=_infinite, n_inputs=2)
SILENT = Plant(step=_silent, n_inputs=2)
RETURNS = Plant(step=_returns, n_inputs=2)
UNTYPABLE = Plant(step=_untypable, n_inputs=2)
NOT_A_PLANT = 3
