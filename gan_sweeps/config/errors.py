"""One line for every way a command line can be wrong.

``ConfigError`` (``checks``) is what the checks raise (one line naming the key). :func:`one_line` turns Hydra's and
OmegaConf's multi-line composition errors (an unparsable override, a wrong type, an unknown key or option) into
one line that names the key and, where the key is declared, the rule it breaks."""

from __future__ import annotations

import difflib
from typing import Any, Sequence

from hydra.errors import CompactHydraException, ConfigCompositionException, MissingConfigException
from hydra.errors import OverrideParseException
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException, ValidationError

from gan_sweeps.config.checks import ConfigError, choice_problem
from gan_sweeps.config.schema import describe, field_types, rule_of


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def _first(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")


def _override_of(key: str, overrides: Sequence[str]) -> str | None:
    for o in overrides:
        if o.lstrip("+~").split("=", 1)[0].split("@")[0] == key:
            return o
    return None


def _rule_text(schema: Any, key: str) -> str | None:
    try:
        return describe(field_types(schema)[key], rule_of(schema, key))
    except (KeyError, TypeError):
        return None


def _close(word: str, schema: Any) -> str:
    import dataclasses

    if not dataclasses.is_dataclass(schema):
        return ""
    names = [f.name for f in dataclasses.fields(schema)]
    near = difflib.get_close_matches(word, names, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(near)}?" if near else f"; its keys: {', '.join(names)}"


def _omegaconf_line(err: OmegaConfBaseException, overrides: Sequence[str]) -> str | None:
    key = getattr(err, "full_key", None) or getattr(err, "key", None)
    schema = getattr(err, "object_type", None)
    leaf = str(getattr(err, "key", "") or "").rpartition(".")[2]
    if not key:
        return None
    given = _override_of(str(key), overrides)
    if isinstance(err, ConfigKeyError) or "not in" in str(err.msg) or "not in struct" in str(err.msg):
        where = f"'{schema.__name__}'" if isinstance(schema, type) else "the config"
        added = " (+KEY=VALUE adds keys only under trainer.)" if given and given.startswith("+") else ""
        return f"{given or key}: {key} is not a key of {where}{_close(leaf, schema)}{added}"
    if isinstance(err, ValidationError):
        rule = _rule_text(schema, leaf) if isinstance(schema, type) else None
        value = given.split("=", 1)[1] if given and "=" in given else None
        shown = f"{key}={value}" if value is not None else key
        return f"{shown} is invalid: must be {rule}" if rule else f"{shown} is invalid: {_first(err.msg)}"
    return None


def one_line(exc: BaseException, overrides: Sequence[str] = ()) -> str:
    """A one-line description of a failure to compose or check a config (``overrides``: the command line)."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(getattr(exc, "lines", None), list):  # a sweeper's pre-flight: a header and one line per job
        return str(exc)
    keyless = [o for o in overrides if o.lstrip("+~").startswith("=")]
    if keyless:
        return f"{keyless[0]!r} has no key: overrides are KEY=VALUE, GROUP=OPTION, +KEY=VALUE or ~KEY"
    if isinstance(exc, OverrideParseException):
        lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.startswith("See ")]
        return f"{'; '.join(lines)} (overrides are KEY=VALUE, GROUP=OPTION, +KEY=VALUE or ~KEY)"
    if isinstance(exc, MissingConfigException):
        text = str(exc)
        missing = _first(text)
        options = [line.strip() for line in text.splitlines()[1:] if line.strip()]
        if options and options[0].startswith("Available options"):
            names = [o for o in options[1:] if not o.startswith(("Config search path", "provider="))]
            missing = missing.removeprefix("In 'config': ")
            return f"{missing}; {options[0].rstrip(':').lower()}: {', '.join(names)}"
        return _flat(text)
    cause = exc.__cause__
    if isinstance(cause, OmegaConfBaseException):
        line = _omegaconf_line(cause, overrides)
        if line:
            return line
    if isinstance(exc, ConfigCompositionException):
        problem = choice_problem(overrides)  # e.g. a recipe for another model family failed to merge
        if problem:
            return problem
        detail = f": {_flat(cause)}" if cause is not None and str(cause) not in str(exc) else ""
        return _flat(str(exc)) + detail
    if isinstance(exc, OmegaConfBaseException):
        return _omegaconf_line(exc, overrides) or _flat(str(exc))
    return f"{type(exc).__name__}: {_flat(str(exc))}"


def is_config_failure(exc: BaseException, overrides: Sequence[str] = ()) -> bool:
    """True for errors caused by what the user typed (reported in one line), False for internal errors."""
    keyless = any(o.lstrip("+~").startswith("=") for o in overrides)
    return keyless or isinstance(exc, (CompactHydraException, OmegaConfBaseException, ConfigError))

