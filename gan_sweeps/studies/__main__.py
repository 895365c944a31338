"""``python -m gan_sweeps.studies STUDY RUN_OR_SWEEP_DIR... --out DIR [options]``."""

import sys

from gan_sweeps.studies.cli import main

if __name__ == "__main__":
    sys.exit(main())
