"""random_fused draws exactly what jax.random draws, and falls back to it where it cannot."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax import random_fused

KEYS = jax.random.split(jax.random.key(7), 3)
SHAPES = [(), (1,), (7,), (3, 5, 2), (512, 256)]


def same_bits(a, b) -> bool:
  a, b = np.asarray(a), np.asarray(b)
  return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("shape", SHAPES)
def test_bits_uniform_normal_match_jax_random_bit_for_bit(shape):
  for key in KEYS:
    assert same_bits(random_fused.bits(key, shape), jax.random.bits(key, shape))
    assert same_bits(random_fused.uniform(key, shape), jax.random.uniform(key, shape))
    assert same_bits(random_fused.uniform(key, shape, -2.5, 4.0),
                     jax.random.uniform(key, shape, minval=-2.5, maxval=4.0))
    assert same_bits(random_fused.normal(key, shape), jax.random.normal(key, shape))


def test_match_under_jit_and_vmap_over_keys():
  ours = jax.jit(jax.vmap(lambda k: random_fused.normal(jax.random.fold_in(k, 3), (64, 9))))
  theirs = jax.jit(jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(k, 3), (64, 9))))
  assert same_bits(ours(KEYS), theirs(KEYS))


def test_bernoulli_matches_for_per_element_probabilities():
  p_NxP = jax.random.uniform(jax.random.key(1), (16, 64))
  for key in KEYS:
    assert same_bits(random_fused.bernoulli(key, p_NxP), jax.random.bernoulli(key, p_NxP))
  p_half = jnp.full((4,), 0.5, jnp.float16)  # another dtype: jax.random's own answer
  assert same_bits(random_fused.bernoulli(KEYS[0], p_half), jax.random.bernoulli(KEYS[0], p_half))


def test_other_generators_and_settings_fall_back_to_jax_random():
  rbg = jax.random.key(3, impl="rbg")
  assert same_bits(random_fused.normal(rbg, (32,)), jax.random.normal(rbg, (32,)))
  with jax.threefry_partitionable(False):  # the older counter layout: jax.random's numbers
    expected = jax.random.normal(KEYS[0], (32,))
    assert same_bits(random_fused.normal(KEYS[0], (32,)), expected)
  assert not same_bits(expected, jax.random.normal(KEYS[0], (32,)))  # the fallback mattered


def test_unfused_switches_to_jax_randoms_own_hash_with_the_same_numbers():
  def program():
    return str(jax.make_jaxpr(lambda k: random_fused.normal(k, (8,)))(KEYS[0]))

  assert "random_bits" not in program()  # the hash as plain integer ops XLA can fuse
  with random_fused.unfused():
    assert "random_bits" in program()  # jax.random's primitive (a rolled loop on CPU)
    before = random_fused.normal(KEYS[1], (8,))
  assert same_bits(before, random_fused.normal(KEYS[1], (8,)))


def test_normals_look_standard():
  z = np.asarray(random_fused.normal(KEYS[0], (200_000,)))
  assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
  assert np.isfinite(z).all()


def test_benchmark_reports_the_same_numbers_for_every_case():
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  result = subprocess.run([sys.executable, os.path.join(root, "experiments", "bench_random.py"),
                           "--rounds=1", "--calls=1"], capture_output=True, text=True, check=True)
  rows = [line for line in result.stdout.splitlines() if "per draw" in line]
  assert len(rows) == 3 and all(row.endswith("same numbers: yes") for row in rows), result.stdout
