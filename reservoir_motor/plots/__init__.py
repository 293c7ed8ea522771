"""Drawing: one run (``run``), its recorded activity (``activity``), its animation (``animation``), and
condition curves. Figures never simulate; they draw stored results."""
