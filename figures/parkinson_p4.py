"""Figure parkinson_p4, see reservoir_motor.paper.figures. Usage: python figures/parkinson_p4.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("parkinson_p4"))
