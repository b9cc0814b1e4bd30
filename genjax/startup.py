"""Process set-up that an entry point asks for by name; importing genjax does none of it.

Three measures change how fast a run goes and never what it computes:

- `restart_with_huge_pages()`: restarts the script once with glibc's `glibc.malloc.hugetlb=1`
  tunable. XLA:CPU allocates each execution's temporaries afresh from a worker thread; glibc
  serves a block too large for a thread's arena with a new mmap every time and the kernel faults
  it in 4 KB at a time, so a step with large temporaries spends much of its time in page faults.
  With the tunable, malloc asks for transparent huge pages on those mappings (`madvise`). A
  tunable is read when the process starts, hence the restart; call it before importing JAX so
  the restart costs no import. It does nothing where it cannot help (not glibc, or older than
  2.35) or where GLIBC_TUNABLES already names the tunable: the user's choice
  (`GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns it off) or the restarted process. Whether the
  kernel grants huge pages is its own setting (/sys/kernel/mm/transparent_hugepage/enabled).
  `python bench/bench_huge_pages.py` times both settings and checks the numbers are the same.
- `split_host_into_devices(count)`: makes XLA:CPU show the host as `count` devices (an
  XLA_FLAGS option, read when JAX starts), so seeds run by the one-seed step each on a device
  of their own (`seeds.seed_parallel`, seed map "sequential") run at once instead of in turn,
  filling the cores a small step leaves idle. Every device is the same host and thread pool,
  so a seed's numbers are the same on any of them (tested); `python bench/bench_lm_step.py`
  times it. It does nothing where XLA_FLAGS already sets a device count (the user's choice, or
  the tests' fake devices).
- `use_fused_threefry()`: lowers jax.random's threefry hash on CPU unrolled, so XLA fuses it
  with its uses: the same bits, faster (`genjax/random_fused.py`; `bench/bench_random.py`).
  `cli.run` calls it unless `--nofused_threefry` is given.

This module imports only the standard library at import time, so an entry point can call
`restart_with_huge_pages()` before anything heavy is loaded.
"""

import os
import platform
import sys

TUNABLE = "glibc.malloc.hugetlb"
MIN_GLIBC = (2, 35)  # the first glibc with the hugetlb tunable


def tunables_with_huge_pages(current: str, libc: tuple[str, str]) -> str | None:
  """GLIBC_TUNABLES to restart with, or None to go on as started: `current` is its value now,
  `libc` what platform.libc_ver() says."""
  name, version = libc
  try:
    major_minor = tuple(int(part) for part in version.split(".")[:2])
  except ValueError:
    return None
  if name != "glibc" or major_minor < MIN_GLIBC or f"{TUNABLE}=" in current:
    return None
  return f"{current}:{TUNABLE}=1" if current else f"{TUNABLE}=1"


def restart_with_huge_pages() -> None:
  """Restarts this process once (exec: same pid, interpreter options, script and arguments)
  with the huge-page tunable, where it can help; else returns at once."""
  _restart_with(tunables_with_huge_pages(os.environ.get("GLIBC_TUNABLES", ""),
                                         platform.libc_ver()))


def _restart_with(tunables: str | None) -> None:
  """exec this process again (same pid, interpreter options, script and arguments) with
  GLIBC_TUNABLES set to `tunables`; None: return at once."""
  if tunables is None:
    return
  os.environ["GLIBC_TUNABLES"] = tunables
  sys.stdout.flush()
  sys.stderr.flush()
  os.execv(sys.executable, sys.orig_argv)


DEVICE_COUNT_FLAG = "--xla_force_host_platform_device_count"


def xla_flags_with_devices(current: str, count: int) -> str | None:
  """XLA_FLAGS showing the host as `count` devices, or None to leave `current` as it is (it
  already sets a count)."""
  if DEVICE_COUNT_FLAG in current:
    return None
  return f"{current} {DEVICE_COUNT_FLAG}={count}".strip()


def split_host_into_devices(count: int) -> None:
  """Sets XLA_FLAGS so that XLA:CPU shows `count` host devices; call before JAX loads."""
  if "jax" in sys.modules:
    raise RuntimeError("split_host_into_devices must run before JAX is imported")
  flags = xla_flags_with_devices(os.environ.get("XLA_FLAGS", ""), count)
  if flags is not None:
    os.environ["XLA_FLAGS"] = flags


def use_fused_threefry() -> None:
  """jax.random's threefry lowered unrolled on CPU for programs compiled from now on."""
  from genjax import random_fused  # imports JAX: only when asked for

  random_fused.install()


# Memory reuse for timed runs. XLA:CPU allocates each execution's temporaries afresh; glibc
# serves a block above its mmap threshold with a new mapping every time, and the kernel faults
# it in page by page on every call, so a timed call with large temporaries also times fresh
# pages. One arena, no mmap for large blocks and no trimming make malloc hand the same memory
# back call after call (the project measured timed sweeps reusing memory with these settings).
MEMORY_REUSE = ("glibc.malloc.arena_max=1", "glibc.malloc.mmap_max=0",
                "glibc.malloc.trim_threshold=68719476736")
MIN_GLIBC_REUSE = (2, 26)  # the first glibc with GLIBC_TUNABLES' malloc tunables


def tunables_with_memory_reuse(current: str, libc: tuple[str, str]) -> str | None:
  """GLIBC_TUNABLES to restart with for memory reuse, or None to go on as started: not glibc,
  too old, or `current` already names one of the three tunables (the user's choice, or the
  restarted process)."""
  name, version = libc
  try:
    major_minor = tuple(int(part) for part in version.split(".")[:2])
  except ValueError:
    return None
  names = [setting.split("=")[0] for setting in MEMORY_REUSE]
  if name != "glibc" or major_minor < MIN_GLIBC_REUSE or any(f"{n}=" in current for n in names):
    return None
  return ":".join([current, *MEMORY_REUSE] if current else MEMORY_REUSE)


def memory_reuse_in_force(current: str) -> bool:
  """Whether GLIBC_TUNABLES (`current`) holds all three memory-reuse settings as set here."""
  return set(MEMORY_REUSE) <= set(current.split(":"))


def restart_with_memory_reuse() -> None:
  """Restarts this process once (exec, like restart_with_huge_pages) with MEMORY_REUSE added
  to GLIBC_TUNABLES, where glibc has them and the user set none of them; else returns."""
  _restart_with(tunables_with_memory_reuse(os.environ.get("GLIBC_TUNABLES", ""),
                                           platform.libc_ver()))
