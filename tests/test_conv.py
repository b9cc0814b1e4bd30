"""The sub-pixel transposed convolution computes lax.conv_transpose: values and gradients."""

import itertools
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from genjax.models import conv

NHWC = ("NHWC", "HWIO", "NHWC")
# Sizes, kernels, strides and paddings around the ones the generators use (4x4 and 3x3 at stride
# 2, SAME and explicit pairs), with odd and even sides, a stride above the kernel (a phase no tap
# reaches), a kernel larger than the input and negative padding (lax crops).
CASES = [*itertools.product([(7, 7), (4, 5)], [(4, 4), (3, 3)], [(2, 2)],
                            ["SAME", "VALID", ((1, 1), (1, 1))]),
         *itertools.product([(1, 3), (7, 7)], [(5, 2), (1, 1)], [(1, 1), (3, 2)],
                            ["SAME", ((0, 2), (3, -1))])]


def _inputs(size, kernel, c_in=3, c_out=5):
  x = jax.random.normal(jax.random.key(0), (2, *size, c_in))
  w = jax.random.normal(jax.random.key(1), (*kernel, c_in, c_out))
  return x, w


@pytest.mark.parametrize("size,kernel,strides,padding", CASES)
def test_subpixel_equals_lax_conv_transpose_with_its_gradients(size, kernel, strides, padding):
  x, w = _inputs(size, kernel)
  ours = conv.conv_transpose_subpixel(x, w, strides, padding)
  theirs = lax.conv_transpose(x, w, strides, padding, dimension_numbers=NHWC)
  assert ours.shape == theirs.shape
  np.testing.assert_allclose(ours, theirs, atol=2e-5, rtol=1e-5)
  if theirs.size:
    loss = lambda f: lambda x, w: jnp.sum(jnp.sin(f(x, w)))  # noqa: E731
    grads = jax.grad(loss(lambda x, w: conv.conv_transpose_subpixel(x, w, strides, padding)),
                     (0, 1))(x, w)
    want = jax.grad(loss(lambda x, w: lax.conv_transpose(x, w, strides, padding,
                                                         dimension_numbers=NHWC)), (0, 1))(x, w)
    for g, h in zip(grads, want, strict=True):
      np.testing.assert_allclose(g, h, atol=2e-4, rtol=1e-4)


def _conv_windows(f, x, w) -> list[str]:
  """The window attributes of every convolution in f's forward and backward pass."""
  loss = lambda x, w: jnp.sum(f(x, w) ** 2)  # noqa: E731
  return re.findall(r"stablehlo\.convolution.*?window = \{([^}]*)\}",
                    jax.jit(jax.grad(loss, (0, 1))).lower(x, w).as_text())


def test_forward_and_backward_convolve_undilated_inputs_at_stride_1():
  """What makes it fast on a CPU: no convolution of a stride-dilated input, in either pass."""
  x, w = _inputs((7, 7), (4, 4), 32, 16)
  windows = _conv_windows(lambda x, w: conv.conv_transpose_subpixel(x, w, (2, 2)), x, w)
  assert len(windows) == 3, windows  # forward, and the gradients of x and of the kernel
  for window in windows:
    assert "stride = [1, 1]" in window and "lhs_dilate = [1, 1]" in window, window
    assert "rhs_dilate = [1, 1]" in window, window
  theirs = _conv_windows(lambda x, w: lax.conv_transpose(x, w, (2, 2), "SAME",
                                                         dimension_numbers=NHWC), x, w)
  assert sum("lhs_dilate = [2, 2]" in window for window in theirs) == 2, theirs


def test_the_module_has_flax_conv_transpose_parameters_and_output():
  x = jax.random.normal(jax.random.key(2), (3, 7, 7, 8))

  class Net(nn.Module):
    lowering: str

    @nn.compact
    def __call__(self, x):
      return conv.conv_transpose(self.lowering, 4, (4, 4), (2, 2))(x)

  params = {low: Net(low).init(jax.random.key(0), x) for low in conv.LOWERINGS}
  assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), params["subpixel"],
                                   params["xla"]))  # same names, shapes and initial values
  bias = {"params": {"ConvTranspose_0": {**params["xla"]["params"]["ConvTranspose_0"],
                                         "bias": jnp.arange(4.0)}}}
  np.testing.assert_allclose(Net("subpixel").apply(bias, x), Net("xla").apply(bias, x),
                             atol=1e-5, rtol=1e-5)


def test_an_unknown_lowering_or_padding_is_refused():
  with pytest.raises(ValueError, match="lowering"):
    conv.conv_transpose("cudnn", 4, (4, 4), (2, 2))
  with pytest.raises(ValueError, match="padding"):
    conv.transpose_padding(4, 2, "FULL")
