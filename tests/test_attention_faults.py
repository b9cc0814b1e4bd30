"""Bad attention configs end in one `error:` line and exit 2, before any JAX work."""

import functools
import os
import re
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from genjax import timing
from genjax.attention import experiment, sweeps, variants
from genjax.configs import attention as attention_config
from genjax.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = [
    # LSH draws num_buckets / 2 rotations: an odd count used to be a traceback from tracing.
    ("num_buckets", 3, "num_buckets must be even and >= 2"),
    ("num_buckets", 0, "num_buckets must be even and >= 2"),
    # head_dim 0 used to divide by zero in the crossover check (a ZeroDivisionError traceback).
    ("head_dim", 0, "head_dim must be an integer >= 1"),
    ("heads", 0, "heads must be an integer >= 1"),
    ("batch", -1, "batch must be an integer >= 1"),
    ("window", 0, "window must be an integer >= 1"),
    ("block", 0, "block must be an integer >= 1"),
    ("query_chunk", 0, "query_chunk must be an integer >= 1"),
    ("key_chunk", 0, "key_chunk must be an integer >= 1"),
    ("blocked_query_chunk", 0, "blocked_query_chunk must be an integer >= 1"),
    ("lsh_chunk", 0, "lsh_chunk must be an integer >= 1"),
    ("num_hashes", 0, "num_hashes must be an integer >= 1"),
    ("rank", 0, "rank must be an integer >= 1"),
    ("num_features", 0, "num_features must be an integer >= 1"),
    ("random_blocks", -1, "random_blocks must be an integer >= 0"),
    ("repeats", 0, "repeats must be an integer >= 1"),
    ("crossover_repeats", 0, "crossover_repeats must be an integer >= 1"),
    ("n_per_octave", 0, "n_per_octave must be an integer >= 1"),
    ("n_min", 0, "n_min must be an integer >= 1"),
    ("n_max", 300, "must not exceed config.n_max"),
    ("n_min", 64, "n_min (64) must be at least config.n_multiple"),
    ("probe_n", 1024, "probe_n (1024) must be below config.n_min"),
    ("max_reference_calls_per_point", 0.0, "max_reference_calls_per_point must be > 0"),
    ("memory_limit_gb", -1.0, "memory_limit_gb must be > 0"),
    ("crossover_widths", (256, 100), "100 is not a positive multiple of config.head_dim"),
    ("crossover_multiples", (1, 0), "crossover_multiples: 0 gives a sequence length below 1"),
    ("long_n", (4096, 1024), "long_n must be positive and ascending"),
    ("linformer_projection", "learned", "linformer_projection must be gaussian or pool"),
    ("variants", ("naive", "flash"), "unknown variant 'flash'"),
    ("backward_variants", ("flash",), "backward_variants"),
    ("long_variants", ("flash",), "long_variants"),
    ("crossover_variant", "flash", "crossover_variant"),
    ("modes", ("forward", "backward"), "'backward' is not forward or forward_backward"),
    ("causal", True, "linformer"),
    ("dtype", "float16", "dtype must be float32 or bfloat16"),
    ("implementation", "flash", "implementation must be"),
]


@pytest.mark.parametrize("field,value,message", CASES)
def test_bad_config_is_one_user_error(field, value, message):
  config = attention_config.get_config()
  config[field] = value
  with pytest.raises(UserError, match=re.escape(message)) as raised:
    experiment.validate(config)
  assert "\n" not in str(raised.value)


@pytest.mark.parametrize("variant", ["quick", "full", "gpu"])
def test_shipped_configs_validate(variant):
  config = attention_config.get_config(variant)
  if variant == "gpu" and jax.default_backend() != "gpu":
    config.implementation = ""  # cudnn is refused off a GPU, by design (tested below)
  assert experiment.validate(config)


def test_cudnn_off_a_gpu_is_refused():
  if jax.default_backend() == "gpu":
    pytest.skip("cudnn is available here; nothing to refuse")
  config = attention_config.get_config("gpu")
  with pytest.raises(UserError, match="needs a GPU"):
    experiment.validate(config)
  x = jnp.zeros((1, 4, 1, 8))
  with pytest.raises(ValueError, match="cudnn"):
    variants.dot_product(x, x, x, implementation="cudnn")


def test_pallas_off_a_gpu_is_refused_up_front():
  if jax.default_backend() == "gpu":
    pytest.skip("a GPU is here; nothing to refuse")
  config = attention_config.get_config("quick")
  config.variants = ("naive", "pallas_flash")
  with pytest.raises(UserError, match="pallas_flash .* needs a GPU"):
    experiment.validate(config)
  config.variants, config.crossover_variant = ("naive",), "pallas_flash"
  with pytest.raises(UserError, match="needs a GPU"):
    experiment.validate(config)

@pytest.mark.parametrize("override,message", [
    ("--config.num_buckets=3", "error: config.num_buckets must be even and >= 2"),
    ("--config.head_dim=0", "error: config.head_dim must be an integer >= 1"),
])
def test_entry_point_exits_2_with_one_error_line(override, message, tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(ROOT, "experiments", "attention.py"),
       "--flagfile=experiments/flags/attention_cpu_quick.flags", f"--workdir={tmp_path}",
       override], capture_output=True, text=True, cwd=ROOT, timeout=120,
      env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert result.returncode == 2, result.stderr[-3000:]
  assert "Traceback" not in result.stderr, result.stderr[-3000:]
  errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
  assert errors == [result.stderr.splitlines()[-1]] and errors[0].startswith(message)
  assert not os.path.exists(tmp_path / "results.json")


def _small_sweep_config():
  config = attention_config.get_config("quick")
  config.variants = config.backward_variants = ("naive", "chunked")
  config.modes = ("forward",)
  config.query_chunk, config.key_chunk = 32, 64
  config.probe_n, config.repeats = 16, 1
  return config


def _refusing_above(n_max, error):
  """A time_call that raises `error` (an exception, or a JaxRuntimeError's message) for attention
  calls on more than n_max tokens."""
  real = timing.time_call
  if isinstance(error, str):
    error = jax.errors.JaxRuntimeError(error)

  def time_call(fn, *args):
    if isinstance(fn, functools.partial) and fn.args[0].shape[1] > n_max:
      raise error
    return real(fn, *args)
  return time_call


def test_device_refusing_an_allocation_ends_the_variant_as_a_row(monkeypatch):
  # XLA's memory analysis said it fits, the device refused (an H200, naive's backward, 48 GiB):
  # the point is a row that says so and n stops growing, instead of a traceback that loses the
  # sweep.
  oom = "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 48.00GiB"
  monkeypatch.setattr(sweeps.timing, "time_call", _refusing_above(64, oom))
  rows, stopped = sweeps.scaling_sweep(_small_sweep_config(), [32, 64, 96, 128],
                                       jax.random.key(0))
  for name in ("naive", "chunked"):
    mine = [r for r in rows if r["variant"] == name]
    assert [r["n"] for r in mine if r["status"] == "ok"] == [16, 32, 64]
    refused = [r for r in mine if r["status"] != "ok"]
    assert [r["n"] for r in refused] == [96]  # and nothing tried past it
    assert refused[0]["status"].startswith("failed: JaxRuntimeError: RESOURCE_EXHAUSTED")
    assert stopped[name, "forward"] == "out of memory at run time"


def test_device_refusing_memory_while_compiling_ends_the_variant_as_a_row(monkeypatch):
  # XLA:GPU's autotuner runs kernels during compilation: an H200 refused 64 GiB for naive at
  # n = 32,768 there, before any call. Same outcome as a refusal at run time.
  real = sweeps.measure.compile_fn

  def compile_fn(prog, q, *rest):
    if q.shape[1] > 64:
      raise jax.errors.JaxRuntimeError(
          "RESOURCE_EXHAUSTED: Failed to get configs for: 4 out of 10 instructions.")
    return real(prog, q, *rest)
  monkeypatch.setattr(sweeps.measure, "compile_fn", compile_fn)
  rows, stopped = sweeps.scaling_sweep(_small_sweep_config(), [32, 64, 96, 128],
                                       jax.random.key(0))
  for name in ("naive", "chunked"):
    mine = [r for r in rows if r["variant"] == name]
    assert [r["n"] for r in mine if r["status"] == "ok"] == [16, 32, 64]
    assert [(r["n"], r["status"][:33]) for r in mine if r["status"] != "ok"] == [
        (96, "failed: JaxRuntimeError: RESOURCE")]
    assert stopped[name, "forward"] == "out of memory while compiling"


def test_other_compile_errors_are_not_read_as_results(monkeypatch):
  def compile_fn(*args):
    raise jax.errors.JaxRuntimeError("INTERNAL: a compiler bug")
  monkeypatch.setattr(sweeps.measure, "compile_fn", compile_fn)
  with pytest.raises(jax.errors.JaxRuntimeError, match="a compiler bug"):
    sweeps.scaling_sweep(_small_sweep_config(), [32, 64], jax.random.key(0))


def test_other_runtime_errors_in_the_sweep_are_not_read_as_results(monkeypatch):
  monkeypatch.setattr(sweeps.timing, "time_call", _refusing_above(64, "INTERNAL: a bug"))
  with pytest.raises(jax.errors.JaxRuntimeError, match="a bug"):
    sweeps.scaling_sweep(_small_sweep_config(), [32, 64, 96], jax.random.key(0))


def _long_config():
  config = _small_sweep_config()
  config.long_variants, config.long_n = ("chunked",), (64, 128, 256)
  return config


def test_long_sequence_check_reads_an_allocation_failure_as_its_largest_n(monkeypatch):
  oom = "RESOURCE_EXHAUSTED: Out of memory allocating 1099511627776 bytes."
  monkeypatch.setattr(sweeps.timing, "time_call", _refusing_above(64, oom))
  rows = sweeps.long_sequence_check(_long_config(), jax.random.key(0))
  assert [(r["n"], r["status"][:33]) for r in rows] == [
      (64, "ok"), (128, "failed: JaxRuntimeError: RESOURCE")]


def test_long_sequence_check_reads_a_bare_memory_error_as_its_largest_n(monkeypatch):
  # numpy's MemoryError may come without a message
  monkeypatch.setattr(sweeps.timing, "time_call", _refusing_above(64, MemoryError()))
  rows = sweeps.long_sequence_check(_long_config(), jax.random.key(0))
  assert [(r["n"], r["status"]) for r in rows] == [(64, "ok"), (128, "failed: MemoryError: ")]


def test_long_sequence_check_raises_what_is_not_an_allocation_failure(monkeypatch):
  # It used to catch every exception: a bug at a long n read as that n failing to fit.
  monkeypatch.setattr(sweeps.timing, "time_call", _refusing_above(64, "INTERNAL: a bug"))
  with pytest.raises(jax.errors.JaxRuntimeError, match="a bug"):
    sweeps.long_sequence_check(_long_config(), jax.random.key(0))
