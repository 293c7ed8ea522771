"""What the compiled loop can be told, as integer codes: importable without numba.

The registries of ``kinds`` map the user-facing names to these codes; ``kernel.loop`` branches on them.
"""

FEEDBACK_TARGET, FEEDBACK_REPLAY, FEEDBACK_AUTONOMOUS = 0, 1, 2
# The built-in plants' branches of ``plant_step`` (``kinds.EFFECTORS``); a user's plant gets a loop of its own.
EFFECTOR_IDENTITY, EFFECTOR_ARM, EFFECTOR_ARM_DYNAMICS = 0, 1, 2
TEACHER_TARGET, TEACHER_RAW, TEACHER_FILTERED = 0, 1, 2  # what the mastery pathway's RLS step learns
STATE_TABLE, STATE_HAND, STATE_TARGET = 0, 1, 2  # the state signal: a function of the phase, the hand, the target

# Manipulations: a schedule row (slot, op, start_step, stop_step, value) acts on one quantity of the loop
# while start <= s < stop. The quantities start at their healthy values (NEUTRAL) at every step.
SLOT_DOPAMINE, SLOT_EXPLORATION_GAIN, SLOT_REWARD_BIAS, SLOT_LESION, SLOT_BLOCK_TRANSFER, SLOT_CURVE = range(6)
NEUTRAL = (1.0, 1.0, 0.0, 0.0, 0.0, 0.0)
OP_MULTIPLY, OP_ADD, OP_SET, OP_SET_ONE = 0, 1, 2, 3

# Scalar state, kept in one float array so that it survives between chunks.
S_EBAR, S_BETA, S_M, S_PEND_C, S_DIVERGED, S_ESUM, S_EBEST, S_GATE, S_STALLED, S_TRIAL_ERR = range(10)
N_SCALARS = 10
