"""The workdir lock's limits: mounts where flock is local to each node are named (and the SLURM
launcher refuses them), and a filesystem without flock is one error line."""

import errno
import fcntl

import pytest

from genjax import workdir_lock
from genjax.errors import UserError

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/home /home nfs4 rw,vers=4.2,local_lock=none,addr=10.0.0.1 0 0
server:/old /mnt/v3 nfs rw,vers=3,local_lock=none 0 0
server:/old /mnt/v3local nfs rw,vers=3,local_lock=flock 0 0
server:/all /mnt/all nfs rw,vers=4.1,local_lock=all 0 0
server:/nolock /mnt/nolock nfs rw,vers=3,nolock 0 0
10.0.0.2@tcp:/lfs /lustre lustre rw,flock 0 0
10.0.0.2@tcp:/lfs2 /lustre2 lustre rw,localflock 0 0
beegfs_nodev /beegfs beegfs rw,cfgFile=/etc/beegfs/beegfs-client.conf 0 0
sshfs#me@host: /mnt/my\\040files fuse.sshfs rw,user_id=0 0 0
"""


@pytest.mark.parametrize("path, says", [
    ("/home/me/workdirs/run", None),  # NFSv4: the server's locks, across nodes
    ("/mnt/v3/run", None),  # NFSv3 through the lock manager
    ("/mnt/v3local/run", "/mnt/v3local is nfs mounted with local_lock=flock"),
    ("/mnt/all", "/mnt/all is nfs mounted with local_lock=all"),
    ("/mnt/nolock/a/b", "/mnt/nolock is nfs mounted with nolock"),
    ("/lustre/project", None),  # -o flock: coherent across clients
    ("/lustre2/project", "/lustre2 is lustre mounted with localflock"),
    ("/beegfs/x", "/beegfs is beegfs: flock is local to each node unless every client sets "
                  "tuneUseGlobalFileLocks"),
    ("/mnt/my files/run", "/mnt/my files is fuse.sshfs (FUSE)"),  # the escaped space read back
    ("/tmp/run", None),  # a local disk: one machine anyway
])
def test_node_local_locks_names_the_mounts_where_flock_stays_on_one_node(path, says):
  """The innermost mount holding the path decides, and the reason names it."""
  why = workdir_lock.node_local_locks(path, MOUNTS)
  assert why is None if says is None else why.startswith(says)


def test_node_local_locks_without_a_mount_table_knows_nothing():
  assert workdir_lock.node_local_locks("/anything", "") is None
  assert workdir_lock.node_local_locks("/anything", "garbage line\n") is None


def test_a_filesystem_without_flock_is_one_error_line(tmp_path, monkeypatch):
  def no_locks(fd, operation):
    raise OSError(errno.ENOSYS, "Function not implemented")
  monkeypatch.setattr(fcntl, "flock", no_locks)
  with pytest.raises(UserError, match="its filesystem cannot lock files "
                                      r"\(Function not implemented\)"):
    workdir_lock.acquire_lock(str(tmp_path))
  assert not workdir_lock.held_by_this_process(str(tmp_path / workdir_lock.LOCK_FILE))
