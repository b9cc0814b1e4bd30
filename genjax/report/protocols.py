"""What ran, in one phrase per run: the configuration its flagfile starts from (a config file and
variant), what the flagfile changes, and, where that is not the experiment's full configuration,
which fields the full one sets otherwise. Read from the run's config and flagfile, never typed.
"""

import dataclasses
import functools
import importlib.util
import os

from genjax import identity, registry

FULL = "full"  # the variant name of an experiment's full configuration, where it has one
SHOWN = 4  # fields the full configuration sets otherwise, named before "and N more"
SHOWN_CHANGES = 6  # fields a flagfile changes, named (with their values) before "and N more"


def _resolve(path: str) -> str:
  return path if os.path.isabs(path) or os.path.exists(path) else os.path.join(registry.ROOT,
                                                                                path)


def _read(flagfile: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
  """(its flag lines, nested flagfiles read in place as absl does; the flagfiles it reads in
  place, nested ones depth first, as written)."""
  lines, included = [], []
  with open(_resolve(flagfile)) as f:
    for line in f:
      line = line.strip()
      if line.startswith("--flagfile="):
        nested = line.split("=", 1)[1]
        nested_lines, nested_included = _read(nested)
        lines += nested_lines
        included += [nested, *nested_included]
      elif line.startswith("--"):
        lines.append(line)
  return tuple(lines), tuple(included)


def config_source(flagfile: str, default: str) -> tuple[str, str | None]:
  """(config file, variant) a flagfile starts from: its last --config= (nested flagfiles read in
  place, as absl does), else the experiment's own config file with no variant."""
  source: tuple[str, str | None] = (default, None)
  for line in _read(flagfile)[0]:
    if line.startswith("--config="):
      path, _, variant = line.split("=", 1)[1].partition(":")
      source = (path, variant or None)
  return source


def included(run) -> list[str]:
  """The flagfiles the run's flagfile reads in place (--flagfile=), nested ones depth first, as
  written; none for a run without a flagfile or config (as `of`). `--compare` pairs a renamed
  run through them."""
  if not (run.flagfile and run.config is not None):
    return []
  return list(_read(run.flagfile)[1])


@functools.cache
def _module(path: str):
  spec = importlib.util.spec_from_file_location(f"_protocol_config_{abs(hash(path))}",
                                                _resolve(path))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _fields(module, variant: str | None, experiment) -> dict | None:
  """The numbers-changing fields of one variant; None where the config file has no such one."""
  try:
    return identity.fingerprint(module.get_config(variant), experiment)
  except ValueError:
    return None


def _label(module, variant: str | None, experiment) -> str:
  """A variant's name; for none, the variant the default equals ("full" where there is no full
  variant: then the default is the full configuration)."""
  if variant:
    return variant
  default = _fields(module, None, experiment)
  for name in (FULL, "quick"):
    if _fields(module, name, experiment) == default:
      return name
  return FULL if _fields(module, FULL, experiment) is None else "default"


def _value(v) -> str:
  text = str(v)
  return text if len(text) <= 30 else text[:27] + "..."


def _named(keys: list[str], shown: int = SHOWN) -> str:
  text = ", ".join(keys[:shown])
  return text + (f" and {len(keys) - shown} more" if len(keys) > shown else "")


@dataclasses.dataclass(frozen=True)
class Protocol:
  """What a run's config is, against the config file it starts from and the full one."""

  path: str  # the config file
  variant: str | None  # as the flagfile names it
  label: str  # the variant's name ("full" where it is the full configuration)
  seeds: int | None  # num_seeds where the flagfile changes it
  changes: tuple[str, ...]  # the other fields it changes, as field=value
  differ: tuple[str, ...]  # fields the full configuration sets otherwise (none for label full)

  def short(self) -> str:
    """E.g. "the quick configuration with 5 seeds" (a claim's run line)."""
    more = f"{len(self.changes)} more change{'s' if len(self.changes) != 1 else ''}"
    with_ = [f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"] if self.seeds else []
    with_ += [more] if self.changes else []
    return f"the {self.label} configuration" + (f" with {' and '.join(with_)}" if with_ else "")

  def long(self) -> str:
    """The short phrase with the config file, the changes and how the full one differs."""
    with_ = ([f"{self.seeds} seed{'s' if self.seeds != 1 else ''}"] if self.seeds else [])
    with_ += [_named(list(self.changes), SHOWN_CHANGES)] if self.changes else []
    line = (f"the {self.label} configuration (`{self.path}"
            f"{':' + self.variant if self.variant else ''}`)"
            + (f" with {', '.join(with_)}" if with_ else ""))
    if self.label == FULL:
      return line
    return line + (f"; the full configuration differs in {_named(list(self.differ))}"
                   if self.differ else "; the same as the full configuration")


def of(run) -> Protocol | None:
  """The run's protocol; None for a run without a flagfile or config (made by hand, a test). A
  flagfile naming a variant its config file lacks raises ValueError."""
  if not (run.experiment and run.flagfile and run.config is not None):
    return None
  experiment = registry.EXPERIMENTS[run.experiment]
  path, variant = config_source(run.flagfile, os.path.relpath(experiment.config_path,
                                                              registry.ROOT))
  module = _module(path)
  base = _fields(module, variant, experiment)
  if base is None:
    raise ValueError(f"{run.flagfile}: {path} has no variant {variant!r}")
  mine = identity.fingerprint(run.config, experiment)
  changed = [k for k in mine if base.get(k) != mine[k]]
  label = _label(module, variant, experiment)
  full = _fields(module, FULL, experiment) or _fields(module, None, experiment)
  differ = () if label == FULL else tuple(k for k in sorted(full.keys() | mine.keys())
                                          if full.get(k) != mine.get(k))
  return Protocol(path, variant, label, mine["num_seeds"] if "num_seeds" in changed else None,
                  tuple(f"{k}={_value(mine[k])}" for k in changed if k != "num_seeds"), differ)


def describe(run) -> str:
  """`Protocol.long` of the run; "" where it has none."""
  protocol = of(run)
  return protocol.long() if protocol else ""


def short(run) -> str:
  """`Protocol.short` of the run; "" where it has none."""
  protocol = of(run)
  return protocol.short() if protocol else ""
