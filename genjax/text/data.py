"""Bytes of the real-text pack as training batches and evaluation windows, per seed.

Every array has a leading seed axis S. Seed s draws its batches, its evaluation windows and its
init from `fold_in(fold_in(key(config.seed), stream), s)`, so the spread over seeds includes the
draw of the held-out windows; two models of one seed are scored on the same windows (paired).
Batches are a pure function of (seed, step): a resumed run replays what an uninterrupted one saw.
A batch of a mix of k domains takes batch_size / k windows of each (exact fractions), so a mix
and a single domain see the same number of bytes per step.
"""

import jax
import numpy as np

from genjax import seeds
from genjax.data import byte_references, text

# Random streams (tags of seeds.seed_keys), disjoint by construction.
INIT = 1  # model initialization
TRAIN_DATA = 2  # training batches
EVAL = 3  # evaluation windows; + 10 * (domain index) + (split index)
LORA = 4  # LoRA adapters' init (finetune study)
FINETUNE_DATA = 5  # finetuning batches (finetune and DAPT studies)
DAPT_DATA = 6  # adaptive-pretraining batches (DAPT study)
CONTINUAL_DATA = 100  # continual study: stage i draws its batches from stream CONTINUAL_DATA + i
LOG2 = float(np.log(2.0))  # nats -> bits


def stream_keys(config, stream: int) -> jax.Array:
  return seeds.seed_keys(config.seed, config.num_seeds, stream)


def arrays(domain: str, split: str) -> tuple[np.ndarray, np.ndarray]:
  """The split's documents end to end (uint8) and their offsets (genjax.data.text.as_array;
  `text.splits` caches the pack per cache folder, so this is a copy of a few MB, not a read)."""
  return text.as_array(text.splits(domain)[split])


def make_sampler(config, domains: tuple[str, ...]):
  """step -> {"tokens": S x B x (context + 1)}: each seed's batch takes B / k windows of each of
  the k `domains`, each window inside one training document."""
  return window_sampler(config, [arrays(d, "train") for d in domains], TRAIN_DATA)


def window_sampler(config, sources: list[tuple[np.ndarray, np.ndarray]], stream: int,
                   counts: list[int] | None = None):
  """step -> {"tokens": S x B x (context + 1)}: counts[i] windows of the (bytes, offsets)
  `sources[i]` (default B / k of each of the k), drawn with the keys of `stream`."""
  counts = counts or [config.batch_size // len(sources)] * len(sources)
  totals = [text.window_count(offsets, config.context) for _, offsets in sources]
  keys = stream_keys(config, stream)

  @jax.jit
  def picks(step):  # [source] S x count window numbers: the step's random draws in one call
    def of_seed(key):
      key = jax.random.fold_in(key, step)
      return [jax.random.randint(jax.random.fold_in(key, i), (count,), 0, total)
              for i, (count, total) in enumerate(zip(counts, totals, strict=True))]
    return jax.vmap(of_seed)(keys)

  def sample(step: int) -> dict:
    picks_S = jax.device_get(picks(step))
    return {"tokens": np.stack([
        np.concatenate([text.windows_at(pick[s], data_N, offsets, config.context)
                        for pick, (data_N, offsets) in zip(picks_S, sources, strict=True)])
        for s in range(config.num_seeds)])}

  return sample


def target_set(config, domain: str) -> tuple[np.ndarray, np.ndarray]:
  """The finetune study's narrow target set: the first config.target_bytes of `domain`'s training
  documents in split order (the last one cut there), as (bytes, offsets). Training text only, so
  the target's validation and test documents stay unseen."""
  data_N, offsets = arrays(domain, "train")
  n = min(config.target_bytes, len(data_N))
  return data_N[:n], np.append(offsets[offsets < n], n)


def past_target_set(config, domain: str) -> tuple[np.ndarray, np.ndarray]:
  """`domain`'s training documents after the target set (`target_set` on the same domain): the
  DAPT study's corpus of the target's register, disjoint from the task data by construction (the
  document the target set cuts goes on from the cut)."""
  data_N, offsets = arrays(domain, "train")
  n = min(config.target_bytes, len(data_N))
  return data_N[n:], np.append(0, offsets[offsets > n] - n)


def eval_windows(config, domain: str, split: str) -> np.ndarray:
  """S x N x (context + 1) windows of the held-out `split` of `domain`, seed s its own."""
  tag = EVAL + 10 * (1 + text.DOMAINS.index(domain)) + text.SPLITS.index(split)
  data_N, offsets = arrays(domain, split)
  return np.stack([text.sample_windows(k, data_N, offsets, config.eval_windows, config.context)
                   for k in stream_keys(config, tag)])


def floor_bits(config, domains, order: int) -> np.ndarray:
  """S: per seed, the bits per byte of the Kneser-Ney n-gram of `order` fitted on the training
  documents of `domains` (the training split of a model trained on them) and scored as the model
  is on its own held-out text: every position of seed s's test windows of each domain
  (`eval_windows`), equal parts of the domains, a byte after j bytes of its window at order
  min(j + 1, order) (`byte_references.window_bits`)."""
  docs = {f"{d}/{name}": doc for d in domains for name, doc in text.splits(d)["train"].items()}
  windows = np.stack([eval_windows(config, d, "test") for d in domains])  # D x S x N x L
  scored = byte_references.window_bits(docs, order, windows.reshape(-1, windows.shape[-1]))
  return scored.reshape(*windows.shape[:3], -1).mean(axis=(0, 2, 3))  # same N per domain


def references(config, domains) -> dict[str, dict[str, float]]:
  """Bits per byte of uniform, zlib, bz2, lzma and Kneser-Ney n-grams on each domain's test
  documents (whole documents, genjax.data.byte_references)."""
  return {d: byte_references.references(d, "test", tuple(config.ngram_orders)) for d in domains}
