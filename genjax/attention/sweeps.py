"""The three sweeps: scaling in n, the encoder-layer crossover, the longest n. Rows of dicts.

Every timing goes through genjax.timing: the candidates are compiled first, then timed in
interleaved rounds, so load from other processes hits them alike (the scaling sweep times every
variant and n of a mode in the same rounds; the crossover sweep, the parts at each point).
"""

import functools
import statistics

import jax
import jax.numpy as jnp
import numpy as np

from genjax import timing
from genjax.attention import encoder, measure

# The reference matmul's size. 1024^3 takes ~5 ms on the 2-core CPU, short enough that one
# scheduler hiccup doubles it (seen: 5.5 -> 15.5 ms within one point), and dividing by it then
# adds noise instead of removing load; 2048^3 (~40 ms) averages over hiccups.
REFERENCE_SIZE = 2048


def is_out_of_memory(error: Exception) -> bool:
  """Whether a JAX runtime error is the device refusing an allocation."""
  return "RESOURCE_EXHAUSTED" in str(error)


def _failed(error: Exception) -> str:
  """A row's status for a call that raised: the error's type and first line."""
  first_line = (str(error).splitlines() or [""])[0]  # a bare MemoryError() has no message
  return f"failed: {type(error).__name__}: {first_line[:120]}"


def _timed_row(row, ts):
  return dict(row, status="ok", time_s=statistics.median(ts), time_min_s=min(ts),
              time_max_s=max(ts), times=" ".join(f"{t:.5f}" for t in ts))


def scaling_sweep(config, ns, key, on_point=None):
  """Time and memory of every variant and mode at config.probe_n and over ns; row dicts."""
  dtype = jnp.dtype(config.dtype)
  rows = []
  stopped = {}  # (variant, mode) -> reason it stopped growing n
  # A fixed matmul timed in every round: time / reference cancels machine-wide slowdowns from
  # other processes, which otherwise bend the slopes on a shared machine.
  reference, _ = timing.matmul(REFERENCE_SIZE)
  timing.time_call(reference)  # its warm-up, once for the whole sweep
  fns = measure.variant_fns(config, config.variants, jax.random.fold_in(key, 7))
  for mode in config.modes:
    names = [nm for nm in config.variants
             if mode == "forward" or nm in config.backward_variants]
    # Pass 1, n growing: compile each program, read its memory and XLA's counts, warm it up
    # (which decides whether n may grow) and check its error. The probe n first: its times
    # bound each program's fixed cost per call (slopes.window).
    points = []  # (row, call) of every program of this mode, in n order
    for n in (config.probe_n, *ns):
      if mode == "forward_backward" and n > config.backward_n_max:
        continue
      q, k, v, ct = measure.make_qkv((config.seed, 0, n), config.batch, n, config.heads,
                                     config.head_dim, dtype)
      shape = jax.ShapeDtypeStruct(q.shape, dtype)
      compiled, info = {}, {}
      for name in names:
        if (name, mode) in stopped:
          continue
        prog = measure.attention_program(fns[name], mode, config.causal)
        point = dict(section="scaling", variant=name, mode=mode, n=n, d=config.head_dim,
                     heads=config.heads, batch=config.batch)
        try:
          c, compile_s = measure.compile_fn(prog, shape, shape, shape, shape)
        except jax.errors.JaxRuntimeError as e:
          # XLA:GPU's autotuner runs candidate kernels while compiling, so a device without the
          # memory can refuse before any call: the variant's largest n, as at run time below.
          if not is_out_of_memory(e):
            raise
          stopped[name, mode] = "out of memory while compiling"
          rows.append(dict(point, status=_failed(e)))
          continue
        temp, total, source = measure.memory_of(c)
        # No counts where XLA cannot see the work (loops over chunks, cuDNN's or Pallas' kernel,
        # matmuls in library calls: checked against the program as written, traced again).
        xla_flops, xla_bytes = (
            measure.xla_costs(c, measure.program_matmul_flops(prog, shape, shape, shape, shape))
            if measure.xla_counts_the_work(name, config) else (float("nan"), float("nan")))
        row = dict(point, compile_s=compile_s, temp_bytes=temp, total_bytes=total,
                   memory_source=source,
                   flops=measure.analytic_flops(name, n, config, config.heads, config.batch, mode),
                   xla_flops=xla_flops, xla_bytes=xla_bytes)
        if total > config.memory_limit_gb * 2 ** 30:
          stopped[name, mode] = f"needs {total / 2 ** 30:.1f} GiB > {config.memory_limit_gb} GiB"
          rows.append(dict(row, status="oom-predicted"))
          continue
        info[name], compiled[name] = row, c
      calls = {name: functools.partial(c, q, k, v, ct) for name, c in compiled.items()}
      for name, call in list(calls.items()):
        # The warm-up, timed against a reference matmul right after it to decide whether n may
        # grow: in units of the reference the rule does not depend on the machine's load, so a
        # loaded machine runs the same grid as a quiet one, only slower.
        try:
          first = timing.time_call(call) / timing.time_call(reference)
        except jax.errors.JaxRuntimeError as e:
          # XLA's memory analysis can promise less than the device then fails to give (an
          # H200's allocator refused 48 GiB for naive's backward under a 60 GiB limit): the
          # allocation failure is this n's result and the variant's largest n, not a crash.
          if not is_out_of_memory(e):
            raise
          stopped[name, mode] = "out of memory at run time"
          rows.append(dict(info.pop(name), status=_failed(e)))
          del calls[name]
          continue
        if first > config.max_reference_calls_per_point:
          stopped[name, mode] = (f"one call took {first:.0f} reference matmuls > "
                                 f"{config.max_reference_calls_per_point}")
      exact = None
      if n <= config.error_n_max and mode == "forward":
        name = next((nm for nm in ("naive", "blocked", "chunked") if nm in calls), None)
        exact = None if name is None else np.asarray(calls[name](), np.float32)
      for name, call in calls.items():
        if exact is not None:
          out = np.asarray(call(), np.float32)
          info[name]["rel_error"] = float(np.linalg.norm(out - exact) / np.linalg.norm(exact))
        points.append((info[name], call))
    # Pass 2: every program of the mode timed in the same rounds, each n beside a reference
    # matmul of its own, so load that drifts during the sweep slows every n alike. Timed one n
    # after another, a drift maps onto n and bends the slopes: in two sweeps on a loaded
    # machine the reference's fastest time drifted 1.9x and 2.1x, and the efficient variants'
    # slopes moved by up to 0.6 between them (BUILD_NOTES, Q4).
    candidates = {}
    for i, (row, call) in enumerate(points):
      candidates[i] = call
      if i + 1 == len(points) or points[i + 1][0]["n"] != row["n"]:
        candidates["reference", row["n"]] = reference
    times = timing.time_interleaved(candidates, config.repeats, warmup=0)
    for i, (info_row, _) in enumerate(points):
      ts, ref_times = times[i], times["reference", info_row["n"]]
      row = _timed_row(info_row, ts)
      row.update(time_over_reference=timing.median(timing.per_round_ratio(ts, ref_times)),
                 reference_times=" ".join(f"{t:.5f}" for t in ref_times),
                 gflops_per_s=row["flops"] / row["time_s"] / 1e9)
      rows.append(row)
      if on_point:
        on_point(row)
    del points, candidates
  return rows, stopped


def _part_programs(d, heads, attend, mlp_ratio, causal):
  """The three parts of an encoder layer as separate programs, and the whole layer."""
  layer = encoder.EncoderLayer(num_heads=heads, attend=attend, mlp_ratio=mlp_ratio, causal=causal)

  def projections(x, w_qkv, w_out):
    qkv = x @ w_qkv
    return qkv[..., :d] @ w_out + qkv[..., d:2 * d] + qkv[..., 2 * d:]

  def mlp(x, w_up, w_down):
    return jax.nn.gelu(x @ w_up) @ w_down

  def attention(q, k, v):
    return attend(q, k, v, causal=causal)

  return layer, projections, mlp, attention


def crossover_sweep(config, key, on_point=None):
  """Forward time of attention vs MLP vs projections inside one encoder layer, over n and d."""
  rows = []
  attend = measure.variant_fn(config.crossover_variant, config, jax.random.fold_in(key, 7))
  for d in config.crossover_widths:
    ns = [int(round(d * m)) for m in config.crossover_multiples]
    heads = d // config.head_dim
    layer, projections, mlp, attention = _part_programs(d, heads, attend, 4, config.causal)
    # The parameters do not depend on n: initialized once per width, under jit.
    params = jax.jit(layer.init)(jax.random.fold_in(key, d), jnp.zeros((1, 16, d)))
    for n in ns:
      rng = np.random.default_rng((config.seed, 1, d, n))
      x = measure.normal(rng, (1, n, d))
      q, kk, v = (measure.normal(rng, (1, n, heads, config.head_dim)) for _ in range(3))
      w_qkv, w_out, w_up, w_down = (measure.normal(rng, shape, scale=shape[0] ** -0.5) for shape
                                    in ((d, 3 * d), (d, d), (d, 4 * d), (4 * d, d)))
      parts = {
          "projections": (projections, (x, w_qkv, w_out)),
          "mlp": (mlp, (x, w_up, w_down)),
          "attention": (attention, (q, kk, v)),
          "layer": (layer.apply, (params, x)),
      }
      calls, compile_s = {}, {}
      for part, (fn, args) in parts.items():
        c, compile_s[part] = measure.compile_fn(fn, *args)
        calls[part] = functools.partial(c, *args)
      times = timing.time_interleaved(calls, config.crossover_repeats, warmup=1)
      flops = encoder.layer_flops(n, d)
      for part, ts in times.items():
        row = _timed_row(dict(section="crossover", variant=config.crossover_variant,
                              mode="forward", part=part, n=n, d=d, heads=heads, batch=1,
                              compile_s=compile_s[part],
                              flops=sum(flops.values()) if part == "layer" else flops[part]), ts)
        rows.append(row)
        if on_point:
          on_point(row)
  return rows


def long_sequence_check(config, key, on_point=None):
  """The largest n (one call, forward) each variant in config.long_variants handles."""
  rows = []
  dtype = jnp.dtype(config.dtype)
  fns = measure.variant_fns(config, config.long_variants, jax.random.fold_in(key, 7))
  for name in config.long_variants:
    prog = measure.attention_program(fns[name], "forward", config.causal)
    for n in config.long_n:
      shape = jax.ShapeDtypeStruct((1, n, config.long_heads, config.head_dim), dtype)
      row = dict(section="long", variant=name, mode="forward", n=n, d=config.head_dim,
                 heads=config.long_heads, batch=1,
                 flops=measure.analytic_flops(name, n, config, config.long_heads))
      try:
        compiled, compile_s = measure.compile_fn(prog, shape, shape, shape, shape)
        temp, total, source = measure.memory_of(compiled)
        row.update(compile_s=compile_s, temp_bytes=temp, total_bytes=total, memory_source=source)
        if total > config.memory_limit_gb * 2 ** 30:
          row["status"] = "oom-predicted"
        else:
          args = measure.make_qkv((config.seed, 2, n), 1, n, config.long_heads,
                                  config.head_dim, dtype)
          t = timing.time_call(functools.partial(compiled, *args))
          row = _timed_row(row, [t])
          row["gflops_per_s"] = row["flops"] / t / 1e9
          del args
      except (jax.errors.JaxRuntimeError, MemoryError) as e:
        if not (isinstance(e, MemoryError) or is_out_of_memory(e)):
          raise  # a bug, not a size this machine cannot hold
        row["status"] = _failed(e)  # an allocation failure is a result here, not a crash
      rows.append(row)
      if on_point:
        on_point(row)
      if row["status"] != "ok":
        break
  return rows
