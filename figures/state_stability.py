"""Figure state_stability, see reservoir_motor.state_figure. Usage: python figures/state_stability.py [--quick]"""

import sys

from reservoir_motor.figures import main

if __name__ == "__main__":
    sys.exit(main("state_stability"))
