"""Where a compiled step's time goes: its XLA kernels traced with jax.profiler, split into those
that run a dot or convolution (genjax.flop_count.matmul_instructions) and the rest.

The dots' share bounds what any change to the rest can buy: with the rest free, the step would
run total/dots times faster (`Split.ceiling`). bench_gan.py and bench_lm_step.py print it.
"""

import collections
import dataclasses
import glob
import gzip
import json
import os
import re

import jax

from genjax import flop_count


@dataclasses.dataclass(frozen=True)
class Split:
  """Seconds a step in XLA kernels: dots (and convolutions) and the rest, op by op."""

  dots: float
  rest: dict[str, float]
  op_names: dict[str, str]  # HLO instruction -> the JAX op_name it came from

  @property
  def total(self) -> float:
    return self.dots + sum(self.rest.values())

  @property
  def ceiling(self) -> float:
    """How many times faster the step would run if only its dots took time."""
    return self.total / self.dots

  def describe(self, flops_per_step: float, peak_flops: float, largest: int = 3) -> str:
    top = sorted(self.rest.items(), key=lambda item: -item[1])[:largest]
    named = ", ".join(
        f"{op} ({'/'.join(self.op_names.get(op, '?').split('/')[-2:])}) {t * 1e3:.2f} ms"
        for op, t in top)
    rest = sum(self.rest.values())
    return (f"{self.total * 1e3:.2f} ms of XLA kernels a step: dots and convolutions "
            f"{self.dots * 1e3:.2f} ms ({self.dots / self.total:.0%}; alone they run at "
            f"{flops_per_step / self.dots / peak_flops:.0%} of peak), the rest {rest * 1e3:.2f} "
            f"ms; with the rest free the step would be {self.ceiling:.2f}x as fast; largest of "
            f"the rest: {named}")


def trace(compiled, carry, other_args, calls: int, trace_dir: str,
          steps_per_call: int = 1) -> Split | None:
  """Runs `carry = compiled(carry, *other_args)[0]` once untraced, then `calls` times under
  jax.profiler, and splits the traced kernel time per step (`steps_per_call` a call); None where
  the backend traces no kernels. `compiled`: a jax.stages.Compiled (the split reads its HLO)."""
  hlo = compiled.as_text()
  module = re.match(r"HloModule (\S+?),", hlo).group(1)
  carry = compiled(carry, *other_args)[0]
  jax.block_until_ready(carry)
  with jax.profiler.trace(trace_dir):
    for _ in range(calls):
      carry = compiled(carry, *other_args)[0]
    jax.block_until_ready(carry)
  newest = max(glob.glob(os.path.join(trace_dir, "**", "*.trace.json.gz"), recursive=True),
               key=os.path.getmtime)
  with gzip.open(newest) as f:
    events = json.load(f)["traceEvents"]
  seconds = collections.Counter()
  for event in events:
    args = event.get("args", {})
    if event.get("ph") == "X" and args.get("hlo_module") == module and "hlo_op" in args:
      seconds[args["hlo_op"]] += event["dur"] / 1e6 / (calls * steps_per_call)
  if not seconds:
    return None
  matmuls = flop_count.matmul_instructions(hlo)
  return Split(dots=sum(t for op, t in seconds.items() if op in matmuls),
               rest={op: t for op, t in seconds.items() if op not in matmuls},
               op_names=dict(re.findall(r'%([\w.\-]+) = .*?op_name="([^"]*)"', hlo)))
