"""Config validation that fails in one line naming the field and the value."""

from collections.abc import Iterable

from ml_collections import ConfigDict

from genjax.errors import UserError


def _get(config: ConfigDict, path: str):
  value = config
  for part in path.split("."):
    value = value[part]
  return value


def _numbers(config: ConfigDict, path: str) -> tuple[object, list]:
  value = _get(config, path)
  values = list(value) if isinstance(value, (list, tuple)) else [value]
  if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
    raise UserError(f"config.{path} must be numeric, got {value!r}")
  return value, values


def require_positive(config: ConfigDict, *paths: str) -> None:
  for path in paths:
    value, values = _numbers(config, path)
    if not all(v > 0 for v in values):
      raise UserError(f"config.{path} must be > 0, got {value!r}")


def require_non_negative(config: ConfigDict, *paths: str) -> None:
  for path in paths:
    value, values = _numbers(config, path)
    if not all(v >= 0 for v in values):
      raise UserError(f"config.{path} must be >= 0, got {value!r}")


def require_choice(config: ConfigDict, path: str, choices: Iterable[str]) -> None:
  choices = tuple(choices)
  value = _get(config, path)
  if value not in choices:
    raise UserError(f"config.{path} must be one of {', '.join(map(str, choices))}; got {value!r}")
