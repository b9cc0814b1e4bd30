"""Q4's wall-time window (the last-level cache, fixed before a sweep) and the summary's new
fits (XLA count fits, time past and below the cache cliff, per-round crossovers) on made-up rows."""

import math

import pytest

from genjax.attention import cache, slopes, writers
from genjax.configs import attention as attention_config


def _sysfs(tmp_path, *indices):
  for i, (level, kind, size) in enumerate(indices):
    d = tmp_path / f"index{i}"
    d.mkdir()
    (d / "level").write_text(f"{level}\n")
    (d / "type").write_text(f"{kind}\n")
    (d / "size").write_text(f"{size}\n")
  return str(tmp_path)


def test_the_last_level_cache_is_read_from_sysfs_with_a_fallback(tmp_path):
  assert cache.parse_size("32768K") == 32 * 2 ** 20 and cache.parse_size("1M") == 2 ** 20
  assert cache.parse_size("512") == 512
  found = cache.last_level_cache(_sysfs(tmp_path, (1, "Data", "32K"), (1, "Instruction", "32K"),
                                        (2, "Unified", "512K"), (3, "Unified", "32768K")))
  assert found["level"] == 3 and found["bytes"] == 32 * 2 ** 20
  assert found["source"].endswith("index3")
  assert cache.last_level_cache(str(tmp_path / "absent")) is None  # no sysfs: no cache


def test_the_window_starts_where_naive_scores_exceed_the_cache_or_says_why_not():
  config = attention_config.get_config("quick")
  ns = [1024, 2048, 3200, 4096]
  llc = {"level": 3, "bytes": 32 * 2 ** 20, "source": "x"}
  window = cache.long_n_window(ns, config, "cpu", llc)
  assert window["n_from"] == 3200 and not window["reason"]  # 4 * 3200² > 32 MiB > 4 * 2048²
  assert cache.naive_temp_bytes(3200, config) > llc["bytes"] >= cache.naive_temp_bytes(2048,
                                                                                       config)
  for backend, found, why in (("cpu", None, "could not be fixed"), ("gpu", llc, "backend is gpu"),
                              ("cpu", dict(llc, bytes=2 ** 40), "no n past the cliff")):
    window = cache.long_n_window(ns, config, backend, found)
    assert window["n_from"] is None and why in window["reason"]


def _scaling_rows(ns, exponent, probe_n=32):
  """Naive forward rows: time = n^exponent (3 rounds), an exact n² FLOP count."""
  rows = []
  for n in (probe_n, *ns):
    t = 1e-9 * n ** exponent
    rows.append(dict(section="scaling", variant="naive", mode="forward", n=n, status="ok",
                     times=" ".join(f"{t * f:.9f}" for f in (1.0, 1.01, 0.99)),
                     reference_times="1 1 1", time_s=t, temp_bytes=4.0 * n * n,
                     memory_source="memory_analysis", xla_flops=256.0 * n * n,
                     xla_bytes=float("nan") if n == ns[0] else 8.0 * n * n))
  return rows


def _crossover_rows(d, ns, attention_times):
  """Crossover rows whose MLP takes 1 s per round and attention the given per-round times."""
  rows = []
  for n, att in zip(ns, attention_times, strict=True):
    for part, ts in (("attention", att), ("mlp", [1.0] * len(att)),
                     ("projections", [0.5] * len(att)), ("layer", [2.0] * len(att))):
      rows.append(dict(section="crossover", part=part, n=n, d=d, variant="blocked",
                       mode="forward", status="ok", time_s=sorted(ts)[len(ts) // 2],
                       times=" ".join(str(t) for t in ts)))
  return rows


def test_summary_fits_counts_the_window_and_each_crossover_round():
  config = attention_config.get_config("quick")
  config.variants, config.modes, config.crossover_widths = ("naive",), ("forward",), (64,)
  ns = [1024, 1280, 1664, 2048, 2560, 3200, 4096, 5120, 6528]
  window = {"n_from": 2560, "cache": None, "reason": "", "rule": "r"}
  rows = _scaling_rows(ns, 2.0) + _crossover_rows(
      64, [64, 128, 256], [[0.5, 0.5, 2.0], [2.0, 0.5, 3.0], [4.0, 2.0, 4.0]])
  summary = slopes.summarize(rows, config, window)
  (s,) = summary["slopes"]
  assert s["flops_count"].slope == pytest.approx(2.0) and s["flops_count"].points == len(ns)
  assert s["bytes_count"].points == len(ns) - 1  # the uncounted n is left out
  assert s["count_note"] == ""
  assert (s["time_long"].n_lo, s["time_long"].n_hi) == (2560, 6528)
  assert s["time_in_cache"].n_hi < 2560 and s["time_long"].slope == pytest.approx(2.0, abs=0.01)
  (c,) = summary["crossovers"]
  # Round 1 crosses between 64 and 128, round 2 between 128 and 256, round 3 from the start.
  assert 64 < c["mlp_rounds"][0] < 128 and 128 < c["mlp_rounds"][1] < 256
  assert c["mlp_rounds"][2] == 64 and c["mlp_rounds_from_start"] == [False, False, True]
  as_json = writers.summary_to_json(summary, 1e9, {}, 1.0)
  assert as_json["slopes"][0]["time_long"]["n_lo"] == 2560
  assert as_json["time_window"] == window
  lines = writers._window_lines(dict(summary, memory_reuse={"glibc_tunables": "",
                                                             "in_force": False}))
  assert any("not in force" in line for line in lines)


def test_without_a_window_or_counts_the_summary_says_so():
  config = attention_config.get_config("quick")
  config.variants, config.modes, config.crossover_widths = ("chunked",), ("forward",), ()
  ns = [1024, 2048, 4096, 8192]
  rows = [dict(r, variant="chunked", xla_flops=math.nan, xla_bytes=math.nan)
          for r in _scaling_rows(ns, 2.0)]
  (s,) = slopes.summarize(rows, config)["slopes"]
  assert s["time_long"] is None and s["time_in_cache"] is None and s["flops_count"] is None
  assert "a loop" in s["count_note"]
