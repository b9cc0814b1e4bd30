"""Unpickling numpy arrays from a data file without letting the file run code.

A pickle names the functions that rebuild its objects, and a plain `pickle.load` imports and
calls whatever it names (`os.system` included). Datasets shipped as pickles (MNIST's
mnist.pkl.gz) need only what rebuilds numpy arrays, so `load_arrays` allows exactly that and
refuses every other name before anything is called.
"""

import codecs
import pickle

import numpy as np

from genjax.errors import UserError

try:  # numpy >= 2 (numpy 1.26 has these too, under the names below)
  from numpy._core.multiarray import _reconstruct
  from numpy._core.numeric import _frombuffer
except ImportError:
  from numpy.core.multiarray import _reconstruct
  from numpy.core.numeric import _frombuffer

# (module, name) a pickle may ask for -> what it gets. Pickles made under numpy 1 name
# numpy.core, under numpy 2 numpy._core; protocol 5 rebuilds arrays with _frombuffer; a bytes
# object pickled by Python 3 at protocol 2 is rebuilt by _codecs.encode(text, "latin1").
ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class ArrayUnpickler(pickle.Unpickler):
  """An Unpickler that can rebuild numpy arrays (and tuples, lists, dicts of them), nothing else."""

  def __init__(self, file, what: str):
    # latin1: Python 2 pickles (mnist.pkl.gz) hold array bytes as str, which numpy reads back
    # only as latin1 text.
    super().__init__(file, encoding="latin1")
    self.what = what

  def find_class(self, module, name):
    try:
      return ALLOWED[(module, name)]
    except KeyError:
      raise UserError(f"{self.what} asks to load {module}.{name}; refused: only numpy arrays "
                      "may be unpickled from a data file") from None

  def persistent_load(self, pid):
    raise UserError(f"{self.what} holds a persistent reference; refused")


def load_arrays(file, what: str):
  """The object pickled in the open binary `file`, if it is made of numeric numpy arrays only.

  Args:
    file: a readable binary file object (e.g. gzip.GzipFile) holding one pickle.
    what: names the file in error messages.
  """
  result = ArrayUnpickler(file, what).load()
  _check_numeric(result, what)
  return result


def _check_numeric(value, what: str) -> None:
  # An object array's elements were unpickled under the same allow-list, so this is not a
  # second safety net; it keeps callers from receiving arrays that hold Python objects.
  if isinstance(value, np.ndarray):
    if value.dtype.hasobject:
      raise UserError(f"{what} holds an array of Python objects; expected numeric arrays")
  elif isinstance(value, (tuple, list)):
    for item in value:
      _check_numeric(item, what)
  elif isinstance(value, dict):
    for item in value.values():
      _check_numeric(item, what)
