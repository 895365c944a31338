"""``python -m gan_sweeps --help``, written from the typed configs so that it cannot drift from them.

Registered as Hydra's ``hydra/help=gan_sweeps`` option (``gan_sweeps/conf/config.yaml`` selects it): the groups
users pick from, their options, and one line per top-level knob (type, range, default, help and, for model knobs,
the model families that read them)."""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

from omegaconf import MISSING, OmegaConf

from gan_sweeps import CONF_DIR
from gan_sweeps.config.schema import RULE_KEY, Rule, describe, field_types, register

PRESETS_GROUP = "experiment"
WIDTH = 118
USAGE = """\
gan-sweeps: Hydra-configured sweeps of GAN and autoencoder training runs on MNIST-like data.

  python -m gan_sweeps [KEY=VALUE ...]          one run, in outputs/<date>/<time>/ (gan-sweeps: the same command)
  python -m gan_sweeps -m KEY=a,b,c [...]       a sweep: one run per combination, in multirun/<date>/<time>/<job>/

  python -m gan_sweeps -m model=cgan k=1,2,3 optim.beta1=0.5,0.9   seed 001's question: k x Adam beta1 (6 runs)
  python -m gan_sweeps -m experiment=seed001_grid                  a preset reproducing a seed study
  python -m gan_sweeps.report multirun/<date>/<time>               tables and figures of a sweep
  python -m gan_sweeps.config.provenance loss=wgan_gp                     every value a command line changes, and which
                                                                   file or override set it (--all: every key)
"""


def group_options(group: str) -> list[str]:
    """The options of a config group: registered configs and the YAML files of ``gan_sweeps/conf/<group>/``."""
    from hydra.core.config_store import ConfigStore

    names = {name.removesuffix(".yaml") for name, node in ConfigStore.instance().repo.get(group, {}).items()
             if not isinstance(node, dict)}
    names |= {p.stem for p in (CONF_DIR / group).glob("*.yaml")}
    return sorted(names)


def default_choices() -> dict[str, str]:
    """Group -> the option gan_sweeps/conf/config.yaml's defaults list picks."""
    entries = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "config.yaml")).get("defaults", [])
    return {str(k): str(v) for entry in entries if isinstance(entry, dict) for k, v in entry.items()}


def model_families() -> dict[str, Any]:
    """Option name -> model config class, for every registered ``model=`` option."""
    from hydra.core.config_store import ConfigStore

    return {name.removesuffix(".yaml"): OmegaConf.get_type(node.node)
            for name, node in ConfigStore.instance().repo.get("model", {}).items() if not isinstance(node, dict)}


def _fields(schema: type) -> list[tuple[str, Any, Rule, Any]]:
    types = field_types(schema)
    return [(f.name, types[f.name], f.metadata.get(RULE_KEY, Rule()), f.default) for f in dataclasses.fields(schema)]


def _readers(key: str, families: dict[str, Any]) -> str:
    names = sorted({schema.family for schema in families.values() if key in schema.reads})
    return f"; read by {' and '.join(names)} models" if names else ""


def _wrapped(head: str, text: str, indent: int) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=head.ljust(indent), subsequent_indent=" " * indent,
                         break_on_hyphens=False) or [head]


def help_text(root: type) -> str:
    """The whole help page for the root config class ``root`` (gan_sweeps.run.train_config.RunConfig)."""
    families = model_families()
    defaults = default_choices()
    lines = [USAGE, "Config groups (GROUP=OPTION; * marks the default):"]
    presets = Rule(help="presets reproducing the seed studies (gan_sweeps/conf/experiment/; -m experiment=NAME)")
    groups = [(name, rule) for name, tp, rule, default in _fields(root) if tp is Any and default is MISSING]
    for name, rule in groups + [(PRESETS_GROUP, presets)]:
        lines += _wrapped(f"  {name}", rule.help + (_readers(name, families) if rule.model_knob else ""), 15)
        options = [o + ("*" if defaults.get(name) == o else "") for o in group_options(name)]
        lines += _wrapped("", "options: " + ", ".join(options), 15)
    lines += ["", "Top-level knobs (KEY=VALUE; sweep with -m KEY=a,b,c; [default]):"]
    for name, tp, rule, default in _fields(root):
        if tp is Any and (default is MISSING or default is None):
            continue  # groups (above) and the Optuna sweeper's trial identity
        if dataclasses.is_dataclass(tp):
            lines += _wrapped(f"  {name}.*", ", ".join(f"{name}.{sub}" for sub, *_ in _fields(tp)), 19)
            continue
        shown = "null" if default is None else str(default).lower() if isinstance(default, bool) else default
        kind = describe(tp, Rule(**{**vars(rule), "help": ""}))
        readers = _readers(name, families) if rule.model_knob else ""
        lines += _wrapped(f"  {name}", f"{rule.help} [{shown}; {kind}{readers}]", 19)
    lines += ["", "Every key of a config, its value, type, range and where it was set:",
              "  python -m gan_sweeps.config.provenance --all [KEY=VALUE ...]",
              "Hydra's flags: --cfg job (print the composed config), --info, --hydra-help."]
    return "\n".join(lines) + "\n"


def register_help() -> None:
    from gan_sweeps.run.train_config import RunConfig

    text = help_text(RunConfig).replace("$", "$$")  # the template is read by string.Template (and OmegaConf)
    register("hydra/help", "gan_sweeps", {"app_name": "gan-sweeps", "header": "", "footer": "", "template": text})
