"""Figure fig3_task2, see reservoir_motor.paper.figures. Usage: python figures/fig3_task2.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("fig3_task2"))
