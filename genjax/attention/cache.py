"""The wall-time window of Q4, fixed before a sweep from the machine: the last-level cache.

Naive attention's time per FLOP jumps where its n x n temporaries stop fitting in the last-level
cache (the cache cliff); a slope fitted across the cliff mixes two regimes. The wall-time rule
therefore reads only the n from the first n at which naive attention's temporaries exceed the
last-level cache to the longest n. The cache size comes from Linux's sysfs; where it cannot be
read (another OS, a container without it, an accelerator backend) the window is not fixed, and
the rule says so instead of judging.
"""

import glob
import os

CACHE_DIR = "/sys/devices/system/cpu/cpu0/cache"
_UNITS = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}


def _read(path: str) -> str:
  with open(path) as f:
    return f.read().strip()


def parse_size(text: str) -> int:
  """sysfs' cache size ("32768K", "1M", "512") in bytes."""
  text = text.strip().upper()
  if text[-1:] in _UNITS:
    return int(text[:-1]) * _UNITS[text[-1]]
  return int(text)


def last_level_cache(cache_dir: str = CACHE_DIR) -> dict | None:
  """{level, bytes, source} of the highest-level data or unified cache of cpu0, or None where
  sysfs has no readable index*/level and size (then the window cannot be fixed)."""
  found = []
  for index in sorted(glob.glob(os.path.join(cache_dir, "index*"))):
    try:
      if _read(os.path.join(index, "type")) == "Instruction":
        continue
      found.append((int(_read(os.path.join(index, "level"))),
                    parse_size(_read(os.path.join(index, "size"))), index))
    except (OSError, ValueError):
      continue
  if not found:
    return None
  level, size, index = max(found)
  return {"level": level, "bytes": size, "source": index}


def naive_temp_bytes(n: int, config) -> int:
  """A lower bound on naive attention's temporaries at n: the batch x heads n x n score matrix
  it materializes (XLA's temp bytes for naive forward hold at least this)."""
  itemsize = 2 if config.dtype == "bfloat16" else 4
  return config.batch * config.heads * n * n * itemsize


def long_n_window(ns, config, backend: str, cache: dict | None) -> dict:
  """The wall-time window, fixed before any timing: `n_from` is the first n of the grid whose
  naive temporaries exceed the last-level cache (None, with `reason`, where it cannot be fixed);
  the window runs from it to the longest n each program reached."""
  rule = ("from the first n at which naive attention's n x n scores (batch x heads x n² x "
          "itemsize bytes) exceed the last-level cache read from sysfs, to the longest n")
  out = {"rule": rule, "cache": cache, "n_from": None, "reason": ""}
  if backend != "cpu":
    out["reason"] = (f"the backend is {backend}: only a CPU's cache is read (sysfs), so the "
                     "window could not be fixed")
  elif cache is None:
    out["reason"] = (f"no readable {CACHE_DIR}/index*/(level, size) on this machine: the "
                     "last-level cache, and so the window, could not be fixed")
  else:
    beyond = [n for n in ns if naive_temp_bytes(n, config) > cache["bytes"]]
    if beyond:
      out["n_from"] = beyond[0]
    else:
      out["reason"] = (f"naive attention's temporaries stay within the {cache['bytes'] / 2**20:g}"
                       f" MiB L{cache['level']} cache up to n = {max(ns):,}: no n past the "
                       "cliff")
  return out
