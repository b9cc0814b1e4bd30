"""Shapes of packed discriminators, maxout, batch norm and the minibatch-stddev feature."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from genjax.configs import gan as gan_config
from genjax.errors import UserError
from genjax.gan import losses, models


def test_pack_concatenates_consecutive_samples():
  x = jnp.arange(12.0).reshape(6, 2)
  packed = losses.pack(x, 3)
  assert packed.shape == (2, 6)
  np.testing.assert_array_equal(packed[1], [6, 7, 8, 9, 10, 11])


@pytest.mark.parametrize("arch", ["small", "pacgan"])
def test_packing_changes_only_the_first_discriminator_layer(arch):
  config = gan_config.get_config()
  config.arch = arch
  shapes = {}
  for m in (1, 2, 4):
    _, d = models.make_networks(config, data_dim=2, output="linear", mbstd=False)
    params = d.init(jax.random.key(0), jnp.zeros((3, 2 * m)))
    shapes[m] = {jax.tree_util.keystr(p): v.shape
                 for p, v in jax.tree_util.tree_flatten_with_path(params)[0]}
    out = d.apply(params, jnp.zeros((5, 2 * m)))
    assert out.shape == (5,)
  first = [k for k in shapes[1] if shapes[1][k] != shapes[2][k]]
  assert len(first) == 1 and "kernel" in first[0] and "_0" in first[0]
  assert shapes[4][first[0]][0] == 8 and shapes[1][first[0]][0] == 2


def test_pacgan_architecture_sizes():
  config = gan_config.get_config()
  config.arch = "pacgan"
  g, d = models.make_networks(config, data_dim=2, output="linear", mbstd=False)
  g_params = g.init(jax.random.key(0), jnp.zeros((4, 2)))
  d_params = d.init(jax.random.key(1), jnp.zeros((4, 2)))
  g_kernels = [v.shape for p, v in jax.tree_util.tree_flatten_with_path(g_params)[0]
               if "kernel" in jax.tree_util.keystr(p)]
  assert g_kernels == [(2, 400), (400, 400), (400, 400), (400, 400), (400, 2)]
  assert len(jax.tree.leaves(g_params)) == 5 * 2 + 4 * 2  # dense w, b + batch-norm scale, bias
  d_kernels = [v.shape for p, v in jax.tree_util.tree_flatten_with_path(d_params)[0]
               if "kernel" in jax.tree_util.keystr(p)]
  assert sorted(d_kernels) == [(2, 1000), (200, 1), (200, 1000), (200, 1000)]  # 200 x 5 pieces


def test_maxout_is_the_max_over_pieces():
  layer = models.Maxout(3, 4)
  params = layer.init(jax.random.key(0), jnp.ones((2, 5)))
  x = jax.random.normal(jax.random.key(1), (2, 5))
  dense = params["params"]["Dense_0"]
  pre = (x @ dense["kernel"] + dense["bias"]).reshape(2, 4, 3)  # [batch, pieces, features]
  np.testing.assert_allclose(layer.apply(params, x), pre.max(1), rtol=1e-6)


def test_batch_norm_uses_batch_statistics():
  bn = models.BatchNorm()
  x = 3 + 2 * jax.random.normal(jax.random.key(0), (512, 4))
  y = bn.apply(bn.init(jax.random.key(1), x), x)
  np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
  np.testing.assert_allclose(y.std(0), 1, atol=1e-3)


def test_minibatch_stddev_appends_one_batch_feature():
  h = jnp.array([[0.0, 1.0], [2.0, 3.0]])
  out = models.minibatch_stddev(h)
  assert out.shape == (2, 3)
  np.testing.assert_allclose(out[:, 2], 1.0, rtol=1e-6)  # std of (0, 2) and (1, 3) is 1
  # A collapsed batch (identical rows) has feature ~0: what lets D spot missing diversity.
  np.testing.assert_allclose(models.minibatch_stddev(jnp.ones((4, 2)))[:, 2], 1e-4, rtol=1e-3)


def _kernels(params):
  return [v for p, v in jax.tree_util.tree_flatten_with_path(params)[0]
          if "kernel" in jax.tree_util.keystr(p)]


def test_default_small_nets_are_unchanged_relu_lecun():
  """The new options default to what the small arch always was: ReLU and flax's lecun_normal."""
  config = gan_config.get_config()
  g, d = models.make_networks(config, data_dim=2, output="linear", mbstd=False)
  assert (g.activation, g.init_name, d.activation, d.init_name) == (
      "relu", "lecun_normal", "relu", "lecun_normal")

  class Plain(nn.Module):  # the generator as written before the options existed
    @nn.compact
    def __call__(self, z):
      h = nn.relu(nn.Dense(128)(z))
      h = nn.relu(nn.Dense(128)(h))
      return nn.Dense(2)(h)

  z = jnp.ones((3, 2))
  params = g.init(jax.random.key(0), z)
  np.testing.assert_array_equal(g.apply(params, z), Plain().apply(params, z))
  np.testing.assert_array_equal(_kernels(params)[0],
                                _kernels(Plain().init(jax.random.key(0), z))[0])


def test_unrolled_gan_demo_nets_tanh_and_orthogonal_init():
  config = gan_config.get_config()
  config.small_activation, config.small_init, config.small_init_gain = "tanh", "orthogonal", 1.4
  g, d = models.make_networks(config, data_dim=2, output="linear", mbstd=False)
  g_params = g.init(jax.random.key(0), jnp.zeros((2, 256)))
  d_params = d.init(jax.random.key(1), jnp.zeros((2, 2)))
  square = _kernels(g_params)[1]  # 128 x 128: W^T W = gain^2 I
  np.testing.assert_allclose(square.T @ square, 1.4 ** 2 * np.eye(128), atol=1e-4)
  wide = _kernels(g_params)[0]  # 256 x 128: orthonormal columns times the gain
  np.testing.assert_allclose(wide.T @ wide, 1.4 ** 2 * np.eye(128), atol=1e-4)
  x = 10 * jax.random.normal(jax.random.key(2), (4, 2))
  h = jnp.tanh(x @ _kernels(d_params)[0] + d_params["params"]["Dense_0"]["bias"])
  assert np.abs(h).max() <= 1  # tanh hidden units
  assert d.apply(d_params, x).shape == (4,)


@pytest.mark.parametrize("field,value", [("small_activation", "gelu"), ("small_init", "he"),
                                         ("small_init_gain", 0.0)])
def test_bad_small_net_options_are_user_errors(field, value):
  config = gan_config.get_config()
  config[field] = value
  with pytest.raises(UserError, match=field):
    models.make_networks(config, data_dim=2, output="linear", mbstd=False)


def test_discriminator_width_and_input_scale_of_the_unrolled_gan_appendix():
  """small_d_hidden sets D's own layers; d_input_scale multiplies D's input first."""
  config = gan_config.get_config()
  config.small_hidden, config.small_d_hidden, config.d_input_scale = (128, 128), (128,), 0.25
  g, d = models.make_networks(config, data_dim=2, output="linear", mbstd=False)
  d_params = d.init(jax.random.key(1), jnp.zeros((2, 2)))
  assert [k.shape for k in _kernels(d_params)] == [(2, 128), (128, 1)]
  assert len(_kernels(g.init(jax.random.key(0), jnp.zeros((2, 2))))) == 3  # G keeps 2 layers
  x = jax.random.normal(jax.random.key(2), (4, 2))
  unscaled = models.Discriminator((128,))
  np.testing.assert_allclose(d.apply(d_params, x), unscaled.apply(d_params, x / 4), rtol=1e-6)
  config.small_d_hidden = ()  # default: D as wide as G
  assert len(_kernels(models.make_networks(config, 2, "linear", False)[1].init(
      jax.random.key(1), jnp.zeros((2, 2))))) == 3


def _dcgan_config():
  config = gan_config.get_config()
  config.arch, config.dcgan_width, config.latent_dim = "dcgan", 8, 16
  return config


def test_dcgan_draws_flat_channel_major_images_in_the_unit_interval():
  g, _ = models.make_networks(_dcgan_config(), 3 * 28 * 28, "sigmoid", False, (28, 28))
  params = g.init(jax.random.key(0), jnp.zeros((2, 16)))
  x = g.apply(params, jax.random.normal(jax.random.key(1), (5, 16)))
  assert x.shape == (5, 3 * 28 * 28)
  assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
  # Channel-major, as StackedDigits lays samples out: channel c is x[:, c*784:(c+1)*784].
  conv_out = params["params"]["ConvTranspose_1"]["kernel"]
  assert conv_out.shape[-1] == 3


def test_dcgan_packing_changes_only_the_first_convolution():
  shapes = {}
  for m in (1, 2, 4):
    _, d = models.make_networks(_dcgan_config(), 3 * 28 * 28, "sigmoid", False, (28, 28))
    params = d.init(jax.random.key(0), jnp.zeros((3, m * 3 * 28 * 28)))
    assert d.apply(params, jnp.zeros((5, m * 3 * 28 * 28))).shape == (5,)
    shapes[m] = {jax.tree_util.keystr(p): v.shape
                 for p, v in jax.tree_util.tree_flatten_with_path(params)[0]}
  changed = [k for k in shapes[1] if shapes[1][k] != shapes[4][k]]
  assert changed == ["['params']['Conv_0']['kernel']"]
  assert shapes[1][changed[0]][2] == 3 and shapes[4][changed[0]][2] == 12  # m x 3 channels in


def test_dcgan_d_width_shrinks_only_the_discriminator():
  def channels(d_width):
    config = _dcgan_config()
    config.dcgan_d_width = d_width
    g, d = models.make_networks(config, 3 * 28 * 28, "sigmoid", False, (28, 28))
    g_params = g.init(jax.random.key(0), jnp.zeros((2, config.latent_dim)))
    d_params = d.init(jax.random.key(0), jnp.zeros((2, 3 * 28 * 28)))["params"]
    return (jax.tree.map(jnp.shape, g_params), d_params["Conv_0"]["kernel"].shape[-1],
            d_params["Conv_1"]["kernel"].shape[-1])

  g_full, *d_full = channels(0)
  g_quarter, *d_quarter = channels(_dcgan_config().dcgan_width // 4)
  assert d_full == [_dcgan_config().dcgan_width, 2 * _dcgan_config().dcgan_width]
  assert d_quarter == [d // 4 for d in d_full] and g_quarter == g_full


def test_dcgan_needs_an_image_dataset_with_sides_divisible_by_4():
  with pytest.raises(UserError, match="needs an image dataset"):
    models.make_networks(_dcgan_config(), 2, "linear", False)
  with pytest.raises(UserError, match="divisible by 4"):
    models.make_networks(_dcgan_config(), 3 * 8 * 6, "sigmoid", False, (8, 6))


def test_batch_norm_of_feature_maps_normalizes_each_channel_over_batch_and_positions():
  x = jax.random.normal(jax.random.key(0), (4, 3, 3, 2)) * jnp.array([1.0, 5.0]) + 7.0
  y = models.BatchNorm().apply({"params": {"scale": jnp.ones(2), "bias": jnp.zeros(2)}}, x)
  np.testing.assert_allclose(y.mean((0, 1, 2)), 0.0, atol=1e-5)
  np.testing.assert_allclose(y.std((0, 1, 2)), 1.0, atol=1e-3)


def _metz_config(d_width):
  config = gan_config.get_config()
  config.arch, config.dcgan_d_width, config.latent_dim = "metz_dcgan", d_width, 256
  return config


def test_metz_nets_have_the_published_layer_shapes_and_d_at_a_quarter_or_half():
  """PacGAN's code for Metz et al.'s Stacked MNIST: G 4x4x64 -> 7x7x32 -> 14x14x16 -> 28x28x8 ->
  3 channels (3x3 kernels); D 3x3 stride-2 convolutions of 2, 4, 8 (1/4) or 4, 8, 16 (1/2)."""
  g, d = models.make_networks(_metz_config(2), 3 * 28 * 28, "sigmoid", False, (28, 28))
  g_params = g.init(jax.random.key(0), jnp.zeros((2, 256)))
  x = g.apply(g_params, jax.random.normal(jax.random.key(1), (6, 256)))
  assert x.shape == (6, 3 * 28 * 28) and 0.0 <= float(x.min()) <= float(x.max()) <= 1.0
  assert [k.shape for k in _kernels(g_params)] == [  # flattened in key order
      (3, 3, 64, 32), (3, 3, 32, 16), (3, 3, 16, 8), (3, 3, 8, 3), (256, 1024)]
  for width, channels in ((2, (2, 4, 8)), (4, (4, 8, 16))):
    _, d = models.make_networks(_metz_config(width), 3 * 28 * 28, "sigmoid", False, (28, 28))
    for m in (1, 2):  # a pack of m samples is m*3 input channels
      d_params = d.init(jax.random.key(0), jnp.zeros((2, m * 3 * 28 * 28)))
      kernels = [k.shape for k in _kernels(d_params)]
      assert [k[-1] for k in kernels[:3]] == list(channels) and kernels[0][2] == 3 * m
      assert kernels[3] == (4 * 4 * channels[2], 1)  # 28 -> 14 -> 7 -> 4
      assert d.apply(d_params, jnp.zeros((5, m * 3 * 28 * 28))).shape == (5,)


def test_metz_nets_need_their_discriminator_width_and_28x28_digits():
  with pytest.raises(UserError, match="needs config.dcgan_d_width: 2"):
    models.make_networks(_metz_config(0), 3 * 28 * 28, "sigmoid", False, (28, 28))
  with pytest.raises(UserError, match="draws 28x28 digits"):
    models.make_networks(_metz_config(2), 3 * 8 * 8, "sigmoid", False, (8, 8))


@pytest.mark.parametrize("arch,d_width", [("dcgan", 0), ("metz_dcgan", 2)])
def test_conv_generators_are_the_same_function_under_either_lowering(arch, d_width):
  config = _dcgan_config()
  config.arch, config.dcgan_d_width = arch, d_width
  z = jax.random.normal(jax.random.key(1), (6, 16))
  params, samples = {}, {}
  for lowering in ("subpixel", "xla"):
    config.conv_transpose_lowering = lowering
    g, _ = models.make_networks(config, 3 * 28 * 28, "sigmoid", False, (28, 28))
    params[lowering] = g.init(jax.random.key(0), z)
    samples[lowering] = g.apply(params[lowering], z)
  assert jax.tree.all(jax.tree.map(lambda a, b: bool((a == b).all()), params["subpixel"],
                                   params["xla"]))  # a checkpoint loads under either
  np.testing.assert_allclose(samples["subpixel"], samples["xla"], atol=1e-5)


def test_an_unknown_transposed_convolution_lowering_is_a_user_error():
  config = _dcgan_config()
  config.conv_transpose_lowering = "fft"
  with pytest.raises(UserError, match="conv_transpose_lowering must be one of subpixel, xla"):
    models.make_networks(config, 3 * 28 * 28, "sigmoid", False, (28, 28))
