"""A GAN method's switches (`Method`), parsed from its name, and the matched control a remedy is
compared with. Plain Python: the claim rules read it without importing a training library."""

import dataclasses
import re

from genjax.errors import UserError


@dataclasses.dataclass(frozen=True)
class Method:
  """Switches on the shared train step."""

  name: str
  pack: int = 1  # samples per discriminator input (PacGAN m)
  unroll: int = 0  # D steps unrolled inside the G loss
  first_order: bool = False  # stop_gradient through the unrolled D
  mbstd: bool = False  # minibatch-stddev feature in D
  wgan_gp: bool = False  # Wasserstein loss + gradient penalty + critic steps
  r1: bool = False  # R1 penalty on real data
  batch_scale: int = 1  # samples per step x this: `gan_batch2x` is pacgan2's matched control

  @property
  def is_remedy(self) -> bool:
    """Any switch against mode collapse on (a larger batch alone is a control, not a remedy)."""
    return self.pack > 1 or self.unroll > 0 or self.mbstd or self.wgan_gp or self.r1


_PARTS = (
    (r"gan", lambda m: {}),
    (r"pacgan(\d+)", lambda m: {"pack": int(m[1])}),
    (r"unrolled(\d+)(fo)?", lambda m: {"unroll": int(m[1]), "first_order": bool(m[2])}),
    (r"mbstd", lambda m: {"mbstd": True}),
    (r"wgan_gp", lambda m: {"wgan_gp": True}),
    (r"r1", lambda m: {"r1": True}),
    (r"(?:gan_)?batch(\d+)x", lambda m: {"batch_scale": int(m[1])}),
)


def parse_method(name: str) -> Method:
  """'pacgan2+r1' -> Method(pack=2, r1=True); see configs/gan.py for the names."""
  fields = {}
  for part in name.split("+"):
    for pattern, to_fields in _PARTS:
      match = re.fullmatch(pattern, part.strip())
      if match:
        fields.update(to_fields(match))
        break
    else:
      raise UserError(f"unknown GAN method {part!r} in config.methods; use gan, pacgan<m>, "
                      "unrolled<K>, unrolled<K>fo, mbstd, wgan_gp, r1, gan_batch<m>x, joined "
                      "by '+'")
  if fields.get("pack", 1) < 1 or fields.get("batch_scale", 1) < 1:
    raise UserError(f"method {name!r}: pack sizes and batch multiples must be >= 1")
  return Method(name=name.strip(), **fields)


def matched_control(methods: dict, name: str) -> str | None:
  """The run method with no remedy switch that sees as many samples per step as `name`.

  `methods` is results.json's "methods" (each with "method" and "samples_per_step"). Under
  batch_unit=packs, pacgan<m> sees m x the samples of gan; `gan_batch<m>x` is its control, so
  that "packing restores coverage" is not "a larger batch restores coverage".
  """
  target = methods[name]
  if not Method(**target["method"]).is_remedy:
    return None
  for other, result in methods.items():
    if (not Method(**result["method"]).is_remedy
        and result["samples_per_step"] == target["samples_per_step"]):
      return other
  return None
