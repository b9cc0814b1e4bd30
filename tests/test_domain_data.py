"""Markov-chain domains and the exact reference predictors (issue 4)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.domain import bayes, markov


def test_transition_rows_sum_to_one():
  chains = markov.sample_chains(jax.random.key(0), 16, 8, 0.3)
  np.testing.assert_allclose(chains.sum(-1), 1.0, atol=1e-5)
  bases = markov.sample_genre_bases(jax.random.key(1), 3, 8, 0.3)
  genre = markov.sample_genre_chains(jax.random.key(2), bases[0], 8.0, 16)
  np.testing.assert_allclose(genre.sum(-1), 1.0, atol=1e-5)
  assert chains.min() >= 0 and genre.min() >= 0


def test_sequences_follow_their_chain():
  # A deterministic cycle 0 -> 1 -> 2 -> 0: every sequence must follow it from its first token.
  cycle = jnp.eye(3)[jnp.array([1, 2, 0])]
  tokens = markov.sample_sequences(jax.random.key(0), jnp.stack([cycle] * 5), 10)
  assert tokens.shape == (5, 10)
  np.testing.assert_array_equal(tokens[:, 1:], (tokens[:, :-1] + 1) % 3)


def test_bayes_new_domain_exact_on_hand_computed_case():
  # V = 2, alpha = 1, x = 0 0 1 0: p(x1=0|x0=0) = (0+1)/(0+2); p(x2=1|x1=0) with one 0->0 seen
  # = (0+1)/(1+2); p(x3=0|x2=1) with no 1->. seen = 1/2. Position 0 is uniform.
  tokens = jnp.array([[0, 0, 1, 0]])
  nll = np.asarray(bayes.new_domain_bayes(tokens, 2, 1.0))[0]
  np.testing.assert_allclose(nll, [math.log(2), math.log(2), math.log(3), math.log(2)],
                             rtol=1e-6)


def test_unigram_and_oracle_exact_on_hand_computed_case():
  tokens = jnp.array([[0, 0, 1, 0]])
  # add-1 unigram: p(x1=0) = (1+1)/(1+2), p(x2=1) = (0+1)/(2+2), p(x3=0) = (2+1)/(3+2).
  nll = np.asarray(bayes.unigram(tokens, 2, 1.0))[0]
  np.testing.assert_allclose(nll[1:], [-math.log(2 / 3), -math.log(1 / 4), -math.log(3 / 5)],
                             rtol=1e-6)
  chain = jnp.array([[[0.9, 0.1], [0.3, 0.7]]])
  oracle = np.asarray(bayes.oracle(tokens, chain))[0]
  np.testing.assert_allclose(oracle[1:], [-math.log(0.9), -math.log(0.1), -math.log(0.3)],
                             rtol=1e-6)


def test_pool_bayes_exact_on_hand_computed_case():
  pool = jnp.array([[[0.9, 0.1], [0.5, 0.5]], [[0.2, 0.8], [0.5, 0.5]]])
  nll = np.asarray(bayes.pool_bayes(jnp.array([[0, 0, 0]]), pool))[0]
  # p(x1=0) = (0.9 + 0.2) / 2; after one 0->0 the posterior is (0.9, 0.2) / 1.1.
  np.testing.assert_allclose(nll[1:], [-math.log(0.55), -math.log((0.81 + 0.04) / 1.1)],
                             rtol=1e-5)
  # A pool of one chain is the oracle.
  tokens = markov.sample_sequences(jax.random.key(0), jnp.stack([pool[0]] * 4), 12)
  np.testing.assert_allclose(bayes.pool_bayes(tokens, pool[:1]),
                             bayes.oracle(tokens, jnp.stack([pool[0]] * 4)), rtol=1e-5)


def test_genre_bayes_beats_new_domain_bayes_on_its_genre():
  base = markov.sample_genre_bases(jax.random.key(3), 1, 8, 0.3)[0]
  chains = markov.sample_genre_chains(jax.random.key(4), base, 8.0, 256)
  tokens = markov.sample_sequences(jax.random.key(5), chains, 32)
  genre = bayes.mean_loss(bayes.genre_bayes(tokens, base, 8.0))
  new = bayes.mean_loss(bayes.new_domain_bayes(tokens, 8, 0.3))
  oracle = bayes.mean_loss(bayes.oracle(tokens, chains))
  assert oracle < genre < new


def test_mixture_counts_are_exact():
  assert markov.mixture_counts(16, [0.75, 0.25]) == [12, 4]
  assert markov.mixture_counts(32, [0.5, 0.5]) == [16, 16]
  assert sorted(markov.mixture_counts(10, [1 / 3] * 3)) == [3, 3, 4]
  assert markov.mixture_counts(8, [1.0, 0.0]) == [8, 0]


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5])
def test_replay_mixing_fraction(fraction):
  # Target rows are all zeros, replayed rows all ones: the batch must hold exactly the fraction.
  target = markov.Source("tokens", {"tokens": jnp.zeros((4, 8), jnp.int32)})
  replay = markov.Source("tokens", {"tokens": jnp.ones((4, 8), jnp.int32)})
  tokens, origin = markov.sample_mixture(jax.random.key(0), [target, replay],
                                         [1 - fraction, fraction], 16, 8)
  assert tokens.shape == (16, 8)
  assert int(tokens[:, 0].sum()) == round(16 * fraction) == int((origin == 1).sum())


def test_stationary_distribution_is_stationary():
  chains = markov.sample_chains(jax.random.key(1), 16, 8, 0.3)
  pi = markov.stationary(chains)
  np.testing.assert_allclose(pi.sum(-1), 1.0, atol=1e-5)
  np.testing.assert_allclose(jnp.einsum("nv,nvw->nw", pi, chains), pi, atol=1e-5)
  # A chain that always moves 0 -> 1 -> 0 (period 2) still has pi = (1/2, 1/2).
  flip = jnp.array([[[0.0, 1.0], [1.0, 0.0]]])
  np.testing.assert_allclose(markov.stationary(flip), [[0.5, 0.5]], atol=1e-6)


def test_stationary_start_draws_the_first_token_from_pi():
  # A chain that always goes to token 2: its stationary distribution is all on 2.
  chain = jnp.zeros((4, 4)).at[:, 2].set(1.0)
  tokens = markov.sample_sequences(jax.random.key(0), jnp.stack([chain] * 64), 5, "stationary")
  np.testing.assert_array_equal(tokens, 2)
  uniform = markov.sample_sequences(jax.random.key(0), jnp.stack([chain] * 64), 5)
  assert len(set(np.asarray(uniform[:, 0]).tolist())) > 1


# The issue's independent references (L = 64, alpha = 0.3), computed for chains started from
# their stationary distribution.
ISSUE_REFERENCES = {"unigram": 2.0205, "bayes_new_domain": 1.6286, "oracle": 1.2202}
# Allowed distance in standard errors of our Monte-Carlo estimate (the issue's own estimate has
# an error too, not stated, so a true match can sit up to ~3 of ours away).
TOLERANCE_SE = 3.0


@pytest.mark.slow
def test_references_agree_with_the_issue_from_the_stationary_start():
  """4,096 sequences: each reference within 3 standard errors (about 0.003 nats each)."""
  tokens, chains = markov.sample_fresh(jax.random.key(0), 4096, 64, 8, 0.3, "stationary")
  assert bayes.mean_loss(bayes.uniform(tokens, 8)) == pytest.approx(2.0794, abs=1e-4)
  ours = {"unigram": bayes.unigram(tokens, 8, 0.3),
          "bayes_new_domain": bayes.new_domain_bayes(tokens, 8, 0.3),
          "oracle": bayes.oracle(tokens, chains)}
  for name, nll in ours.items():
    per_sequence = np.asarray(nll)[:, 1:].mean(1)
    se = per_sequence.std(ddof=1) / np.sqrt(len(per_sequence))
    assert 0.002 < se < 0.005, (name, se)
    assert abs(per_sequence.mean() - ISSUE_REFERENCES[name]) < TOLERANCE_SE * se, (
        name, per_sequence.mean(), se)
