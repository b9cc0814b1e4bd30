"""Many seeds of one experiment in one program, spread over devices, and statistics over seeds.

A per-seed step `(state, batch, key) -> (state, metrics)` is written for one seed. `make(S)`
returns a `SeedParallel` whose `compile` vmaps it over a leading seed axis of the state and of
the key and shards that axis over a `seeds` device mesh, so 8 TPU cores train 8 or 16 seeds at
once and one CPU trains them all in one program. Seeds never communicate: a seed's numbers do
not depend on how many devices share the work (up to float reassociation in batched matmuls).

The host interface (`put_state`, `put_batch`, `get_state`, `first`) is the one `train_loop`
uses from `parallel.DataParallel`, so the same loop runs either. Each seed's state holds a
scalar "step"; the stacked state's "step" has shape [S].

Statistics: every report and rule summarises per-seed numbers with `summary` and tests a
difference with `compare` (Student t intervals, so 3 seeds need |mean| > 4.30 s.e. at 95%).
"""

import dataclasses
import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P
from scipy import stats

from genjax.errors import UserError

AXIS = "seeds"
MODES = ("auto", "none", "shard_map")


def seed_keys(seed: int, num_seeds: int, tag: int | None = None) -> jax.Array:
  """One key per seed: fold_in(key(seed)[, tag], s) for s in 0..S-1."""
  base = jax.random.key(seed)
  if tag is not None:
    base = jax.random.fold_in(base, tag)
  return jax.vmap(lambda s: jax.random.fold_in(base, s))(jnp.arange(num_seeds))


# ---------------------------------------------------------------- statistics over seeds


def summary(values: Sequence[float]) -> dict:
  """{"mean", "sd" (ddof 1), "se", "seeds": the per-seed values}; sd = se = 0 for one seed."""
  x = np.asarray(values, np.float64).reshape(-1)
  if x.size == 0:
    raise ValueError("summary of no seeds")
  sd = float(x.std(ddof=1)) if x.size > 1 else 0.0
  return {"mean": float(x.mean()), "sd": sd, "se": sd / math.sqrt(x.size),
          "seeds": x.tolist()}


def t_critical(dof: float, confidence: float = 0.95) -> float:
  """Two-sided Student-t quantile: 4.30 for 2 degrees of freedom at 95%."""
  return float(stats.t.ppf(0.5 + confidence / 2, dof))


def compare(a: Sequence[float], b: Sequence[float], *, paired: bool,
            confidence: float = 0.95) -> dict:
  """Mean of a - b with its Student-t interval; "clear" when the interval excludes 0.

  paired: seed i of `a` and of `b` share what a seed fixes (data order, init), so the test is on
  the per-seed differences (n - 1 degrees of freedom). Unpaired: Welch's interval. With one seed
  per side there is no spread to test against: the interval is infinite and "clear" is False.
  "n" is the seeds per side (of `a`) and "sd" the per-seed s.d. behind the interval (se * sqrt(n):
  for paired seeds the s.d. of the differences), nan without a spread.
  """
  a, b = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
  if paired:
    if a.size != b.size:
      raise ValueError(f"paired comparison of {a.size} and {b.size} seeds")
    d = a - b
    diff = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.inf
    dof = float(d.size - 1)
  else:
    diff = float(a.mean() - b.mean())
    va = a.var(ddof=1) / a.size if a.size > 1 else math.inf
    vb = b.var(ddof=1) / b.size if b.size > 1 else math.inf
    se = float(math.sqrt(va + vb))
    if math.isfinite(se) and se > 0:  # Welch-Satterthwaite
      dof = float((va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1)))
    else:
      dof = float(a.size + b.size - 2)
  n = int(a.size)
  sd = se * math.sqrt(n) if math.isfinite(se) else math.nan
  if dof < 1 or not math.isfinite(se):
    return {"diff": diff, "se": math.inf, "dof": dof, "t_critical": math.inf,
            "low": -math.inf, "high": math.inf, "clear": False, "n": n, "sd": math.nan}
  t = t_critical(dof, confidence)
  low, high = diff - t * se, diff + t * se
  # se == 0 (identical differences on every seed): the interval is the point itself.
  return {"diff": diff, "se": se, "dof": dof, "t_critical": t, "low": low, "high": high,
          "clear": bool(low > 0 or high < 0), "n": n, "sd": sd}


# ---------------------------------------------------------------- seeds over devices


@dataclasses.dataclass(frozen=True)
class SeedParallel:
  """Runs a per-seed step on S stacked seeds, the seed axis sharded over `devices`."""

  mode: str  # "none" (one device) or "shard_map"
  devices: tuple
  num_seeds: int

  @property
  def num_devices(self) -> int:
    return 1 if self.mode == "none" else len(self.devices)

  @functools.cached_property
  def mesh(self) -> jax.sharding.Mesh:
    return jax.sharding.Mesh(np.array(self.devices), (AXIS,))

  def _sharding(self, spec):
    return NamedSharding(self.mesh, spec)

  def compile(self, per_seed_step, batch_axis: int | None = None, donate: bool = True):
    """`(state_S, batch, keys_S) -> (state_S, metrics_S)`; the result counts its traces.

    batch_axis: None when every seed sees the same batch, 0 when the batch has a leading seed
    axis (each seed its own data).
    """
    traces = [0]
    stepped = jax.vmap(per_seed_step, in_axes=(0, batch_axis, 0))

    def counted(state, batch, keys):
      traces[0] += 1
      return stepped(state, batch, keys)

    donate_argnums = (0,) if donate else ()
    if self.mode == "none":
      step = jax.jit(counted, donate_argnums=donate_argnums)
    else:
      batch_spec = P() if batch_axis is None else P(AXIS)
      mapped = jax.shard_map(counted, mesh=self.mesh, in_specs=(P(AXIS), batch_spec, P(AXIS)),
                             out_specs=(P(AXIS), P(AXIS)))
      jitted = jax.jit(mapped, donate_argnums=donate_argnums)

      def step(state, batch, keys):
        # Keys made on the host are committed to one device; place them like the state.
        return jitted(state, batch, self.put_keys(keys))

    step = _with_trace_count(step, traces)
    return step

  def put_keys(self, keys):
    if self.mode == "none":
      return keys
    return jax.device_put(keys, self._sharding(P(AXIS)))

  def put_state(self, state):
    """Stacked host state -> device state (a copy: the compiled step donates its input)."""
    copied = jax.tree.map(lambda x: jnp.array(x, copy=True), state)
    if self.mode == "none":
      return jax.device_put(copied, self.devices[0])
    return jax.device_put(copied, self._sharding(P(AXIS)))

  def put_batch(self, batch, batch_axis: int | None = None):
    if self.mode == "none":
      return jax.device_put(batch, self.devices[0])
    return jax.device_put(batch, self._sharding(P() if batch_axis is None else P(AXIS)))

  def get_state(self, state):
    return state

  def first(self, metrics):
    return metrics


def _with_trace_count(fn, traces):
  def step(*args):
    return fn(*args)

  step.num_traces = lambda: traces[0]
  return step


def make(num_seeds: int, mode: str = "auto", num_devices: int | None = None) -> SeedParallel:
  """Uses the most devices (up to num_devices; 0 or None: all) that divide num_seeds evenly."""
  if mode not in MODES:
    raise UserError(f"config.parallel must be one of {', '.join(MODES)} for a seeds experiment; "
                    f"got {mode!r}")
  if num_seeds < 1:
    raise UserError(f"config.num_seeds must be >= 1, got {num_seeds}")
  devices = jax.devices()
  if num_devices:
    if num_devices > len(devices):
      raise UserError(f"config.num_devices={num_devices} but only {len(devices)} "
                      f"{devices[0].platform} devices are visible")
    devices = devices[:num_devices]
  used = max(n for n in range(1, len(devices) + 1) if num_seeds % n == 0)
  if mode == "none" or (mode == "auto" and used == 1):
    return SeedParallel("none", tuple(devices[:1]), num_seeds)
  return SeedParallel("shard_map", tuple(devices[:used]), num_seeds)
