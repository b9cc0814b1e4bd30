"""Transposed convolutions as sub-pixel convolutions: one stride-1 convolution and a depth-to-space.

lax.conv_transpose convolves the stride-dilated input, and on a CPU XLA runs that far below its rate
for an ordinary convolution, in the forward pass and in the stride-dilated gradients of the backward
(the DCGAN step's profile: BUILD_NOTES, Benchmarks). But output pixels whose index has the same
remainder mod the stride (one *phase*) see a fixed subset of the kernel's taps applied to the
undilated input. So one stride-1 convolution whose kernel holds every phase's taps side by side
(zeros where a phase does not reach) computes all phases as output channels, and a depth-to-space
interleaves them (the sub-pixel convolution of Shi et al. 2016). Forward and backward are then
stride-1, undilated convolutions. It computes what lax computes (the same sums in another order:
equal to float rounding, tested with the gradients), on NHWC inputs and HWIO kernels, flax's
layouts. `bench/bench_gan.py` times the two lowerings side by side.
"""

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

LOWERINGS = ("subpixel", "xla")  # config.conv_transpose_lowering: this module | lax's


def transpose_padding(k: int, s: int, padding) -> tuple[int, int]:
  """lax.conv_transpose's padding of the dilated input along one axis, for "SAME", "VALID" or
  a (low, high) pair (taken as it is, as lax does). jax's own rule, restated: the tests compare
  against lax.conv_transpose at many sizes, kernels and strides."""
  if not isinstance(padding, str):
    return tuple(padding)
  if padding == "SAME":
    total = k + s - 2
    low = k - 1 if s > k - 1 else -(-total // 2)
  elif padding == "VALID":
    total, low = k + s - 2 + max(k - s, 0), k - 1
  else:
    raise ValueError(f"padding must be 'SAME', 'VALID' or (low, high) pairs; got {padding!r}")
  return low, total - low


def _axis_plan(n_in: int, k: int, s: int, low: int, high: int):
  """Along one axis: (output size, outputs per phase, [(phase r, tap t, window offset d)],
  window start, window size). Output o = s*m + r reads the dilated input at o + t - low, a real
  input pixel only when r + t - low = 0 (mod s): x[m + (r + t - low) // s]."""
  n_out = (n_in - 1) * s + 1 + low + high - k + 1
  per_phase = -(-n_out // s)
  taps = [(r, t, (r + t - low) // s) for r in range(s) for t in range(k)
          if (r + t - low) % s == 0]
  offsets = [d for _, _, d in taps] or [0]
  return n_out, per_phase, taps, min(offsets), max(offsets) - min(offsets) + 1


def conv_transpose_subpixel(x_BxHxWxC, kernel_HxWxIxO, strides, padding="SAME"):
  """lax.conv_transpose(x, kernel, strides, padding, dimension_numbers=NHWC/HWIO) with the
  kernel not flipped (flax's nn.ConvTranspose), as one stride-1 convolution over all phases."""
  (kh, kw, c_in, c_out), (sh, sw) = kernel_HxWxIxO.shape, strides
  axis_pads = (padding, padding) if isinstance(padding, str) else padding
  (out_h, per_h, taps_h, start_h, win_h), (out_w, per_w, taps_w, start_w, win_w) = (
      _axis_plan(n, k, s, *transpose_padding(k, s, p))
      for n, k, s, p in zip(x_BxHxWxC.shape[1:3], (kh, kw), (sh, sw), axis_pads, strict=True))
  if out_h <= 0 or out_w <= 0:
    return jnp.zeros((x_BxHxWxC.shape[0], max(out_h, 0), max(out_w, 0), c_out), x_BxHxWxC.dtype)
  # The combined kernel: window tap (i, j) feeds phase (r, q) through kernel tap (t, u).
  combined = jnp.zeros((win_h, win_w, c_in, sh, sw, c_out), kernel_HxWxIxO.dtype)
  for r, t, d in taps_h:
    for q, u, e in taps_w:
      combined = combined.at[d - start_h, e - start_w, :, r, q, :].set(kernel_HxWxIxO[t, u])
  # Pad so that every phase gets per_phase outputs (the last ones of a short phase are cropped).
  n_h, n_w = x_BxHxWxC.shape[1:3]
  pads = [(-start_h, per_h - 1 + start_h + win_h - 1 - (n_h - 1)),
          (-start_w, per_w - 1 + start_w + win_w - 1 - (n_w - 1))]
  y = lax.conv_general_dilated(x_BxHxWxC, combined.reshape(win_h, win_w, c_in, sh * sw * c_out),
                               (1, 1), pads, dimension_numbers=("NHWC", "HWIO", "NHWC"))
  b = y.shape[0]
  y_BxHxSxWxSxO = y.reshape(b, per_h, per_w, sh, sw, c_out).transpose(0, 1, 3, 2, 4, 5)
  return y_BxHxSxWxSxO.reshape(b, per_h * sh, per_w * sw, c_out)[:, :out_h, :out_w, :]


class ConvTranspose(nn.Module):
  """flax's nn.ConvTranspose (its parameter names, shapes and initialisers; the class name gives
  the same auto-names, ConvTranspose_0, ...) computed by conv_transpose_subpixel."""

  features: int
  kernel_size: tuple[int, int]
  strides: tuple[int, int] = (1, 1)
  padding: str | tuple = "SAME"

  @nn.compact
  def __call__(self, x_BxHxWxC):
    kernel = self.param("kernel", nn.linear.default_kernel_init,
                        (*self.kernel_size, x_BxHxWxC.shape[-1], self.features), jnp.float32)
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
    return conv_transpose_subpixel(x_BxHxWxC, kernel, self.strides, self.padding) + bias


def conv_transpose(lowering: str, features: int, kernel_size: tuple[int, int],
                   strides: tuple[int, int], padding="SAME") -> nn.Module:
  """A transposed convolution lowered by `lowering` (LOWERINGS): the same parameters either way."""
  if lowering == "subpixel":
    return ConvTranspose(features, tuple(kernel_size), tuple(strides), padding)
  if lowering == "xla":
    return nn.ConvTranspose(features, kernel_size, strides=strides, padding=padding)
  raise ValueError(f"lowering must be one of {LOWERINGS}; got {lowering!r}")
