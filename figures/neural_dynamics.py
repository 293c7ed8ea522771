"""Figure neural_dynamics, see reservoir_motor.paper.neural. Usage: python figures/neural_dynamics.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("neural_dynamics"))
