"""The judge networks: the MLP and the conv classifier on flat images."""

import functools

import numpy as np
import pytest

from genjax.data import images
from genjax.models import classifier


def _digits():
  train, test = images.load("digits", "train"), images.load("digits", "test")
  flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
  return flat(train["image"]), train["label"], flat(test["image"]), test["label"]


def test_conv_classifier_learns_8x8_digits_and_gives_its_hidden_layer_as_features():
  train_x, train_y, test_x, test_y = _digits()
  net = classifier.train_classifier(train_x, train_y, test_x, test_y, seed=0, kind="conv",
                                    hidden=(64,), steps=300)
  assert isinstance(net.model, classifier.ConvNet) and net.model.side == 8
  assert net.test_accuracy > 0.9  # chance is 0.1
  features = net.features(test_x[:50])
  assert features.shape == (50, 64) and features.min() >= 0  # after the ReLU
  assert net.logits(test_x[:50]).shape == (50, 10)


def test_same_seed_same_classifier_and_another_seed_another():
  train_x, train_y, test_x, test_y = _digits()
  a, b, c = (classifier.train_classifier(train_x, train_y, test_x, test_y, seed=s, kind="conv",
                                         hidden=(16,), steps=5) for s in (0, 0, 1))
  np.testing.assert_array_equal(a.features(test_x[:20]), b.features(test_x[:20]))
  assert not np.array_equal(a.features(test_x[:20]), c.features(test_x[:20]))


@pytest.mark.parametrize("kind, hidden", [("conv", (16,)), ("mlp", (16, 8))])
def test_features_and_logits_in_one_pass_are_the_two_calls(kind, hidden):
  train_x, train_y, test_x, test_y = _digits()
  net = classifier.train_classifier(train_x, train_y, test_x, test_y, seed=0, kind=kind,
                                    hidden=hidden, steps=5)
  x = np.resize(test_x, (classifier.JUDGE_BATCH + 4, test_x.shape[1]))  # two batches
  features, logits = net.features_and_logits(x)
  np.testing.assert_allclose(features, net.features(x), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(logits, net.logits(x), rtol=1e-5, atol=1e-5)
  assert features.shape == (len(x), hidden[-1]) and logits.shape == (len(x), 10)


def _trained_net(kind, hidden):
  """A classifier after 5 steps on the digits, and the digits' test images."""
  train_x, train_y, test_x, test_y = _digits()
  return classifier.train_classifier(train_x, train_y, test_x, test_y, seed=0, kind=kind,
                                     hidden=hidden, steps=5), test_x


@pytest.mark.parametrize("kind, hidden", [("conv", (16,)), ("mlp", (16, 8))])
def test_how_many_images_are_judged_changes_no_number(kind, hidden):
  net, test_x = _trained_net(kind, hidden)
  x = np.resize(test_x, (2 * classifier.JUDGE_BATCH + 100, test_x.shape[1]))
  everything = net.features_and_logits(x)
  for count in (1, 100, classifier.JUDGE_BATCH + 7):
    for part, whole in zip(net.features_and_logits(x[:count]), everything, strict=True):
      np.testing.assert_array_equal(part, whole[:count])


@pytest.mark.parametrize("kind, hidden", [("conv", (16,)), ("mlp", (16, 8))])
def test_the_judge_batch_size_changes_numbers_only_to_float32_rounding(kind, hidden):
  net, test_x = _trained_net(kind, hidden)
  x = np.resize(test_x, (3 * classifier.JUDGE_BATCH + 100, test_x.shape[1]))
  in_batches = net.features_and_logits(x)
  whole = classifier._batched(functools.partial(classifier._features_and_logits, net.model,
                                                net.params), x, batch=len(x))
  for part, at_once in zip(in_batches, whole, strict=True):
    assert part.shape == at_once.shape
    np.testing.assert_allclose(part, at_once, rtol=1e-5, atol=1e-6)


def test_bad_classifier_kinds_and_shapes_are_refused():
  with pytest.raises(ValueError, match="unknown classifier kind 'resnet'"):
    classifier.make_net("resnet", 64)
  with pytest.raises(ValueError, match="square images; got 60 pixels"):
    classifier.make_net("conv", 60)
  assert classifier.make_net("mlp", 64, (32, 16)).features == (32, 16, 10)
