"""Q4: the cost of self-attention. Rules read results.json of genjax.attention.experiment.

Operations and time are two claims. Whether compute grows quadratically (and the efficient
variants' "about linear") is decided by XLA's FLOP and byte counts of the compiled programs: a
property of the program, not of the machine's load; a variant XLA cannot count says so. Wall time
is its own row, read over a window fixed before the sweep from the machine's last-level cache.
Every slope is read off its 95% interval, never its point estimate:
- "about k" (an equivalence) needs the whole interval inside k +- SLOPE_TOLERANCE (two one-sided
  tests, each at 2.5%); wholly outside the band is "not about k"; across an edge cannot tell;
- "about linear" needs the interval at or below ABOUT_LINEAR_MAX; wholly above it is not;
- "at least quadratically" needs the interval's lower end at or above TIME_FLOOR; an upper end
  below it contradicts.
Across a line or band edge the run cannot tell: INCONCLUSIVE. Equivalence and count margins carry
no p-value (their s.d. is nan): a count is not a sample, and a p against one band edge is not the
equivalence test. One-sided margins keep the t test against their threshold, below 0.05 exactly
when the 95% interval decides. Every finding ends with its margin. An input the sweep did not
record raises ResultMissing (*not measured*, named); a malformed result raises what it raises.
"""

import math

from scipy import stats

from genjax.claims import attention_readings as rd
from genjax.claims.attention_readings import (  # noqa: F401  (the thresholds, named here too)
  ABOUT_LINEAR_MAX,
  BAND_RULE,
  EFFICIENT,
  LINEAR_RULE,
  MIN_CROSSOVERS,
  MODES,
  SLOPE_TOLERANCE,
  TIME_FLOOR,
)
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  SUPPORTED,
  Claim,
  Finding,
  Margin,
  ResultMissing,
)

EXPERIMENT = "attention scaling sweep (experiments/attention.py)"


def quadratic_compute(results) -> Finding:
  """XLA's FLOP counts of naive attention decide; its byte counts qualify a supported verdict."""
  reads = [(f"naive {mode} XLA {what} count slope", rd.get_fit(results, "naive", mode, key))
           for key, what in (("flops_count", "FLOP"), ("bytes_count", "byte")) for mode in MODES]
  status = [rd.band(fit, 2) for _, fit in reads]
  evidence = ("XLA's counts of naive attention's compiled programs (log-log slope over every n "
              "counted, 95% interval): " + "; ".join(f"{n} {rd.fmt(f)}" for n, f in reads))
  text = (f"{BAND_RULE}; the FLOP counts decide, bytes not about 2 beside them make it "
          "conditional; no p (a count is not a sample)")
  # In order of precedence: a FLOP count shown off 2, any count across an edge, bytes off 2;
  # with all four inside the band, the one nearest an edge decides.
  steps = ((CONTRADICTED, "out", (0, 1)), (INCONCLUSIVE, "across", range(4)),
           (CONDITIONAL, "out", (2, 3)))
  verdict, hit = next(((v, [i for i in among if status[i] == kind]) for v, kind, among in steps
                       if any(status[i] == kind for i in among)), (SUPPORTED, None))
  if hit is None:
    hit = [min(range(4), key=lambda i: min(reads[i][1]["lo"] - (2 - SLOPE_TOLERANCE),
                                           2 + SLOPE_TOLERANCE - reads[i][1]["hi"]))]
  name, fit = reads[hit[0]]
  condition = {INCONCLUSIVE: rd.cannot_tell([reads[i][0] for i in hit], "the band's edge"),
               CONDITIONAL: "on the cost measure: the operations grow as n², the bytes XLA "
               "moves do not over these n"}.get(verdict, "")
  margin = rd.margin(name, fit, rd.edge(fit, 2), p=False)
  return rd.finding(verdict, evidence, text, margin, condition)


def _window(results) -> dict:
  """The wall-time window fixed before the sweep, with memory reuse; else ResultMissing."""
  window, reuse = results.get("time_window"), results.get("memory_reuse")
  if window is None or reuse is None:
    raise ResultMissing("the results hold no wall-time window or memory-reuse record (from "
                        "before they were recorded)")
  if window["n_from"] is None:
    raise ResultMissing(f"the wall-time window could not be fixed: {window['reason']}")
  if not reuse["in_force"]:
    raise ResultMissing(f"timed without memory reuse (GLIBC_TUNABLES="
                        f"{reuse['glibc_tunables']!r}): fresh pages each call; "
                        "experiments/attention.py restarts with genjax.startup.MEMORY_REUSE")
  return window


def run_time_at_long_n(results) -> Finding:
  """Naive attention's load-corrected time slopes past the cache cliff decide; slopes below the
  cliff, shown under the floor, make it conditional on the cliff."""
  window = _window(results)
  n_from, llc = window["n_from"], window["cache"]
  why = f"fewer than the fit's minimum of n past the cache cliff (n >= {n_from:,})"
  fits = [(f"naive {mode} time past the cache cliff (load-corrected)",
           rd.get_fit(results, "naive", mode, "time_long", why)) for mode in MODES]
  below = [(mode, rd.slope_entry(results, "naive", mode).get("time_in_cache")) for mode in MODES]
  cache = f"the {llc['bytes'] / 2 ** 20:g} MiB L{llc['level']} cache"
  evidence = (f"naive attention's log-log time slopes from n = {n_from:,} (the first n whose "
              f"n x n scores exceed {cache}, fixed before the sweep) to the longest n, timed "
              "with memory reused: "
              + "; ".join(f"{m} {rd.fmt(f)}" for m, (_, f) in zip(MODES, fits, strict=True))
              + "; below the cliff: " + "; ".join(f"{m} {rd.fmt(f)}" for m, f in below))
  text = (f"'at least quadratically' = the 95% interval's lower end at or above {TIME_FLOOR:g} "
          "in both modes; an upper end below it contradicts; below the cliff, an interval "
          f"wholly under {TIME_FLOOR:g} makes it conditional on the cache cliff")
  name, fit = min(fits, key=lambda f: f[1]["lo"])
  margin = rd.margin(name, fit, TIME_FLOOR)
  if any(rd.finite(f) and f["hi"] < TIME_FLOOR for _, f in fits):
    name, fit = min(fits, key=lambda f: f[1]["hi"])
    return rd.finding(CONTRADICTED, evidence, text, rd.margin(name, fit, TIME_FLOOR))
  low = [n for n, f in fits if not f["lo"] >= TIME_FLOOR]  # a nan end cannot clear it either
  if low:
    return rd.finding(INCONCLUSIVE, evidence, text, margin,
                      rd.cannot_tell(low, f"the {TIME_FLOOR:g} line"))
  slower = [m for m, f in below if f is not None and rd.finite(f) and f["hi"] < TIME_FLOOR]
  if slower:
    return rd.finding(CONDITIONAL, evidence, text, margin, f"on the cache cliff: at least "
                      f"quadratic from n = {n_from:,}, where naive attention's temporaries "
                      f"exceed {cache}; below it ({', '.join(slower)}) time grows more slowly")
  return rd.finding(SUPPORTED, evidence, text, margin)


def quadratic_memory(results) -> Finding:
  naive = rd.get_fit(results, "naive", "forward", "memory")
  chunked = rd.get_fit(results, "chunked", "forward", "memory")
  if "largest" not in results:
    raise ResultMissing("the results hold no largest-n table")
  evidence = (f"temp memory slope: naive {rd.fmt(naive)}, exact chunked attention "
              f"{rd.fmt(chunked)}; largest n with chunked: "
              f"{results['largest'].get('chunked/forward/long', 'not run')}")
  text = (f"naive must be about 2 ({BAND_RULE}; no p); chunked {LINEAR_RULE} turns supported "
          "into conditional")
  naive_margin = rd.margin("naive forward temp-memory slope", naive, rd.edge(naive, 2), p=False)
  chunked_margin = rd.margin("chunked forward temp-memory slope", chunked, ABOUT_LINEAR_MAX)
  if rd.band(naive, 2) == "out":
    return rd.finding(CONTRADICTED, evidence, text, naive_margin)
  if rd.band(naive, 2) == "across":
    return rd.finding(INCONCLUSIVE, evidence, text, naive_margin,
                      rd.cannot_tell(["naive memory"], "the band's edge"))
  if rd.linear(chunked) == "across":
    return rd.finding(INCONCLUSIVE, evidence, text, chunked_margin,
                      rd.cannot_tell(["chunked memory"], f"the {ABOUT_LINEAR_MAX} line"))
  if rd.linear(chunked) == "linear":
    return rd.finding(CONDITIONAL, evidence, text, chunked_margin, "on the implementation: "
                      "standard attention memory is O(n²), but exact attention computed in "
                      "chunks needs O(n)")
  return rd.finding(SUPPORTED, evidence, text, chunked_margin)


def _crossover(c):
  """(verdict, evidence, margin) of one width from its per-round crossovers."""
  d, ns, rounds, from_start = c["d"], c["ns"], c["mlp_rounds"], c["mlp_rounds_from_start"]

  def ratio_at(i, where):  # attention / MLP time (medians over rounds): a point, no interval
    return Margin(f"attention / MLP time at the {where} n, d={d}", c["attention_over_mlp"][i],
                  math.nan, math.nan, 1.0, 1, unit="measurements")

  if len(rounds) < MIN_CROSSOVERS:
    return (INCONCLUSIVE, f"d={d}: measured {len(rounds)} time(s), fewer than the "
            f"{MIN_CROSSOVERS} an interval needs", ratio_at(-1, "largest"))
  if all(r is None for r in rounds):
    return (CONTRADICTED, f"d={d}: attention stays below the MLP up to n = {max(ns):,} in all "
            f"{len(rounds)} rounds", ratio_at(-1, "largest"))
  if all(from_start):
    return (SUPPORTED, f"d={d}: attention costs more than the MLP from the smallest n = "
            f"{min(ns):,} in all {len(rounds)} rounds", ratio_at(0, "smallest"))
  logs = [math.log(r) for r in rounds if r is not None]
  mean = sum(logs) / len(logs)
  sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1)) if len(logs) > 1 else 0
  half = stats.t.ppf(0.975, max(len(logs) - 1, 1)) * sd / math.sqrt(len(logs))
  mid, lo, hi = (math.exp(x) for x in (mean, mean - half, mean + half))
  edge = min(ns) if lo - min(ns) <= max(ns) - hi else max(ns)
  margin = Margin(f"attention = MLP crossover n / d, d={d}", mid / d, lo / d, hi / d, edge / d,
                  len(logs), unit="measurements")
  text = (f"d={d}: attention = MLP at n ≈ {mid:,.0f} [{lo:,.0f}, {hi:,.0f}] over "
          f"{len(logs)} of {len(rounds)} rounds (FLOP model 4d = {4 * d:,})")
  never, early, of = rounds.count(None), sum(from_start), len(rounds)
  whys = ([f"{never} of {of} rounds never cross up to n = {max(ns):,}"] if never else []) + (
      [f"{early} of {of} rounds have attention above the MLP already at n = {min(ns):,}"]
      if early else [])
  if whys or not min(ns) < lo <= hi < max(ns):
    whys = "; ".join(whys) or "its interval reaches past the measured n"
    return INCONCLUSIVE, f"{text}: {whys}", margin
  return CONDITIONAL, text, margin


def attention_dominates_long_sequences(results) -> Finding:
  """The layer's cost as the data read it: O(n²·d + n·d²) with the n where attention's n²·d
  overtakes the MLP's n·d², measured once per timed round (at least MIN_CROSSOVERS)."""
  crossovers = results.get("crossovers")
  if not crossovers:
    raise ResultMissing("no encoder-layer crossover in the results")
  if any("mlp_rounds" not in c for c in crossovers):
    raise ResultMissing("no per-round crossovers (results from before they were recorded)")
  widths = [_crossover(c) for c in crossovers]
  evidence = "; ".join(text for _, text, _ in widths)
  text = (f"per width, the crossover of each timed round (at least {MIN_CROSSOVERS}), geometric "
          "mean with a 95% t interval: inside the measured n = conditional on n (the cost is "
          "O(n²·d + n·d²)); above the MLP from the smallest n in every round = supported; below "
          "it to the largest n in every round = contradicted; else inconclusive; no p")
  verdicts = [v for v, _, _ in widths]
  for verdict in (CONTRADICTED, INCONCLUSIVE, CONDITIONAL, SUPPORTED):
    if verdict in verdicts:
      margin = widths[verdicts.index(verdict)][2]
      break
  if verdict == CONDITIONAL:
    where = "; ".join(t for v, t, _ in widths if v == CONDITIONAL)
    return rd.finding(verdict, evidence, text, margin, "on n: a layer costs O(n²·d + n·d²), "
                      f"and attention's n²·d term dominates beyond the crossover ({where})")
  condition = ("; ".join(t for v, t, _ in widths if v == INCONCLUSIVE) + ": no crossover "
               "interval inside the measured n, so this run cannot tell"
               if verdict == INCONCLUSIVE else "")
  return rd.finding(verdict, evidence, text, margin, condition)


def efficient_variants_scale_better(results) -> Finding:
  naive = rd.get_fit(results, "naive", "forward", "flops_count")
  status, parts, reads, uncounted = {}, [], [], {}
  for name in EFFICIENT:
    entry = rd.slope_entry(results, name, "forward")
    if "flops_count" not in entry or "bytes_count" not in entry:
      raise ResultMissing(f"no XLA count fits for {name}: results from before they were "
                          "recorded")
    if entry["flops_count"] is None or entry["bytes_count"] is None:
      uncounted[name] = entry.get("count_note") or "XLA could not count it"
      parts.append(f"{name}: {uncounted[name]}")
      continue
    fits = {"FLOP": entry["flops_count"], "byte": entry["bytes_count"]}
    parts.append(f"{name} FLOPs {rd.fmt(fits['FLOP'])}, bytes {rd.fmt(fits['byte'])} (time, as "
                 f"description: {rd.fmt(entry.get('time_corrected'))})")
    reads += [(f"{name} forward XLA {w} count slope", f) for w, f in fits.items()]
    both = [rd.linear(f) for f in fits.values()]
    status[name] = ("not linear" if "not linear" in both else "across" if "across" in both
                    else "linear")
  if not status:
    raise ResultMissing("XLA could not count any efficient variant: " + "; ".join(parts))
  linear = [n for n in status if status[n] == "linear"]
  evidence = (f"XLA's counts (log-log slope over every n counted, 95% interval) vs naive FLOPs "
              f"{rd.fmt(naive)}: " + "; ".join(parts))
  text = (f"{LINEAR_RULE}, in FLOPs and in bytes; naive must not itself be about linear; about "
          f"linear: {', '.join(linear) or 'none'}; no p (a count is not a sample)")
  if rd.linear(naive) == "linear":
    return rd.finding(CONTRADICTED, evidence, text, rd.margin(
        "naive forward XLA FLOP count slope", naive, ABOUT_LINEAR_MAX, p=False))
  name, fit = max(reads, key=lambda r: r[1]["hi"])
  margin = rd.margin(name, fit, ABOUT_LINEAR_MAX, p=False)
  across = [n for n in status if status[n] == "across"]
  others = [n for n in status if status[n] == "not linear"]
  if across:
    return rd.finding(INCONCLUSIVE, evidence, text, margin,
                      rd.cannot_tell(across, f"the {ABOUT_LINEAR_MAX} line"))
  if not linear:
    return rd.finding(CONTRADICTED, evidence, text, margin)
  if others:
    return rd.finding(CONDITIONAL, evidence, text, margin, f"on the method: "
                      f"{', '.join(linear)} scale about linearly here, {', '.join(others)} do not")
  if uncounted:
    return rd.finding(INCONCLUSIVE, evidence, text, margin, f"XLA cannot count "
                      f"{', '.join(uncounted)}: this run cannot tell for them")
  return rd.finding(SUPPORTED, evidence, text, margin)


TIME_ANCHOR = ("FlashAttention (A100, forward+backward): PyTorch attention 3.67 / 13.22 / 50.44 "
               "ms at 1K / 2K / 4K, slopes 1.85 then 1.93; LRA vanilla 1K-4K: 1.27")
CLAIMS = [
    Claim("Q4", "Self-attention's compute grows quadratically with sequence length n.",
          EXPERIMENT, "FLOP model: scores and their use cost 4n²d per head (slope 2)",
          quadratic_compute, sources=("000", "001", "002")),
    Claim("Q4", "Self-attention's run time grows at least quadratically at long n.", EXPERIMENT,
          TIME_ANCHOR, run_time_at_long_n, figure="time_vs_n.png", sources=("ours",)),
    Claim("Q4", "Its memory grows quadratically too, which limits long inputs.", EXPERIMENT,
          "LRA vanilla memory slope 1.74; FlashAttention memory slope 1.00 vs 1.95; Rabe & "
          "Staats: 1 GB -> 17 MB at 2^14", quadratic_memory, figure="memory_vs_n.png",
          sources=("000", "001", "002")),
    Claim("Q4", "The quadratic attention term is what makes a transformer layer expensive "
          "(O(n²·d) overall).", EXPERIMENT,
          "FLOP model: attention = MLP at n = 4d, = all linear work at n = 6d",
          attention_dominates_long_sequences, figure="crossover.png", sources=("002",)),
    Claim("Q4", "Sparse, sliding-window, low-rank (Linformer), kernel (Performer) and LSH "
          "(Reformer) attention reduce the cost to about linear (n log n for LSH).", EXPERIMENT,
          "LRA at 4K: Performer 1.06 GB, Linformer 0.99 GB vs vanilla 9.48 GB",
          efficient_variants_scale_better, figure="time_vs_n.png",
          sources=("000", "001", "002")),
]
