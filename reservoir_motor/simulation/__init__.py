"""Simulation: a config becomes a run's arrays (``network``), the compiled loop runs them (``simulate``),
from a checkpoint when continued (``continuation``) or from a side file after a kill (``resume``)."""
