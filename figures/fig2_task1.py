"""Figure fig2_task1, see reservoir_motor.paper.figures. Usage: python figures/fig2_task1.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("fig2_task1"))
