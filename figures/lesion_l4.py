"""Figure lesion_l4, see reservoir_motor.paper.figures. Usage: python figures/lesion_l4.py [--quick]"""

import sys

from reservoir_motor.paper.catalogue import main

if __name__ == "__main__":
    sys.exit(main("lesion_l4"))
