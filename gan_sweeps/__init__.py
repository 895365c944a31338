"""gan-sweeps: Hydra-configured experiment sweeps of GANs and autoencoders (``python -m gan_sweeps --help``)."""

from pathlib import Path

# The Hydra configs (config.yaml, presets, recipes) ship inside the package, so a wheel carries them; every reader
# (the app, the provenance, the generated --help, the tests) finds them here, whatever the working directory.
CONF_DIR = Path(__file__).resolve().parent / "conf"
