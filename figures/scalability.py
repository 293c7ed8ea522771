"""Figure scalability, see reservoir_motor.figures. Usage: python figures/scalability.py [--quick]"""

import sys

from reservoir_motor.figures import main

if __name__ == "__main__":
    sys.exit(main("scalability"))
