"""Figure fig5_task2prime, see reservoir_motor.paper.figures. Usage: python figures/fig5_task2prime.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("fig5_task2prime"))
