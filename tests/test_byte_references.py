"""Reference bits per byte: compressors, uniform, and the Kneser-Ney byte n-gram (made-up text)."""

import bz2
import lzma
import math
import random
import zlib

import numpy as np
import pytest

from genjax.data import byte_references as refs
from genjax.data import text

SENTENCE = b"the cat sat on the mat and the dog sat on the log. "


def made_up(seed: int, words: int = 400) -> bytes:
  rng = random.Random(seed)
  vocab = "amber birch cedar delta ember fjord glade heron inlet juniper kestrel lichen".split()
  return " ".join(rng.choice(vocab) for _ in range(words)).encode()


def test_a_compressor_costs_its_compressed_bits_per_document():
  s = SENTENCE * 20
  assert refs.compressed_bits({"a": s}, "zlib") == 8 * len(zlib.compress(s, 9))
  assert refs.compressed_bits({"a": s}, "bz2") == 8 * len(bz2.compress(s, 9))
  docs = {"a": s, "b": made_up(1)}
  for name in refs.COMPRESSORS:
    each = sum(refs.compressed_bits({k: v}, name) for k, v in docs.items())
    assert refs.compressed_bits(docs, name) == each  # documents compressed one by one
    together = refs.compressed_bits(docs, name, concatenate=True)
    assert together == 8 * len(refs.compress(s + docs["b"], name))
  with pytest.raises(ValueError, match="compressor 'gzip' is unknown"):
    refs.compress(s, "gzip")


def test_lzma_is_a_raw_lzma2_stream_that_decodes_back():
  s = made_up(2)
  packed = refs.compress(s, "lzma")
  filters = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME}]
  assert lzma.decompress(packed, format=lzma.FORMAT_RAW, filters=filters) == s
  # The same stream as preset 9's own 64 MiB dictionary, and no 32-byte xz container.
  assert packed == lzma.compress(s, format=lzma.FORMAT_RAW, filters=filters)
  assert len(lzma.compress(s, preset=9 | lzma.PRESET_EXTREME)) > len(packed) + 30


@pytest.mark.parametrize("order", [1, 2, 3, 5, 7])
def test_the_ngram_is_a_distribution_in_every_context(order):
  model = refs.fit_ngram({"a": SENTENCE * 5, "b": made_up(3), "c": b"\x00\xff" * 30}, order)
  contexts = [b"", b"t", b"the ", b"the cat sat on", b"\x00\xff\x00", b"zzzzzzzz", bytes(range(9))]
  for context in contexts:
    p = refs.ngram_distribution(model, context)
    assert p.shape == (256,) and (p > 0).all(), context
    assert math.isclose(p.sum(), 1.0, abs_tol=1e-12), (context, p.sum())


def test_ngram_bits_sum_the_distribution_byte_by_byte():
  model = refs.fit_ngram({"a": made_up(4), "b": SENTENCE * 3}, 3)
  doc = b"the cat sat on a heron"
  expected = -sum(math.log2(refs.ngram_distribution(model, doc[:i])[doc[i]])
                  for i in range(len(doc)))
  assert math.isclose(refs.ngram_bits(model, {"x": doc}), expected, rel_tol=1e-12)
  # Documents are scored apart: no context reaches across from one document to the next.
  other = b"juniper inlet"
  assert math.isclose(refs.ngram_bits(model, {"x": doc, "y": other}),
                      expected + refs.ngram_bits(model, {"y": other}), rel_tol=1e-12)


def test_a_unigram_by_hand():
  # Counts a:2 b:1, so n1 = n2 = 1 and D = 1/3; two byte types share the discounted mass with
  # the uniform distribution over 256 bytes.
  model = refs.fit_ngram({"x": b"aab"}, 1)
  assert model.discounts == (pytest.approx(1 / 3),)
  p = refs.ngram_distribution(model, b"anything")
  d, uniform = 1 / 3, 1 / 256
  assert p[ord("a")] == pytest.approx((2 - d) / 3 + d * 2 / 3 * uniform)
  assert p[ord("b")] == pytest.approx((1 - d) / 3 + d * 2 / 3 * uniform)
  assert p[ord("z")] == pytest.approx(d * 2 / 3 * uniform)


def test_the_ngram_beats_uniform_on_repetitive_text_and_orders_help():
  train = {f"d{i}": SENTENCE * 10 for i in range(3)}
  held = {"h": SENTENCE * 4}
  size = len(held["h"])
  bits = {order: refs.ngram_bits(refs.fit_ngram(train, order), held) / size
          for order in (1, 3, 5)}
  assert bits[1] < refs.UNIFORM_BITS and bits[5] < bits[3] < bits[1]
  assert bits[5] < 0.5  # the sentence is all there is to learn
  with pytest.raises(ValueError, match="order must be 1 to 7"):
    refs.fit_ngram(train, 8)


def test_references_on_a_made_up_split(monkeypatch):
  parts = {"train": {f"t{i}": made_up(10 + i) for i in range(8)},
           "validation": {"v": made_up(30)}, "test": {"x": made_up(40), "y": made_up(41)}}
  monkeypatch.setattr(text, "splits", lambda domain, pin=None: parts)
  out = refs.references("made-up", "test", orders=(2, 4))
  assert list(out) == ["uniform", "zlib", "bz2", "lzma", "kn2", "kn4"]
  assert out["uniform"] == 8.0
  size = len(parts["test"]["x"]) + len(parts["test"]["y"])
  assert out["zlib"] == 8 * (len(zlib.compress(parts["test"]["x"], 9))
                             + len(zlib.compress(parts["test"]["y"], 9))) / size
  # Twelve equally likely words: log2(12) = 3.6 bits a word of ~6.4 bytes with its space, 0.56
  # bits a byte, which an order-4 model of the training split nearly reaches; the compressors,
  # which see one document at a time, do worse.
  assert 0.56 < out["kn4"] < 0.6 and out["kn4"] < out["kn2"] < out["uniform"]
  assert out["kn4"] < min(out[name] for name in refs.COMPRESSORS)
  assert np.isfinite(list(out.values())).all()
  with pytest.raises(ValueError, match="split must be one of"):
    refs.references("made-up", "dev")


def test_on_a_window_a_byte_after_j_bytes_is_scored_at_order_j_plus_one():
  """window_bits: the window is all the context there is (no start symbol), so byte i of a window
  is predicted by the Kneser-Ney model of order min(i + 1, order) from the i bytes before it."""
  docs = {"a": made_up(3), "b": SENTENCE * 10}
  held = made_up(4, 60)
  windows = np.stack([np.frombuffer(held[k:k + 9], np.uint8) for k in (0, 7, 30)])
  scored = refs.window_bits(docs, 3, windows)
  assert scored.shape == (3, 8)
  models = {k: refs.fit_ngram(docs, k) for k in (2, 3)}
  for n, window in enumerate(windows):
    for i in range(1, 9):
      model = models[min(i + 1, 3)]
      p = refs.ngram_distribution(model, bytes(window[i - model.order + 1:i]))[window[i]]
      assert scored[n, i - 1] == pytest.approx(-math.log2(p))
  # A start symbol before the window would change the first byte's bits; the window has none.
  assert scored[0, 0] != pytest.approx(-math.log2(refs.ngram_distribution(
      models[3], bytes(windows[0][:1]))[windows[0][1]]))
