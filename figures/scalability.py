"""Figure scalability, see reservoir_motor.paper.figures. Usage: python figures/scalability.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("scalability"))
