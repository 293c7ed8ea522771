"""Storage: a run's result file (``result``), its provenance, recorded activity, checkpoints, and the
atomic writes (``files``) that make every file whole or absent."""
