"""Figure fig4_task3, see reservoir_motor.paper.figures. Usage: python figures/fig4_task3.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("fig4_task3"))
