"""gan-sweeps: Hydra-configured experiment sweeps of GANs and autoencoders (``python -m gan_sweeps --help``)."""

from pathlib import Path
from gan_sweeps._moved import register as _register_moved_modules

# The Hydra configs (config.yaml, presets, recipes) ship inside the package, so a wheel carries them; every reader
# (the app, the provenance, the generated --help, the tests) finds them here, whatever the working directory.
CONF_DIR = Path(__file__).resolve().parent / "conf"

_register_moved_modules()  # old module names (run folders made before issue 17's move)
