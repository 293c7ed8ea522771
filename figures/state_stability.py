"""Figure state_stability, see reservoir_motor.paper.state. Usage: python figures/state_stability.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("state_stability"))
