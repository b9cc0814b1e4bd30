"""Matmul and convolution FLOPs of a program: as written (its jaxpr) and as compiled (XLA's
optimized HLO).

The two differ. XLA merges equal subcomputations: a GAN step whose D loss and simultaneous G loss
both run G on the same z runs G forward once, so the jaxpr counts 1.43x the FLOPs the ring step
does. A transposed convolution written as a convolution of a zero-dilated input multiplies
zeros in 3 of 4 taps at stride 2; both counts here leave those out. A benchmark's share of
the peak is only as honest as its FLOP count, so the benchmarks print the compiled count.

  jaxpr_matmul_flops(jaxpr) -> int
  hlo_matmul_flops(hlo_text) -> int      hlo_text: `jax.jit(f).lower(*args).compile().as_text()`
  compiled_matmul_flops(fn, *args) -> int
  matmul_instructions(hlo_text) -> set   the kernels that run a dot or a convolution (themselves,
                                         or fusions holding one): what a profile's per-op times
                                         are split by

FLOPs are 2 x multiply-adds of every dot and convolution; elementwise work is free (XLA's own
`cost_analysis()["flops"]` counts it too, one per element op).
"""

import math
import re

import jax
from jax.extend import core


def _conv_flops(out_shape, window_size, rhs_in_features, lhs_dilation) -> int:
  """2 x output elements x taps x input features, less the taps on inserted zeros."""
  return (2 * math.prod(out_shape) * math.prod(window_size) * rhs_in_features
          // math.prod(lhs_dilation))


def jaxpr_matmul_flops(jaxpr) -> int:
  """Into sub-jaxprs, a scan's body times its length."""
  total = 0
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "dot_general":
      (lhs_contract, _), _ = eqn.params["dimension_numbers"]
      lhs_shape = eqn.invars[0].aval.shape
      contracted = math.prod(lhs_shape[d] for d in lhs_contract)
      total += 2 * math.prod(eqn.outvars[0].aval.shape) * contracted
    elif eqn.primitive.name == "conv_general_dilated":
      rhs_spec = eqn.params["dimension_numbers"].rhs_spec  # (out features, in features, window)
      rhs_shape = eqn.invars[1].aval.shape
      total += _conv_flops(eqn.outvars[0].aval.shape, [rhs_shape[d] for d in rhs_spec[2:]],
                           rhs_shape[rhs_spec[1]], eqn.params["lhs_dilation"])
    repeats = eqn.params.get("length", 1) if eqn.primitive.name == "scan" else 1
    for value in eqn.params.values():
      for item in value if isinstance(value, tuple | list) else (value,):
        if isinstance(item, core.ClosedJaxpr):
          total += repeats * jaxpr_matmul_flops(item.jaxpr)
        elif isinstance(item, core.Jaxpr):
          total += repeats * jaxpr_matmul_flops(item)
  return total


# One HLO instruction: "%name = f32[2,3]{1,0} opcode(operands), attributes" (or a tuple shape,
# "(s32[], f32[2,3]{1,0})", for while loops and calls).
_INSTRUCTION = re.compile(r"^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*(\((?:[^()]|\([^()]*\))*\)|\S+)\s+"
                          r"([\w\-]+)\((.*?)\)(.*)$")
_ARRAY_SHAPE = re.compile(r"^\w+\[([\d,]*)\]")
_HEADER = re.compile(r"^(ENTRY\s+)?%?([\w.\-]+)\s*\(.*\{\s*$")
_OPERAND = re.compile(r"(?:\w+\[[\d,]*\]\S*\s+)?%?([\w.\-]+)")
_CALLEE = re.compile(r"\b(?:calls|body|to_apply)=%?([\w.\-]+)")
_TRIP_COUNT = re.compile(r'"known_trip_count":\{"n":"(\d+)"')


def _dims(text: str) -> tuple[int, ...]:
  return tuple(int(d) for d in text.split(",") if d)


def _attribute(rest: str, name: str) -> str:
  match = re.search(rf"\b{name}=\{{([^}}]*)\}}", rest) or re.search(rf"\b{name}=(\S+?)[,\s]",
                                                                   rest + " ")
  return match.group(1) if match else ""


def _window_field(window: str, field: str, rank: int) -> tuple[int, ...]:
  match = re.search(rf"\b{field}=([\dx]+)", window)
  return tuple(int(d) for d in match.group(1).split("x")) if match else (1,) * rank


def _parse(hlo_text: str):
  """({computation: [instruction matches]}, {instruction: array dims}, entry computation)."""
  computations: dict[str, list[re.Match]] = {}
  shapes: dict[str, tuple[int, ...]] = {}
  entry, current = None, None
  for line in hlo_text.splitlines():
    header = _HEADER.match(line)
    if header and "=" not in line.split("(")[0]:
      current = header.group(2)
      computations[current] = []
      entry = current if header.group(1) else entry
      continue
    instruction = _INSTRUCTION.match(line)
    if instruction and current is not None:
      computations[current].append(instruction)
      array = _ARRAY_SHAPE.match(instruction.group(2))
      if array:
        shapes[instruction.group(1)] = _dims(array.group(1))
  if entry is None:
    raise ValueError("no ENTRY computation in this HLO text")
  return computations, shapes, entry


def hlo_matmul_flops(hlo_text: str) -> int:
  """Dots and convolutions of an optimized HLO module, each executed computation counted once
  per execution (a while body times its known trip count; an unknown count raises)."""
  computations, shapes, entry = _parse(hlo_text)

  def operand_shapes(match):
    return [shapes[name] for name in _OPERAND.findall(match.group(4)) if name in shapes]

  def count(name: str) -> int:
    total = 0
    for match in computations[name]:
      opcode, rest = match.group(3), match.group(5)
      out_shape = shapes.get(match.group(1), ())
      if opcode == "dot":
        lhs = operand_shapes(match)[0]
        contracted = _dims(_attribute(rest, "lhs_contracting_dims"))
        total += 2 * math.prod(out_shape) * math.prod(lhs[d] for d in contracted)
      elif opcode == "convolution":
        rhs = operand_shapes(match)[1]
        rhs_labels = _attribute(rest, "dim_labels").split("_")[1].split("->")[0]
        window = _attribute(rest, "window")
        rank = len(rhs_labels) - 2
        total += _conv_flops(out_shape, _window_field(window, "size", rank),
                             rhs[rhs_labels.index("i")], _window_field(window, "lhs_dilate", rank))
      for callee in _CALLEE.findall(rest):
        repeats = 1
        if opcode == "while":
          trip = _TRIP_COUNT.search(rest)
          if trip is None:
            raise ValueError(f"while loop {match.group(1)} has no known trip count")
          repeats = int(trip.group(1))
        total += repeats * count(callee)
    return total

  return count(entry)


def matmul_instructions(hlo_text: str) -> set[str]:
  """Names of the kernels that run a dot or a convolution: those instructions themselves, and
  fusions (or custom calls) whose computation holds one, in any computation (a loop's body
  included); not the loops and calls around them, whose time their kernels already count."""
  computations, _, _ = _parse(hlo_text)

  def holds_matmul(name: str) -> bool:
    return any(match.group(3) in ("dot", "convolution")
               or any(holds_matmul(callee) for callee in _CALLEE.findall(match.group(5)))
               for match in computations[name])

  fused = {callee for body in computations.values() for match in body
           if match.group(3) in ("fusion", "custom-call")
           for callee in _CALLEE.findall(match.group(5))}  # bodies of kernels, not kernels
  return {match.group(1) for name, body in computations.items() if name not in fused
          for match in body
          if match.group(3) in ("dot", "convolution")
          or (match.group(3) in ("fusion", "custom-call")
              and any(holds_matmul(callee) for callee in _CALLEE.findall(match.group(5))))}


def compiled_matmul_flops(fn, *args) -> int:
  """hlo_matmul_flops of fn compiled for args (jitted here if it is not already)."""
  return hlo_matmul_flops(jax.jit(fn).lower(*args).compile().as_text())
