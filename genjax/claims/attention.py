"""Q4: the cost of self-attention. Rules read results.json of genjax.attention.sweep."""

from genjax.claims.verdicts import DEPENDS, NOT_SUPPORTED, SUPPORTED, Claim, Finding

EXPERIMENT = "attention scaling sweep (experiments/attention.py)"
EFFICIENT = ("sliding_window", "block_sparse", "linformer", "performer", "lsh")


def _slope(results, variant, mode, what):
  for entry in results["slopes"]:
    if entry["variant"] == variant and entry["mode"] == mode and entry[what] is not None:
      return entry[what]
  raise KeyError(f"no {what} slope for {variant} {mode}")


def _fmt(fit) -> str:
  return f"{fit['slope']:.2f} [{fit['lo']:.2f}, {fit['hi']:.2f}] (n {fit['n_lo']}-{fit['n_hi']})"


def _near(fit, target, tolerance=0.25) -> bool:
  """The slope's 95% interval contains target, or the slope is within tolerance of it."""
  return fit["lo"] <= target <= fit["hi"] or abs(fit["slope"] - target) <= tolerance


def quadratic_time(results) -> Finding:
  fwd = _slope(results, "naive", "forward", "time_corrected")
  both = _slope(results, "naive", "forward_backward", "time_corrected")
  evidence = (f"naive attention log-log time slope: forward {_fmt(fwd)}, forward+backward "
              f"{_fmt(both)} (load-corrected)")
  if _near(fwd, 2) and _near(both, 2):
    return Finding(SUPPORTED, evidence)
  if all(_near(fit, 2) or fit["lo"] > 2 for fit in (fwd, both)):
    return Finding(DEPENDS, evidence, "on the memory hierarchy: the work is n², but measured time "
                   "grows faster than n² where the n x n matrices fall out of the cache")
  if _near(fwd, 2) or _near(both, 2):
    return Finding(DEPENDS, evidence, "on the range of n: the slope reaches 2 only where the "
                   "n² work dominates fixed and cache costs")
  return Finding(NOT_SUPPORTED, evidence)


def quadratic_memory(results) -> Finding:
  naive = _slope(results, "naive", "forward", "memory")
  chunked = _slope(results, "chunked", "forward", "memory")
  evidence = (f"temp memory slope: naive {_fmt(naive)}, exact chunked attention "
              f"{_fmt(chunked)}; largest n with chunked: "
              f"{results['largest'].get('chunked/forward/long', 'not run')}")
  if not _near(naive, 2):
    return Finding(NOT_SUPPORTED, evidence)
  if chunked["slope"] <= 1.25:
    return Finding(DEPENDS, evidence, "on the implementation: standard attention memory is "
                   "O(n²), but exact attention computed in chunks needs O(n)")
  return Finding(SUPPORTED, evidence)


def attention_dominates_long_sequences(results) -> Finding:
  """Attention dominates a layer only beyond a crossover n; where it lies is the condition."""
  parts, found = [], []
  for c in results["crossovers"]:
    measured = c["measured_mlp"]
    if measured:
      found.append(measured)
      parts.append(f"d={c['d']}: attention = MLP at n ≈ {measured:.0f} (FLOP model "
                   f"{4 * c['d']}, ratio {measured / (4 * c['d']):.2f})")
    else:
      parts.append(f"d={c['d']}: attention stays below the MLP over the measured n")
  evidence = "; ".join(parts) or "no crossover measured"
  if parts and len(found) == len(parts):
    return Finding(DEPENDS, evidence, "on n vs d: below the crossover the O(n·d²) MLP and "
                   "projections cost more than attention; the quadratic term dominates beyond")
  return Finding(NOT_SUPPORTED, evidence)


def efficient_variants_scale_better(results) -> Finding:
  naive = _slope(results, "naive", "forward", "time_corrected")
  parts, better = [], True
  for name in EFFICIENT:
    time = _slope(results, name, "forward", "time_corrected")
    memory = _slope(results, name, "forward", "memory")
    parts.append(f"{name} time {time['slope']:.2f}, memory {memory['slope']:.2f}")
    better = better and time["slope"] < naive["slope"] and memory["slope"] <= 1.25
  evidence = f"forward slopes vs naive time {naive['slope']:.2f}, memory 2: " + "; ".join(parts)
  return Finding(SUPPORTED if better else NOT_SUPPORTED, evidence)


CLAIMS = [
    Claim("Q4", "Self-attention's compute grows quadratically with sequence length n.",
          EXPERIMENT, "FlashAttention App. E: PyTorch attention time slope 1.93; LRA vanilla "
          "1K-4K: 1.27 (not asymptotic)", quadratic_time),
    Claim("Q4", "Its memory grows quadratically too, which limits long inputs.", EXPERIMENT,
          "LRA vanilla memory slope 1.74; FlashAttention memory slope 1.00 vs 1.95; Rabe & "
          "Staats: 1 GB -> 17 MB at 2^14", quadratic_memory),
    Claim("Q4", "The quadratic attention term is what makes a transformer layer expensive "
          "(O(n²·d) overall).", EXPERIMENT,
          "FLOP model: attention = MLP at n = 4d, = all linear work at n = 6d",
          attention_dominates_long_sequences),
    Claim("Q4", "Sparse, sliding-window, low-rank (Linformer), kernel (Performer) and LSH "
          "(Reformer) attention reduce the cost to about linear (n log n for LSH).", EXPERIMENT,
          "LRA at 4K: Performer 1.06 GB, Linformer 0.99 GB vs vanilla 9.48 GB",
          efficient_variants_scale_better),
]
