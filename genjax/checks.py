"""Config validation that fails in one line naming the field and the value."""

from collections.abc import Iterable

from ml_collections import ConfigDict

from genjax.errors import UserError


def _get(config: ConfigDict, path: str):
  value = config
  for part in path.split("."):
    value = value[part]
  return value


def require_positive(config: ConfigDict, *paths: str) -> None:
  for path in paths:
    value = _get(config, path)
    if isinstance(value, (list, tuple)):
      bad = [v for v in value if not v > 0]
    else:
      bad = [] if value is not None and value > 0 else [value]
    if bad:
      raise UserError(f"config.{path} must be > 0, got {value!r}")


def require_non_negative(config: ConfigDict, *paths: str) -> None:
  for path in paths:
    value = _get(config, path)
    values = value if isinstance(value, (list, tuple)) else [value]
    if any(v is None or v < 0 for v in values):
      raise UserError(f"config.{path} must be >= 0, got {value!r}")


def require_choice(config: ConfigDict, path: str, choices: Iterable[str]) -> None:
  choices = tuple(choices)
  value = _get(config, path)
  if value not in choices:
    raise UserError(f"config.{path} must be one of {', '.join(map(str, choices))}; got {value!r}")
