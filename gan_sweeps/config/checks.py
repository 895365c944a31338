"""The checks a composed config passes before anything is built, once per job: ``preflight`` (every job of a sweep,
by the sweeper before the first starts; a single run, before its folder is made; in a job's own process, by the
task function unless that process passed the same config already). No torch is imported.

In order, the first failure raised as a one-line :class:`ConfigError`:

1. declared keys: nothing outside the typed configs (``+foo=1``), except under open nodes (``+trainer.KEY``);
2. applicability: a model knob (``knob(..., model_knob=True)``) set by anything but the base defaults, for a
   model whose family does not list it in ``reads`` (all such knobs in one line);
3. ranges: each value against its field's rule (``knob(ge=..., choices=...)``);
4. combinations: label smoothing with an unbounded critic, a per-sample penalty with a BatchNorm critic, a data
   set's class count, an ``objective`` the model does not produce;
5. the dataset's files, where ``data.root`` (or, when it is null, the search path) says they are."""

from __future__ import annotations

import dataclasses
from typing import Any, Iterator, Optional, Sequence

from hydra.errors import CompactHydraException
from omegaconf import DictConfig, OmegaConf

from gan_sweeps.config.schema import RULE_KEY, Rule, describe, field_types
from gan_sweeps.config import hydra_defaults
from gan_sweeps.config.sources import CONF_DIR, Provenance, task_overrides


class ConfigError(CompactHydraException, ValueError):
    """A config value is invalid; ``str()`` is one line naming the key, the value and the rule."""


@dataclasses.dataclass(frozen=True)
class Field:
    key: str  # dotted key in the config
    node: DictConfig  # the node holding it
    name: str  # its name in that node
    type: Any
    rule: Rule


def fields(cfg: DictConfig, prefix: str = "") -> Iterator[Field]:
    """Every declared field of every typed node of ``cfg`` (depth first, in declaration order)."""
    schema = OmegaConf.get_type(cfg)
    if not dataclasses.is_dataclass(schema):
        return
    types = field_types(schema)
    for f in dataclasses.fields(schema):
        if f.name not in cfg:
            continue
        key = f"{prefix}{f.name}"
        yield Field(key, cfg, f.name, types[f.name], f.metadata.get(RULE_KEY, Rule()))
        child = cfg._get_node(f.name)
        if isinstance(child, DictConfig) and not OmegaConf.is_interpolation(cfg, f.name) and not child._is_none():
            yield from fields(child, key + ".")


def _value(field: Field) -> Any:
    value = field.node[field.name]
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _shown(key: str, value: Any) -> str:
    return f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"


# ---- 1. declared keys --------------------------------------------------------------------------------------------
def _undeclared(cfg: DictConfig, prefix: str = "", open_node: bool = False) -> Iterator[str]:
    schema = OmegaConf.get_type(cfg)
    if not dataclasses.is_dataclass(schema):
        return
    declared = {f.name: f.metadata.get(RULE_KEY, Rule()) for f in dataclasses.fields(schema)}
    for key in cfg.keys():
        if prefix == "" and key == "hydra":
            continue
        if key not in declared and not open_node:
            yield (f"{prefix}{key} is not a key of {schema.__name__} (added with +{prefix}{key}=...?): nothing reads "
                   f"it; its keys are {', '.join(declared)}")
        child = cfg._get_node(key)
        if isinstance(child, DictConfig) and not OmegaConf.is_interpolation(cfg, key) and not child._is_none():
            rule = declared.get(key, Rule())
            yield from _undeclared(child, f"{prefix}{key}.", rule.open)


# ---- 2. applicability --------------------------------------------------------------------------------------------
def model_schema(cfg: DictConfig) -> Any:
    return OmegaConf.get_type(cfg.model) if "model" in cfg and OmegaConf.is_config(cfg.model) else None


def _model_name(cfg: DictConfig, provenance: Optional[Provenance]) -> str:
    choice = provenance.choices.get("model") if provenance is not None else None
    return choice.value if choice is not None and choice.value else str(cfg.model.get("name"))


@dataclasses.dataclass(frozen=True)
class Unread:
    """A model knob set for a model that does not read it: ``text`` (``k=3``, ``loss=wgan``) and what set it."""

    key: str
    text: str
    source: str
    option_file: Optional[str] = None  # a group choice: the file of its option (a recipe sets other knobs too)


def _unread_items(key: str, cfg: DictConfig, provenance: Provenance) -> list[Unread]:
    choice = provenance.choices.get(key)
    if choice is not None and choice.source.kind != "default":
        return [Unread(key, f"{key}={choice.value}", str(choice.source), f"gan_sweeps/conf/{key}/{choice.value}.yaml")]
    set_keys = [k for k in provenance.set_keys_under(key) if OmegaConf.select(cfg, k, default=None) is not None
                and not OmegaConf.is_config(OmegaConf.select(cfg, k))] or [key]
    return [Unread(k, _shown(k, OmegaConf.select(cfg, k, default=None)), str(provenance.source(k))) for k in set_keys]


def refusal(unread: Sequence[Unread], model: str, family: str) -> str:
    """'k=3 (command line) is not read by model=vae (autoencoder family); remove it'. A knob set by a chosen
    recipe is told as part of that choice: 'loss=wgan (command line; it also sets k, regularizer)'."""
    by_file = {u.option_file: u for u in unread if u.option_file}
    shown = [u for u in unread if by_file.get(u.source) in (None, u)]
    texts = []
    for u in shown:
        also = [v.key for v in unread if v.source == u.option_file and v is not u]
        texts.append(f"{u.text} ({u.source}{'; it also sets ' + ', '.join(also) if also else ''})")
    verb, pronoun = ("is", "it") if len(texts) == 1 else ("are", "them")
    return f"{', '.join(texts)} {verb} not read by model={model} ({family} family); remove {pronoun}"


def not_read(cfg: DictConfig, provenance: Provenance) -> Optional[str]:
    """The one-line refusal of model knobs that were set although the chosen model does not read them."""
    schema = model_schema(cfg)
    if schema is None:
        return None
    knobs = [f.key for f in fields(cfg) if f.rule.model_knob]
    unread = [u for k in knobs if k not in schema.reads and provenance.is_set(k)
              for u in _unread_items(k, cfg, provenance)]
    return refusal(unread, _model_name(cfg, provenance), schema.family) if unread else None


def choice_problem(overrides: Sequence[str]) -> Optional[str]:
    """Applicability of the group choices alone, for a config that failed to compose (``model=vae
    loss=wgan_gp``: the recipe sets the critic's BatchNorm, which a VAE does not have)."""
    try:
        provenance = Provenance.of(overrides)
        model = provenance.choices.get("model")
        node = hydra_defaults.load_option(str(CONF_DIR), f"model/{model.value}") if model and model.value else None
        schema = OmegaConf.get_type(node) if node is not None else None
    except Exception:  # noqa: BLE001 - no better explanation than the composition error itself
        return None
    if schema is None or not hasattr(schema, "reads"):
        return None
    from gan_sweeps.run.train_config import RunConfig

    groups = [f.name for f in dataclasses.fields(RunConfig) if f.metadata.get(RULE_KEY, Rule()).model_knob
              and f.name in provenance.choices]
    unread = [Unread(g, f"{g}={provenance.choices[g].value}", str(provenance.choices[g].source),
                     f"gan_sweeps/conf/{g}/{provenance.choices[g].value}.yaml")
              for g in groups if g not in schema.reads and provenance.choices[g].source.kind != "default"]
    return refusal(unread, model.value, schema.family) if unread else None


# ---- 3. ranges ---------------------------------------------------------------------------------------------------
def _out_of_range(cfg: DictConfig) -> Iterator[str]:
    for f in fields(cfg):
        if OmegaConf.is_interpolation(f.node, f.name) or not f.rule.has_range:
            continue  # an interpolation is checked where its value is declared
        value = _value(f)
        if isinstance(value, dict):
            continue
        if f.rule.violated_by(value):
            yield f"{_shown(f.key, value)} is invalid: must be {describe(f.type, f.rule)}"


# ---- 4. combinations ---------------------------------------------------------------------------------------------
def _choice(cfg: DictConfig, provenance: Optional[Provenance], group: str) -> str:
    choice = provenance.choices.get(group) if provenance is not None else None
    if choice is not None and choice.value:
        return choice.value
    return getattr(OmegaConf.get_type(cfg[group]), "name", "?")


def _combinations(cfg: DictConfig, provenance: Optional[Provenance]) -> Iterator[str]:
    schema = model_schema(cfg)
    reads = getattr(schema, "reads", frozenset())
    loss = OmegaConf.get_type(cfg.loss) if "loss" in cfg else None
    if "label_smoothing" in reads and cfg.label_smoothing and not getattr(loss, "supports_label_smoothing", True):
        yield (f"label_smoothing={cfg.label_smoothing} cannot be used with loss={_choice(cfg, provenance, 'loss')}: "
               "one-sided smoothing has no meaning for an unbounded critic")
    regularizer = OmegaConf.get_type(cfg.regularizer) if "regularizer" in cfg else None
    batch_norm = OmegaConf.select(cfg, "model.discriminator.batch_norm", default=None)
    if "regularizer" in reads and getattr(regularizer, "per_sample", False) and batch_norm is True:
        yield (f"regularizer={_choice(cfg, provenance, 'regularizer')} cannot be used with a BatchNorm critic "
               f"(model.discriminator.batch_norm=true): its penalty is per sample; set "
               "model.discriminator.batch_norm=false")
    if "d_step" in reads and cfg.d_step == "separate" and getattr(regularizer, "pairs_real_and_fake", False):
        yield (f"d_step=separate cannot be used with regularizer={_choice(cfg, provenance, 'regularizer')}: its "
               "penalty needs real and fake images in the same D step; use d_step=joint")
    if OmegaConf.select(cfg, "model.g_loss") == "non_saturating" and \
            OmegaConf.select(cfg, "model.feature_matching", default="hidden") != "hidden":
        yield (f"model.feature_matching={cfg.model.feature_matching} cannot be used with "
               "model.g_loss=non_saturating: the generator matches no features")
    from gan_sweeps.data.datasets import CLASS_NAMES

    classes = len(CLASS_NAMES.get(cfg.data.name, ())) or None
    if classes is not None and cfg.data.num_classes != classes:
        yield (f"data.num_classes={cfg.data.num_classes} is invalid: {cfg.data.name} has {classes} classes "
               "(a fact of the dataset, not a knob)")
    metrics = getattr(schema, "metrics", ())
    if metrics and provenance is not None and provenance.is_set("objective") and cfg.objective not in metrics:
        yield (f"objective={cfg.objective!r} ({provenance.source('objective')}) names no metric of "
               f"model={_model_name(cfg, provenance)}; it produces: {', '.join(metrics)}")


# ---- 5. data -----------------------------------------------------------------------------------------------------
def _dataset(cfg: DictConfig) -> Iterator[str]:
    from gan_sweeps.data.datasets import DatasetNotFoundError, locate

    if cfg.data.download:
        return
    try:
        locate(cfg.data.name, cfg.data.root)
    except DatasetNotFoundError as exc:
        yield str(exc)


# ---- entry points ------------------------------------------------------------------------------------------------
def problems(cfg: DictConfig, provenance: Optional[Provenance] = None, data: bool = True) -> Iterator[str]:
    """Every problem of ``cfg``, in the order of the module docstring (applicability needs ``provenance``)."""
    yield from _undeclared(cfg)
    if provenance is not None:
        unread = not_read(cfg, provenance)
        if unread:
            yield unread
    yield from _out_of_range(cfg)
    yield from _combinations(cfg, provenance)
    if data:
        yield from _dataset(cfg)


def validate(cfg: DictConfig, provenance: Optional[Provenance] = None, data: bool = True) -> None:
    """Raise ConfigError (one line) on the first problem of ``cfg``."""
    for problem in problems(cfg, provenance, data):
        raise ConfigError(problem)


_CHECKED: dict[str, Provenance] = {}  # the configs this process passed, by content: each job is checked once


def _fingerprint(cfg: DictConfig, overrides: Sequence[str], swept: Sequence[str]) -> str:
    """A job's config (unresolved, without the Hydra node, which differs between a sweeper's copy and the job's)
    and its overrides, as one text."""
    own = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    return OmegaConf.to_yaml(own) + "\0".join(overrides) + "\0\0" + "\0".join(swept)


def preflight(cfg: DictConfig, overrides: Optional[Sequence[str]] = None) -> Provenance:
    """Check a job's composed config before anything is built; return its provenance.

    The pre-flight contract of gan-sweeps' task function (``task.preflight``): sweepers call it with each job's
    config (which carries ``cfg.hydra``: the overrides are read from there); inside a job the running Hydra job
    gives them. A config this process already passed (the sweeper's or the ``Preflight`` callback's check, then
    the job's own in the same process) is not checked again: its provenance is returned. Raises
    :class:`ConfigError`, whose ``str()`` is one line naming the key. Imports no torch."""
    found, swept = task_overrides(cfg)
    used = list(found if overrides is None else overrides)
    key = _fingerprint(cfg, used, swept)
    if key not in _CHECKED:
        provenance = Provenance.of(used, swept)
        validate(cfg, provenance)
        _CHECKED[key] = provenance
    return _CHECKED[key]
