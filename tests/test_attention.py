"""Attention variants: exactness, masks, convergence of approximations, cost, the sweep."""

import functools
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.attention import encoder, experiment, measure, slopes, variants
from genjax.configs import attention as attention_config

B, N, H, D = 2, 37, 2, 8  # N is not a multiple of any block size used below


def _qkv(seed=0, n=N, scale=1.0):
  ks = jax.random.split(jax.random.key(seed), 4)
  q, k, v = (jax.random.normal(kk, (B, n, H, D)) * s for kk, s in zip(ks[:3], (scale, scale, 1),
                                                                   strict=True))
  mask = jax.random.bernoulli(ks[3], 0.7, (B, n)).at[:, 0].set(True)
  return q, k, v, mask


EXACT = {
    "dot_product": variants.dot_product,
    "chunked": functools.partial(variants.chunked, query_chunk=8, key_chunk=5),
    "blocked": functools.partial(variants.blocked, query_chunk=16),
    "sliding_window": functools.partial(variants.sliding_window, window=N, block=6),
    "block_sparse": functools.partial(variants.block_sparse, block=6, window_blocks=7,
                                      random_blocks=2, key=jax.random.key(3)),
}


@pytest.mark.parametrize("name", list(EXACT))
@pytest.mark.parametrize("causal,masked", [(False, False), (True, True)])
def test_exact_variant_matches_naive_forward_and_gradients(name, causal, masked):
  q, k, v, mask = _qkv()
  mask = mask if masked else None
  ct = jax.random.normal(jax.random.key(9), q.shape)

  def value_and_grads(fn):
    out, vjp = jax.vjp(lambda q, k, v: fn(q, k, v, mask=mask, causal=causal), q, k, v)
    return out, vjp(ct)

  out, grads = jax.jit(value_and_grads, static_argnums=0)(EXACT[name])
  ref, ref_grads = jax.jit(value_and_grads, static_argnums=0)(variants.naive)
  np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)
  for g, rg, what in zip(grads, ref_grads, "qkv", strict=True):
    np.testing.assert_allclose(g, rg, atol=1e-5, rtol=0, err_msg=f"d{what}")


@pytest.mark.parametrize("causal", [False, True])
def test_pallas_flash_kernel_matches_naive_forward_and_gradients_in_the_interpreter(causal):
  # The GPU kernel itself (JAX's Pallas FlashAttention, forward and backward kernels), run by
  # Pallas's interpreter: the same program a GPU compiles, checked here without one. Its tiles
  # need lengths that are multiples of 32 (the backward's): n = 64, d = 16.
  q, k, v = (jax.random.normal(kk, (B, 64, H, 16)) for kk in jax.random.split(jax.random.key(4), 3))
  ct = jax.random.normal(jax.random.key(9), q.shape)

  def value_and_grads(fn):
    out, vjp = jax.vjp(lambda q, k, v: fn(q, k, v, causal=causal), q, k, v)
    return out, vjp(ct)

  out, grads = value_and_grads(functools.partial(variants.pallas_flash, interpret=True))
  ref, ref_grads = value_and_grads(variants.naive)
  np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)
  for g, rg, what in zip(grads, ref_grads, "qkv", strict=True):
    np.testing.assert_allclose(g, rg, atol=1e-5, rtol=0, err_msg=f"d{what}")


def test_pallas_flash_refuses_a_mask_and_a_backend_without_a_gpu():
  q, k, v, mask = _qkv(n=64)
  with pytest.raises(ValueError, match="no key-padding mask"):
    variants.pallas_flash(q, k, v, mask=mask, interpret=True)
  if jax.default_backend() != "gpu":
    with pytest.raises(ValueError, match="needs a GPU"):
      variants.pallas_flash(q, k, v)

def test_rows_sum_to_one_and_masked_weights_are_zero():
  q, k, _, mask = _qkv()
  w = variants.attention_weights(q, k, mask=mask, causal=True)
  np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-6)
  assert float(jnp.abs(jnp.where(mask[:, None, None, :], 0.0, w)).max()) == 0.0
  assert float(jnp.triu(w, 1).max()) == 0.0


def test_query_that_sees_no_key_returns_zero():
  q, k, v, _ = _qkv()
  mask = jnp.zeros((B, N), bool).at[:, 5:].set(True)  # with causal, queries 0-4 see nothing
  for fn in (variants.naive, EXACT["chunked"], EXACT["sliding_window"]):
    out = jax.jit(functools.partial(fn, causal=True))(q, k, v, mask=mask)
    assert float(jnp.abs(out[:, :5]).max()) == 0.0
    assert bool(jnp.isfinite(out).all())


MASKABLE = dict(
    EXACT, naive=variants.naive,
    sliding_window_small=functools.partial(variants.sliding_window, window=4),
    block_sparse_small=functools.partial(variants.block_sparse, block=4),
    linformer=functools.partial(variants.linformer, rank=8, projection="gaussian",
                                key=jax.random.key(1)),
    linformer_pool=functools.partial(variants.linformer, rank=8),
    performer=functools.partial(variants.performer, num_features=64, key=jax.random.key(1)),
    lsh=functools.partial(variants.lsh, num_buckets=4, chunk=8, key=jax.random.key(1)),
)


@pytest.mark.parametrize("name", list(MASKABLE))
def test_changing_a_masked_key_changes_nothing(name):
  q, k, v, mask = _qkv()
  hidden = ~mask[:, :, None, None]
  noise = jax.random.normal(jax.random.key(5), k.shape) * 10
  # LSH hashes keys to choose its windows, so only values of masked keys may change freely.
  k2 = k if name == "lsh" else jnp.where(hidden, k + noise, k)
  v2 = jnp.where(hidden, v - noise, v)
  fn = jax.jit(MASKABLE[name])
  np.testing.assert_allclose(fn(q, k2, v2, mask=mask), fn(q, k, v, mask=mask), atol=2e-5)


CAUSAL = {name: fn for name, fn in MASKABLE.items() if not name.startswith("linformer")}
CAUSAL["performer"] = functools.partial(variants.performer, num_features=64,
                                        key=jax.random.key(1), chunk=8)


@pytest.mark.parametrize("name", list(CAUSAL))
def test_causal_output_ignores_the_future(name):
  q, k, v, _ = _qkv()
  t = 20
  noise = jax.random.normal(jax.random.key(6), k[:, t:].shape) * 10
  k2 = k if name == "lsh" else k.at[:, t:].add(noise)
  v2 = v.at[:, t:].add(noise)
  fn = jax.jit(functools.partial(CAUSAL[name], causal=True))
  np.testing.assert_allclose(fn(q, k2, v2)[:, :t], fn(q, k, v)[:, :t], atol=2e-5)


def test_linformer_refuses_causal():
  q, k, v, _ = _qkv()
  with pytest.raises(ValueError, match="causal"):
    variants.linformer(q, k, v, causal=True)


def _error(fn, q, k, v, *args):
  """Relative error vs naive; args (e.g. keys) are traced so one compile serves all of them."""
  ref = jax.jit(variants.naive)(q, k, v)
  return float(jnp.linalg.norm(jax.jit(fn)(q, k, v, *args) - ref) / jnp.linalg.norm(ref))


def test_performer_converges_as_features_grow():
  q, k, v, _ = _qkv(scale=0.5)
  errs = []
  for m in (16, 256, 4096):
    fn = jax.jit(lambda q, k, v, w: variants.performer(q, k, v, features_MxD=w))
    errs.append(np.mean([_error(fn, q, k, v, variants.orthogonal_features(
        jax.random.key(s), m, D)) for s in range(3)]))
  assert errs[0] > errs[1] > errs[2], errs
  # Monte Carlo error ~ 1/sqrt(M): 256x the features should cut it about 16x; a biased
  # estimator (e.g. QR without the sign fix) stalls instead.
  assert errs[2] < errs[0] / 4 and errs[2] < 0.05, errs


@pytest.mark.parametrize("name", attention_config.VARIANTS)
def test_every_variant_runs_forward_and_backward_in_bfloat16(name):
  # The 'gpu' config times bfloat16; a variant with an op that has no bfloat16 kernel (the
  # Performer's QR did) would fail there only. cuDNN needs a GPU: XLA's attention stands in.
  config = attention_config.get_config("gpu")
  config.implementation = ""
  config.head_dim = D
  fn = measure.variant_fn(name, config, jax.random.key(0))
  q, k, v, _ = _qkv(n=256)
  q16, k16, v16 = (x.astype(jnp.bfloat16) for x in (q, k, v))
  out, grads = jax.jit(measure.attention_program(fn, "forward_backward", False))(
      q16, k16, v16, jnp.ones_like(q16))
  assert out.dtype == jnp.bfloat16 and all(g.dtype == jnp.bfloat16 for g in grads)
  assert np.isfinite(np.asarray(out, np.float32)).all()
  if name in ("naive", "dot_product", "blocked", "chunked"):  # exact: bfloat16 rounding only
    ref = variants.naive(q, k, v)
    assert float(jnp.linalg.norm(out.astype(jnp.float32) - ref) / jnp.linalg.norm(ref)) < 0.02


def test_performer_features_in_bfloat16_are_the_float32_features_rounded():
  w32 = variants.orthogonal_features(jax.random.key(1), 64, D)
  w16 = variants.orthogonal_features(jax.random.key(1), 64, D, jnp.bfloat16)
  assert w16.dtype == jnp.bfloat16
  np.testing.assert_array_equal(np.asarray(w16), np.asarray(w32.astype(jnp.bfloat16)))


def test_lsh_converges_as_hashing_rounds_grow_and_is_exact_with_one_chunk():
  q, k, v, _ = _qkv()
  errs = [_error(functools.partial(variants.lsh, num_buckets=4, num_hashes=r, chunk=8,
                                   key=jax.random.key(2)), q, k, v) for r in (1, 8)]
  assert errs[1] < errs[0] / 10 and errs[1] < 0.05, errs
  one_chunk = functools.partial(variants.lsh, num_buckets=8, chunk=64, key=jax.random.key(2))
  assert _error(one_chunk, q, k, v) < 1e-5


def test_low_rank_and_sparse_variants_converge_to_exact():
  q, k, v, _ = _qkv()
  for make, params in (
      (lambda r: functools.partial(variants.linformer, rank=r), (4, 12, N)),
      (lambda w: functools.partial(variants.sliding_window, window=w), (2, 8, N)),
      (lambda w: functools.partial(variants.block_sparse, block=4, window_blocks=w,
                                   global_blocks=0), (0, 2, 9)),
  ):
    errs = [_error(make(p), q, k, v) for p in params]
    assert errs[0] > errs[1] > errs[2], errs
    assert errs[2] < 1e-5, errs


def test_gaussian_linformer_error_falls_with_rank():
  q, k, v, _ = _qkv()
  errs = []
  for rank in (4, 64):
    fn = jax.jit(functools.partial(variants.linformer, rank=rank, projection="gaussian"))
    errs.append(np.mean([_error(lambda q, k, v, key: fn(q, k, v, key=key), q, k, v,  # noqa: B023
                                jax.random.key(s)) for s in range(3)]))
  assert errs[1] < errs[0], errs


def _temp_bytes(fn, n, heads=1):
  x = jax.ShapeDtypeStruct((1, n, heads, 64), jnp.float32)
  return jax.jit(fn).lower(x, x, x).compile().memory_analysis().temp_size_in_bytes


def test_chunked_temp_memory_grows_linearly_and_naive_quadratically():
  chunked = functools.partial(variants.chunked, query_chunk=128, key_chunk=256)
  assert _temp_bytes(chunked, 4096) / _temp_bytes(chunked, 1024) < 6  # linear: 4, square: 16
  assert _temp_bytes(variants.naive, 4096) / _temp_bytes(variants.naive, 1024) > 12


def _xla_costs(fn, x):
  return measure.xla_costs(jax.jit(fn).lower(x, x, x).compile(),
                           measure.program_matmul_flops(fn, x, x, x))


def test_sliding_window_work_is_linear_in_n():
  def flops(n):
    x = jax.ShapeDtypeStruct((1, n, 1, 64), jnp.float32)
    fn = functools.partial(variants.sliding_window, window=64)
    return _xla_costs(fn, x)[0]

  assert 3 < flops(4096) / flops(1024) < 5  # a masked dense n x n matrix would give 16


def test_xla_counts_of_naive_attention_grow_with_n_squared_and_their_fit_is_exact():
  def costs(n):
    x = jax.ShapeDtypeStruct((1, n, 1, 64), jnp.float32)
    return _xla_costs(variants.naive, x)

  ns = [256, 512, 1024, 2048]
  flops, nbytes = zip(*(costs(n) for n in ns), strict=True)
  assert 3.9 < flops[-1] / flops[-2] < 4.1  # 4 n² d matmul FLOPs dominate
  assert 3 < nbytes[-1] / nbytes[-2] < 4.1  # the n x n scores dominate the traffic
  fit = slopes.count_fit(ns, flops)
  assert 1.95 <= fit.lo <= fit.hi <= 2.05 and fit.points == 4
  # Made-up counts: an exact power law has a zero-width interval; a lowering that shifts the
  # count from some n on widens it; uncounted n (nan) are skipped, and fewer than
  # MIN_FIT_POINTS counted n give no fit.
  exact = slopes.count_fit(ns, [8.0 * n for n in ns])
  assert (exact.slope, exact.lo, exact.hi) == pytest.approx((1.0, 1.0, 1.0))
  shifted = slopes.count_fit(ns, [8.0 * n * s for n, s in zip(ns, (1, 1, 0.8, 0.8), strict=True)])
  assert shifted.lo < shifted.slope < 1.0 < shifted.hi
  assert slopes.count_fit(ns, [8.0, float("nan"), float("nan"), 64.0]) is None


class _Compiled:
  """A compiled program's stand-in with the counts that XLA's cost analysis gave."""

  def __init__(self, flops, nbytes):
    self.counts = {"flops": flops, "bytes accessed": nbytes}

  def cost_analysis(self):
    return self.counts


def test_xla_counts_that_miss_the_programs_matmuls_are_left_out():
  x = jax.ShapeDtypeStruct((1, 1280, 1, 64), jnp.float32)
  written = measure.program_matmul_flops(variants.naive, x, x, x)
  assert written == 4 * 1280 ** 2 * 64  # q kᵀ and p v, as written
  # On XLA:CPU the compiled program counts its matmuls (and its softmax): kept as they are.
  compiled = jax.jit(variants.naive).lower(x, x, x).compile()
  counts = compiled.cost_analysis()
  assert measure.xla_costs(compiled, written) == (counts["flops"], counts["bytes accessed"])
  assert counts["flops"] > written
  # XLA:GPU's count of naive attention at n = 1,280 on an H200 (its matmuls handed to cuBLAS):
  # 3% of the matmuls, the softmax alone. No count, rather than a wrong one.
  gpu = _Compiled(0.03 * written, 2.6e8)
  assert all(math.isnan(c) for c in measure.xla_costs(gpu, written))
  edge = measure.COUNT_COVERAGE * written
  assert measure.xla_costs(_Compiled(edge, 1.0), written) == (edge, 1.0)
  assert math.isnan(measure.xla_costs(_Compiled(0.99 * edge, 1.0), written)[0])
  assert math.isnan(measure.xla_costs(_Compiled(float("nan"), 1.0), written)[0])


@pytest.mark.parametrize("mode", ["forward", "forward_backward"])
def test_xla_cpu_counts_of_every_countable_variant_cover_their_matmuls(mode):
  # So on XLA:CPU the coverage rule drops no count (measure.COUNT_COVERAGE's comment).
  config = attention_config.get_config("quick")
  names = [n for n in attention_config.VARIANTS if measure.xla_counts_the_work(n, config)]
  fns = measure.variant_fns(config, names, jax.random.key(0))
  x = jax.ShapeDtypeStruct((1, 512, 2, config.head_dim), jnp.float32)
  for name in names:
    program = measure.attention_program(fns[name], mode, config.causal)
    compiled = jax.jit(program).lower(x, x, x, x).compile()
    flops, _ = measure.xla_costs(compiled, measure.program_matmul_flops(program, x, x, x, x))
    assert flops > 0, name


def test_xla_counts_are_left_out_where_xla_cannot_see_the_work():
  config = attention_config.get_config("quick")
  assert measure.xla_counts_the_work("naive", config)
  assert measure.xla_counts_the_work("dot_product", config)  # XLA's own lowering
  assert not measure.xla_counts_the_work("chunked", config)  # a loop: its body counted once
  assert not measure.xla_counts_the_work("pallas_flash", config)  # a kernel of its own
  config.implementation = "cudnn"  # a custom call: 0 FLOPs at every n on an H200
  assert not measure.xla_counts_the_work("dot_product", config)
  assert measure.xla_counts_the_work("naive", config)


def test_expected_slopes_follow_the_kernel_a_config_runs():
  config = attention_config.get_config("quick")
  assert slopes.expected_slope("dot_product", config) == (2, 2)  # XLA writes the scores out
  assert slopes.expected_slope("pallas_flash", config) == (2, 1)
  config.implementation = "cudnn"  # a flash kernel
  assert slopes.expected_slope("dot_product", config) == (2, 1)
  assert slopes.expected_slope("naive", config) == (2, 2)

def test_encoder_layer_takes_any_variant_and_causal_layer_ignores_the_future():
  x = jax.random.normal(jax.random.key(0), (2, 37, 32))
  layers = {name: encoder.EncoderLayer(num_heads=4, attend=fn, causal=True)
            for name, fn in (("naive", variants.naive), ("chunked", EXACT["chunked"]))}
  params = jax.jit(layers["naive"].init)(jax.random.key(1), x)
  outs = {name: jax.jit(layer.apply)(params, x) for name, layer in layers.items()}
  np.testing.assert_allclose(outs["chunked"], outs["naive"], atol=1e-5)
  grad = jax.jit(jax.grad(lambda x: layers["chunked"].apply(params, x)[:, 10].sum()))(x)
  assert float(jnp.abs(grad[:, 11:]).max()) == 0.0
  assert float(jnp.abs(grad[:, :11]).max()) > 0.0


def test_sliding_window_flops_count_what_the_kernel_computes():
  config = attention_config.get_config()
  config.window, n = 64, 4096
  x = jax.ShapeDtypeStruct((1, n, 1, config.head_dim), jnp.float32)
  fn = functools.partial(variants.sliding_window, window=config.window)
  xla = _xla_costs(fn, x)[0]
  # 3w keys per query (own block and one neighbour block each side), not the 2w + 1 in band.
  assert measure.sliding_window_keys(n, 64, causal=False) == 3 * 64
  assert measure.sliding_window_keys(n, 64, causal=True) == 2 * 64
  assert measure.sliding_window_keys(40, 64, causal=False) == 40  # one block: all keys
  counted = measure.analytic_flops("sliding_window", n, config, heads=1)
  # XLA also counts the exp, max and sum passes: a few percent over the two matmuls.
  assert 0.8 < counted / xla <= 1.0
  assert counted * (2 * 64 + 1) / (3 * 64) / xla < 0.7  # the band-only count misses a third


def test_fit_slope_one_median_per_n_and_crossover():
  rng = np.random.default_rng(0)
  ns = [256, 512, 1024, 2048, 4096]
  values = [[3e-9 * n ** 2 * np.exp(rng.normal(0, 0.05)) for _ in range(3)] for n in ns]
  fit = slopes.fit_slope(ns, values, use=ns[1:])
  assert fit.lo < 2 < fit.hi and abs(fit.slope - 2) < 0.15
  assert (fit.n_lo, fit.n_hi, fit.points, fit.repeats) == (512, 4096, 4, 3)
  # Repeats are not independent points: the fit and its interval depend on the medians only.
  medians = [[float(np.median(v))] for v in values]
  again = slopes.fit_slope(ns, medians, use=ns[1:])
  assert (again.slope, again.lo, again.hi) == pytest.approx((fit.slope, fit.lo, fit.hi))
  # More repeats at the same n do not narrow it (the old fit counted each as a point).
  tripled = slopes.fit_slope(ns, [v * 3 for v in values], use=ns[1:])
  assert tripled.hi - tripled.lo == pytest.approx(fit.hi - fit.lo)
  # The s.d. per point turns back into the standard error: sd / sqrt(points) * t = half-width.
  half = (fit.hi - fit.lo) / 2
  assert fit.sd / np.sqrt(fit.points) * 4.302653 == pytest.approx(half, rel=1e-5)
  # Fewer than MIN_FIT_POINTS n give no slope at all, not one with a useless interval.
  assert slopes.fit_slope(ns, values, use=ns[-slopes.MIN_FIT_POINTS + 1:]) is None
  assert slopes.crossover([100, 200, 400], [0.5, 1.0 / 1.5, 2.0]) == pytest.approx(
      200 * 2 ** (np.log(1.5) / np.log(3)), rel=1e-6)
  assert slopes.crossover([100, 200], [0.1, 0.2]) is None
  assert slopes.crossover([100, 200], [1.5, 2.0]) == 100  # above from the start: an upper bound


def test_fit_window_keeps_only_n_past_the_fixed_cost_and_recovers_the_exponent():
  """t = c0 + a n^2: where c0 matters the local slope is below 2; the window drops those n."""
  c0, a = 1e-3, 1e-9
  ns = sequence = experiment.sequence_lengths(128, 16384, 4, 128)
  times = [c0 + a * n ** 2 for n in sequence]
  probe = c0 + a * 32 ** 2  # the probe bounds c0 from above
  use = slopes.window(ns, times, probe)
  assert use == [n for n, t in zip(ns, times, strict=True) if t >= slopes.OVERHEAD_FACTOR * probe]
  assert 128 not in use and 16384 in use
  inside = slopes.fit_slope(ns, [[t] for t in times], use)
  everything = slopes.fit_slope(ns, [[t] for t in times])
  # Inside the window the slope is within 2 / OVERHEAD_FACTOR of 2; over all n it is not.
  assert abs(inside.slope - 2) <= 2 / slopes.OVERHEAD_FACTOR
  assert abs(everything.slope - 2) > 2 / slopes.OVERHEAD_FACTOR


def test_grid_has_n_per_octave_lengths_on_multiples():
  ns = experiment.sequence_lengths(512, 8192, 4, 128)
  assert ns[0] == 512 and ns[-1] == 8192 and len(ns) == 17
  assert all(n % 128 == 0 for n in ns) and ns == sorted(set(ns))
  assert experiment.sequence_lengths(256, 32768, 1, 128) == [2 ** e for e in range(8, 16)]


@pytest.mark.slow
def test_quick_sweep_end_to_end_writes_results(tmp_path, monkeypatch):
  # At n <= 256 every call is mostly fixed cost: with the real window no slope would be fitted.
  monkeypatch.setattr(slopes, "OVERHEAD_FACTOR", 1e-6)
  config = attention_config.get_config("quick")
  config.variants = ("naive", "chunked", "sliding_window")
  config.backward_variants = ("naive",)
  config.n_min, config.n_max, config.n_per_octave, config.n_multiple = 64, 256, 2, 32
  config.probe_n = 16
  config.query_chunk, config.key_chunk, config.window = 32, 64, 16
  config.repeats = config.crossover_repeats = 1
  config.crossover_widths = (64,)
  config.crossover_multiples = (1, 4)
  config.long_variants = ("chunked",)
  config.long_n = (512,)
  summary, rows = experiment.run_sweep(config, str(tmp_path))
  for name in ("results.csv", "results.md", "config.json", "time_vs_n.png", "memory_vs_n.png",
               "crossover.png"):
    assert os.path.exists(tmp_path / name), name
  text = (tmp_path / "results.md").read_text()
  assert "Fitted log-log slopes" in text and "attention = MLP" in text
  naive_fwd = next(s for s in summary["slopes"]
                   if s["variant"] == "naive" and s["mode"] == "forward")
  assert naive_fwd["memory"].slope == pytest.approx(2.0, abs=0.1)
  assert summary["largest"][("chunked", "forward", "long")] == 512
  assert all(r["rel_error"] < 1e-5 for r in rows
             if r.get("variant") == "chunked" and "rel_error" in r)
  assert {r["variant"] for r in rows if r["mode"] == "forward_backward"} == {"naive"}
  results = json.loads((tmp_path / "results.json").read_text())
  assert set(results["environment"]) >= {"jax", "jaxlib", "xla_flags", "backend"}
  assert "median" in results["fit_method"] and results["elapsed_s"] > 0
  assert results["slopes"][0]["time"]["points"] == 5 and "XLA_FLAGS=" in text
  # The per-n medians stay in results.json, the probe beside them and outside the fit.
  naive = results["slopes"][0]
  assert [p["n"] for p in naive["points"]] == [64, 96, 128, 192, 256]
  assert all(p["in_fit"] and p["time_s"] > 0 for p in naive["points"])
  assert naive["probe_n"] == 16 and naive["probe_time_s"] > 0
  # Q4's new records: XLA count fits, the wall-time window and memory reuse, per-round crossovers.
  assert naive["flops_count"]["slope"] == pytest.approx(2.0, abs=0.05) and "rule" in results[
      "time_window"] and set(results["memory_reuse"]) == {"glibc_tunables", "in_force"}
  assert len(results["crossovers"][0]["mlp_rounds"]) == config.crossover_repeats
