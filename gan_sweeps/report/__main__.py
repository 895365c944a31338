"""``python -m gan_sweeps.report SWEEP_DIR [options]``."""

import sys

from gan_sweeps.report.command import main

if __name__ == "__main__":
    sys.exit(main())
