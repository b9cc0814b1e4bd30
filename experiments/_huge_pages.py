"""Restarts the script once with glibc's malloc putting its large blocks on transparent huge pages.

XLA:CPU allocates each execution's temp buffer afresh, from a worker thread. glibc serves a block
too large for a thread's 64 MB arena with a new mmap every time, and the kernel faults it in 4 KB at
a time: the real-text study's step (97 MB of temps for 3 seeds) faults 12 million times in 200
steps. With the glibc tunable `glibc.malloc.hugetlb=1` (glibc 2.35 or later) malloc asks for
transparent huge pages on those mappings (`madvise`): 200 steps of it take 59.8 s against 67.9
(system time 12.5 s against 26.5, 0.66 million faults), every number the same (`python
experiments/bench_huge_pages.py`, 2 AMD EPYC cores). A tunable is read when the process starts, so
the script starts again with it set; every entry point imports this module first:

  import _huge_pages  # noqa: F401  (first: restarts once with glibc's huge-page tunable)

Nothing happens where it cannot help (not glibc, or older than 2.35), or where GLIBC_TUNABLES
already names glibc.malloc.hugetlb (the user's choice, or the restarted process). Whether the
kernel grants huge pages is its own setting (/sys/kernel/mm/transparent_hugepage/enabled:
`madvise` or `always`; `never` leaves the 4 KB pages, and only the restart was spent).
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
  tunables = tunables_with_huge_pages(os.environ.get("GLIBC_TUNABLES", ""), platform.libc_ver())
  if tunables is None:
    return
  os.environ["GLIBC_TUNABLES"] = tunables
  sys.stdout.flush()
  sys.stderr.flush()
  os.execv(sys.executable, sys.orig_argv)  # the same interpreter, options, script and flags


restart_with_huge_pages()
