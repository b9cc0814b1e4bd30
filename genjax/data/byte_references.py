"""Reference bits per byte on held-out text: uniform, three compressors, a byte n-gram.

These are the floors and ceilings a byte-level language model is read against, computed
exactly (no sampling) on the same held-out documents (`genjax.data.text`).

Compressors: every document is compressed on its own and the compressed bits are summed over
the documents, then divided by their summed bytes. That is how a language model is scored here
(each document alone, nothing carried over from the one before); compressing the documents
end to end would let a compressor copy boilerplate from one held-out document into the next
(licences: 2.7 -> 1.0 bits per byte for lzma), a memory the model does not have. The price is
each compressor's fixed cost per document, paid as it is: zlib level 9 (6 bytes of header and
checksum), bz2 level 9 (its stream header and CRCs); lzma is a raw LZMA2 stream at preset
9 | PRESET_EXTREME, without the 32 bytes of xz container (checksums and an index, not a model
of the text). `concatenate=True` gives the end-to-end cost for comparison.

n-gram: interpolated Kneser-Ney over bytes (Chen and Goodman 1999, one absolute discount per
order, D = n1 / (n1 + 2 n2)), the highest order on counts, lower orders on continuation counts,
the unigram interpolated with the uniform distribution so that every byte has probability > 0.
A document's first bytes see a context padded with a start symbol. Fitted on the training
split, scored on held-out documents; its distribution sums to 1 for every context (tested).

`window_bits` scores n-grams on the windows a language model reads instead: a window's bytes are
all the context there is (no start symbol, nothing before the window), so the byte after j bytes
of the window is predicted by the model of order min(j + 1, order) (the competence floor of the
real-text rules, genjax/claims/text_checks.py).
"""

import bz2
import dataclasses
import lzma
import zlib

import numpy as np

from genjax.data import text

UNIFORM_BITS = 8.0  # a byte drawn uniformly from 256 values
COMPRESSORS = ("zlib", "bz2", "lzma")
BOS = 256  # the start symbol before a document: in contexts only, never predicted
BASE = 257  # n-gram keys are base-257 numbers (256 bytes and BOS) in an int64
MAX_ORDER = 7  # 257**8 > 2**63: an order-8 key would overflow int64
# Ney's D = n1 / (n1 + 2 n2) is 0 when no n-gram occurs once (a tiny training text), which would
# give unseen bytes no mass; 1 would give every once-seen n-gram nothing at its own order.
DISCOUNT_RANGE = (0.1, 0.9)


def compress(data: bytes, name: str) -> bytes:
  if name == "zlib":
    return zlib.compress(data, 9)
  if name == "bz2":
    return bz2.compress(data, 9)
  if name == "lzma":
    # A dictionary of the input's size gives the same stream as preset 9's 64 MiB one (a match
    # cannot reach past the input) without allocating ~700 MB per call.
    lzma2 = {"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME,
             "dict_size": min(64 << 20, max(4096, len(data)))}
    return lzma.compress(data, format=lzma.FORMAT_RAW, filters=[lzma2])
  raise ValueError(f"compressor {name!r} is unknown; choose one of {', '.join(COMPRESSORS)}")


def compressed_bits(docs: dict[str, bytes], name: str, concatenate: bool = False) -> int:
  """Total compressed bits of the documents, each compressed alone (or all end to end)."""
  if concatenate:
    return 8 * len(compress(b"".join(docs.values()), name))
  return 8 * sum(len(compress(d, name)) for d in docs.values())


@dataclasses.dataclass(frozen=True)
class Ngram:
  """Interpolated Kneser-Ney tables; entry k - 1 of each tuple belongs to order k."""

  order: int
  discounts: tuple[float, ...]
  grams: tuple[np.ndarray, ...]  # sorted int64 keys of (context, byte)
  counts: tuple[np.ndarray, ...]  # their counts: raw at the highest order, continuation below
  contexts: tuple[np.ndarray, ...]  # sorted int64 keys of the contexts seen
  totals: tuple[np.ndarray, ...]  # summed counts of each context
  types: tuple[np.ndarray, ...]  # how many distinct bytes follow each context


def _top_keys(docs: dict[str, bytes], order: int) -> np.ndarray:
  """The key of the `order`-gram ending at each byte of each document (BOS-padded context)."""
  pad = np.full(order - 1, BOS, np.int64)
  keys = []
  for data in docs.values():
    seq = np.concatenate([pad, np.frombuffer(data, np.uint8).astype(np.int64)])
    key = np.zeros(len(data), np.int64)
    for j in range(order):  # Horner: the oldest symbol is the most significant digit
      key = key * BASE + seq[j:j + len(data)]
    keys.append(key)
  return np.concatenate(keys) if keys else np.zeros(0, np.int64)


def fit_ngram(docs: dict[str, bytes], order: int) -> Ngram:
  """Interpolated Kneser-Ney byte model of `order` (1 to MAX_ORDER) fitted on `docs`."""
  if not 1 <= order <= MAX_ORDER:
    raise ValueError(f"n-gram order must be 1 to {MAX_ORDER}, got {order}")
  grams, counts = [None] * order, [None] * order
  grams[-1], counts[-1] = np.unique(_top_keys(docs, order), return_counts=True)
  for k in range(order - 1, 0, -1):
    # Continuation count of a k-gram: how many distinct bytes precede it, i.e. how many distinct
    # (k+1)-grams end with it.
    grams[k - 1], counts[k - 1] = np.unique(grams[k] % BASE**k, return_counts=True)
  discounts, contexts, totals, types = [], [], [], []
  for gram, count in zip(grams, counts, strict=True):
    n1, n2 = np.sum(count == 1), np.sum(count == 2)
    discounts.append(float(np.clip(n1 / max(n1 + 2 * n2, 1), *DISCOUNT_RANGE)))
    context, first = np.unique(gram // BASE, return_index=True)  # gram sorted: contexts too
    contexts.append(context)
    totals.append(np.add.reduceat(count, first) if len(first) else count)
    types.append(np.diff(np.append(first, len(gram))))
  return Ngram(order, tuple(discounts), tuple(grams), tuple(counts), tuple(contexts),
               tuple(totals), tuple(types))


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
  """values[i] where keys[i] == query, else 0."""
  if len(keys) == 0:
    return np.zeros(len(query), np.int64)
  i = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
  return np.where(keys[i] == query, values[i], 0)


def _probabilities(model: Ngram, top_keys: np.ndarray) -> np.ndarray:
  """P(byte | context) for each top-order key (context and byte), lowest order first."""
  p = np.full(len(top_keys), 1.0 / 256)
  for k in range(1, model.order + 1):
    gram = top_keys % BASE**k
    count = _lookup(model.grams[k - 1], model.counts[k - 1], gram)
    total = _lookup(model.contexts[k - 1], model.totals[k - 1], gram // BASE)
    types = _lookup(model.contexts[k - 1], model.types[k - 1], gram // BASE)
    d, seen = model.discounts[k - 1], total > 0
    safe = np.maximum(total, 1)
    # Discounted own count plus the discounted mass, spread by the lower order; a context
    # never seen in training leaves the lower order's estimate as it is.
    p = np.where(seen, np.maximum(count - d, 0) / safe + d * types / safe * p, p)
  return p


def ngram_bits(model: Ngram, docs: dict[str, bytes]) -> float:
  """-sum log2 P(byte | context) over every byte of the documents."""
  return float(-np.sum(np.log2(_probabilities(model, _top_keys(docs, model.order)))))


def ngram_distribution(model: Ngram, context: bytes) -> np.ndarray:
  """float64 [256]: P(next byte | `context`, the bytes of a document so far)."""
  n = model.order - 1
  key = 0
  for symbol in ([BOS] * n + list(context))[len(context):]:  # the last n symbols
    key = key * BASE + symbol
  return _probabilities(model, key * BASE + np.arange(256, dtype=np.int64))


def window_bits(docs: dict[str, bytes], order: int, windows_NxL: np.ndarray) -> np.ndarray:
  """N x (L - 1) bits of bytes 1..L-1 of each window under Kneser-Ney fitted on `docs`: byte i
  sees the i bytes before it in its window, so it is predicted at order min(i + 1, `order`), by a
  model of that order fitted on `docs` (its highest order on raw counts)."""
  windows = np.asarray(windows_NxL).astype(np.int64)
  length = windows.shape[1]
  out = np.zeros((len(windows), length - 1))
  for k in range(1, order + 1):
    at = [i for i in range(1, length) if min(i + 1, order) == k]  # positions scored at order k
    if not at:
      continue
    model, key = fit_ngram(docs, k), np.zeros((len(windows), len(at)), np.int64)
    for j in range(k):  # Horner over bytes i - k + 1 .. i, the oldest the most significant
      key = key * BASE + windows[:, [i - k + 1 + j for i in at]]
    p = _probabilities(model, key.ravel()).reshape(key.shape)
    out[:, [i - 1 for i in at]] = -np.log2(p)
  return out


def references(domain: str, split: str = "test", orders=(3, 5, 7), pin: dict | None = None,
               concatenate: bool = False) -> dict[str, float]:
  """Bits per byte of every reference on `split` of `domain`; n-grams fitted on its training.

  Keys: "uniform", each compressor, and "kn<order>" per n-gram order.
  """
  if split not in text.SPLITS:
    raise ValueError(f"split must be one of {', '.join(text.SPLITS)}, got {split!r}")
  parts = text.splits(domain, pin)
  held = parts[split]
  size = sum(len(d) for d in held.values())
  out = {"uniform": UNIFORM_BITS}
  out.update({name: compressed_bits(held, name, concatenate) / size for name in COMPRESSORS})
  for order in orders:
    out[f"kn{order}"] = ngram_bits(fit_ngram(parts["train"], order), held) / size
  return out
