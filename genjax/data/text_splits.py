"""The text pack's split protocol: which documents of a domain train, validate and test.

By document, never by byte offset: exact duplicates (after normalisation) are
dropped, keeping the first id; documents that share most of their 8-word shingles (revisions of
one licence, a news story filed twice) form one group that goes to one split, so a held-out
document has no near-copy in training. Groups are ordered by sha256(SPLIT_SALT + first id);
in that order, a group is held out (to whichever of validation and test is further below its
share of the domain's bytes, VALIDATION_FRACTION and TEST_FRACTION) only while that split is
short and only if at most MAX_HELDOUT_SHARED of its shingles occur in groups not held out;
training takes the rest. So a held-out text is new text even where documents come in families
that share their wording below the near-duplicate bar (licences): the licences' held-out splits
are smaller than their shares (the data card gives the bytes).
"""

import collections
import hashlib

from genjax.errors import UserError

SPLITS = ("train", "validation", "test")
# 10% of the smallest domain (licences, 2.8 MB) is still ~280 KB of held-out text per split,
# enough for a bits-per-byte to about 0.01; training keeps 80%.
VALIDATION_FRACTION = 0.1
TEST_FRACTION = 0.1
SPLIT_SALT = b"genjax-text-split-v1"  # the split's fixed seed: change it and every split changes
SHINGLE_WORDS = 8  # a shingle: 8 consecutive words, lower-cased (long enough to be rare by chance)
NEAR_DUPLICATE_SHARE = 0.5  # share of the smaller document's shingles that makes two one group
# The most of a held-out group's shingles that documents left for training may have. Licence
# families (a licence's versions and variants, the BSD clauses) share their wording below the
# near-duplicate bar, and held out they were read 40% from training; a held-out text should be
# new text. A few percent stays: common phrases, quotations, a story's follow-up.
MAX_HELDOUT_SHARED = 0.05
# Names the protocol above; the text config records it, so a run made on other splits is never
# read as one of these (genjax/configs/text.py `split`).
SPLIT_PROTOCOL = "documents-v2"


def dedupe(docs: dict[str, bytes]) -> dict[str, bytes]:
  """Sorted by id; of identical documents only the first id is kept."""
  seen, kept = set(), {}
  for doc_id in sorted(docs):
    if docs[doc_id] not in seen:
      seen.add(docs[doc_id])
      kept[doc_id] = docs[doc_id]
  return kept


def near_duplicate_groups(docs: dict[str, bytes]) -> list[list[str]]:
  """Documents joined when they share > NEAR_DUPLICATE_SHARE of the smaller one's shingles.

  Each shingle is credited to the first document (by id) that has it, and each document is
  compared with those owners, so the cost is linear in the text (exact pairwise overlaps would
  be quadratic in the number of documents).
  """
  ids = sorted(docs)
  parent = {i: i for i in ids}

  def root(i):
    while parent[i] != i:
      parent[i] = parent[parent[i]]
      i = parent[i]
    return i

  owner, size, vocab = {}, {}, {}
  for doc_id in ids:
    shingles = word_shingles(docs[doc_id], vocab)
    size[doc_id] = len(shingles)
    shared = {}
    for s in shingles:
      if s in owner:
        shared[owner[s]] = shared.get(owner[s], 0) + 1
    for other, count in shared.items():
      if count > NEAR_DUPLICATE_SHARE * min(size[other], size[doc_id]):
        parent[root(doc_id)] = root(other)
    for s in shingles:
      owner.setdefault(s, doc_id)
  groups = {}
  for doc_id in ids:
    groups.setdefault(root(doc_id), []).append(doc_id)
  return list(groups.values())


def word_shingles(text: bytes, vocab: dict[bytes, int]) -> set[int]:
  # Words as ints: a tuple of ints hashes the same in every process (bytes hashes are salted),
  # and a 64-bit hash per shingle keeps the index small.
  words = [vocab.setdefault(w, len(vocab)) for w in text.lower().split()]
  return {hash(tuple(words[i:i + SHINGLE_WORDS]))
          for i in range(max(1, len(words) - SHINGLE_WORDS + 1))}


def assign_splits(docs: dict[str, bytes]) -> dict[str, list[str]]:
  """split -> sorted document ids; deterministic, by near-duplicate group (module doc)."""
  groups = near_duplicate_groups(docs)
  if len(groups) < len(SPLITS):
    raise UserError(f"a text domain needs at least {len(SPLITS)} distinct documents to split, "
                    f"got {len(groups)}")
  groups.sort(key=lambda g: hashlib.sha256(SPLIT_SALT + g[0].encode()).hexdigest())
  vocab = {}
  shingles = [set().union(*(word_shingles(docs[i], vocab) for i in g)) for g in groups]
  # how many groups not (yet) held out have each shingle: they are, or may become, training
  in_pool = collections.Counter(s for group_shingles in shingles for s in group_shingles)
  total = sum(len(d) for d in docs.values())
  quotas = {"validation": VALIDATION_FRACTION, "test": TEST_FRACTION}
  out, held = {s: [] for s in SPLITS}, dict.fromkeys(quotas, 0)
  for at, (group, group_shingles) in enumerate(zip(groups, shingles, strict=True)):
    # the held-out split furthest below its quota: where few groups qualify, both get some
    open_splits = [s for s in quotas if not out[s] or held[s] < quotas[s] * total]
    split = min(open_splits, key=lambda s: held[s] / quotas[s], default=None)
    # a group left for each split still empty after this one (training's fills last)
    needed = sum(not out[s] for s in quotas if s != split) + (not out["train"])
    shared = sum(in_pool[s] > 1 for s in group_shingles) / max(len(group_shingles), 1)
    if split is None or len(groups) - at - 1 < needed or shared > MAX_HELDOUT_SHARED:
      out["train"] += group
      continue
    out[split] += group
    held[split] += sum(len(docs[i]) for i in group)
    in_pool.subtract(group_shingles)  # a held-out group never makes another one's overlap
  if not all(out.values()):
    raise UserError(f"a text domain needs documents that share at most "
                    f"{MAX_HELDOUT_SHARED:.0%} of their shingles with the rest to hold out; "
                    f"{len(groups)} groups split as {({s: len(v) for s, v in out.items()})}")
  return {s: sorted(ids) for s, ids in out.items()}


def describe() -> str:
  """The protocol in one line, for a domain's data card."""
  return (f"{SPLIT_PROTOCOL}: by document, near-duplicate groups kept together, ordered by "
          f"sha256({SPLIT_SALT.decode()} + id); a group is held out only if at most "
          f"{MAX_HELDOUT_SHARED:.0%} of its shingles occur in the rest; validation "
          f"{VALIDATION_FRACTION:.0%} and test {TEST_FRACTION:.0%} of the bytes where enough "
          "groups qualify, training the rest")
