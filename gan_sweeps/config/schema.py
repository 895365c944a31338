"""How a knob is declared: one dataclass field per key, beside the code that reads it.

The field's annotation is its type (OmegaConf checks it while Hydra composes: ``seed=abc`` never reaches the code);
``knob(...)`` adds the rest in the field's metadata, read by :mod:`gan_sweeps.config.checks` (ranges, choices,
applicability) and by ``--help``::

    @dataclass
    class AdamConfig(OptimConfig):
        beta1: float = knob(0.5, ge=0, lt=1, help="Adam's first-moment decay")

A config class that Hydra should offer as a group option is registered with :func:`register` in a module named
``*_config.py`` anywhere under ``gan_sweeps/`` (found by :func:`gan_sweeps.config.registry.register_configs`, so a
new model adds files and edits no table). Such modules import neither torch nor Lightning: they are read before
a bad value is refused, which must take well under 2 s."""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union, get_args, get_origin, get_type_hints

from omegaconf import MISSING

RULE_KEY = "gan_sweeps"  # the field-metadata key holding a knob's Rule


@dataclass(frozen=True)
class Rule:
    """What a value must satisfy beyond its type, and one line of help.

    ``ge``/``gt``/``le``/``lt`` bound numbers (and each item of a list), ``choices`` lists the allowed values,
    ``check`` is a predicate for anything else (``check_text`` says what it wants). ``model_knob`` marks a key
    that only some model families read (they list it in ``ModelConfig.reads``); setting it for another family
    is refused. ``open`` marks a node whose extra keys are passed on as they are (``trainer``: any
    ``pytorch_lightning.Trainer`` argument with ``+trainer.KEY=VALUE``)."""

    help: str = ""
    ge: Optional[float] = None
    gt: Optional[float] = None
    le: Optional[float] = None
    lt: Optional[float] = None
    choices: Optional[tuple] = None
    check: Optional[Callable[[Any], bool]] = None
    check_text: str = ""
    model_knob: bool = False
    open: bool = False

    @property
    def has_range(self) -> bool:
        """True when the rule says more than the type does (bounds, choices or a predicate)."""
        return any(v is not None for v in (self.ge, self.gt, self.le, self.lt, self.choices, self.check))

    def _in_range(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return True  # strings and booleans: only choices or a predicate constrain them
        if isinstance(v, float) and not math.isfinite(v):
            return False
        return ((self.ge is None or v >= self.ge) and (self.gt is None or v > self.gt)
                and (self.le is None or v <= self.le) and (self.lt is None or v < self.lt))

    def violated_by(self, value: Any) -> bool:
        """True when a (type-checked, resolved) value breaks the rule. A predicate judges the whole value; bounds
        and choices judge each item of a list. None passes (the type says whether null is allowed)."""
        if value is None:
            return False
        if self.check is not None:
            return not self.check(value)
        if isinstance(value, (list, tuple)):
            return any(self.violated_by(item) for item in value)
        if self.choices is not None:
            return value not in self.choices
        return not self._in_range(value)

    def bounds_text(self) -> str:
        low = f"[{_num(self.ge)}" if self.ge is not None else f"({_num(self.gt)}" if self.gt is not None else None
        high = f"{_num(self.le)}]" if self.le is not None else f"{_num(self.lt)})" if self.lt is not None else None
        if low and high:
            return f"in {low}, {high}"
        if low:
            return f">= {_num(self.ge)}" if self.ge is not None else f"> {_num(self.gt)}"
        if high:
            return f"<= {_num(self.le)}" if self.le is not None else f"< {_num(self.lt)}"
        return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def knob(default: Any = MISSING, *, help: str = "", factory: Optional[Callable[[], Any]] = None,
         **rule: Any) -> Any:
    """A dataclass field with its rule and help (keywords of :class:`Rule`); ``factory`` for mutable defaults."""
    metadata = {RULE_KEY: Rule(help=help, **rule)}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def nested(config: type, **values: Any) -> Any:
    """A field whose default is ``config(**values)`` (a net's config filled with interpolations, usually)."""
    return dataclasses.field(default_factory=lambda: config(**values))


def const(value: str, help: str = "") -> Any:
    """A string field that may hold only its default (a variant's ``name``, set by choosing the option)."""
    return knob(value, choices=(value,), help=help or "set by choosing the option, not by hand")


def rule_of(schema: type, key: str) -> Rule:
    """The Rule of field ``key`` of dataclass ``schema`` (an empty Rule for a plain field)."""
    for f in dataclasses.fields(schema):
        if f.name == key:
            return f.metadata.get(RULE_KEY, Rule())
    raise KeyError(key)


def field_types(schema: type) -> dict[str, Any]:
    """Resolved annotations of a dataclass's fields."""
    return get_type_hints(schema, globalns=vars(sys.modules[schema.__module__]))


def type_text(tp: Any) -> str:
    """'an integer', 'a number', 'null or a string', ... for one annotation."""
    origin = get_origin(tp)
    if origin is Union:
        args = [a for a in get_args(tp) if a is not type(None)]
        inner = " or ".join(type_text(a) for a in args)
        return f"null or {inner}" if len(args) < len(get_args(tp)) else inner
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        items = get_args(tp)
        return f"a list of {_plural(type_text(items[0]))}" if items else "a list"
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(tp, "a value")


def _plural(text: str) -> str:
    return {"an integer": "integers", "a number": "numbers", "a string": "strings"}.get(text, text)


def describe(tp: Any, rule: Rule) -> str:
    """What a value must be, in words: 'an integer >= 1', 'a number in [0, 1)', "one of ['mlp', 'conv']"."""
    if rule.choices is not None:
        base = f"one of {list(rule.choices)}"
        is_list = get_origin(tp) in (list, tuple) or any(get_origin(a) in (list, tuple) for a in get_args(tp))
        text = f"a list drawn from {list(rule.choices)}" if is_list else base
    elif rule.check is not None:
        text = rule.check_text or type_text(tp)
    else:
        text = type_text(tp)
        bounds = rule.bounds_text()
        if bounds:
            text = f"{text} {bounds}" if not text.startswith("a list of ") else f"{text} {bounds}"
    if rule.help:
        text += f" ({rule.help})"
    return text


def group_of(config_path: str) -> str:
    """'model/dcgan' -> 'model'; 'config' -> ''."""
    return config_path.rpartition("/")[0]


def register(group: Optional[str], name: str, node: Any, package: Optional[str] = None) -> None:
    """Offer ``node`` (a dataclass or an instance of one) as option ``name`` of ``group`` in Hydra's ConfigStore;
    the caller's module is recorded as the option's provider (``--info`` and the provenance command show it)."""
    from hydra.core.config_store import ConfigStore

    module = sys._getframe(1).f_globals.get("__name__", "gan_sweeps")
    ConfigStore.instance().store(group=group, name=name, node=node, package=package, provider=module)


def module_path(module: str) -> str:
    """'gan_sweeps.training.optim_config' -> 'gan_sweeps/training/optim_config.py' (how sources are shown to users)."""
    return module.replace(".", "/") + ".py"
