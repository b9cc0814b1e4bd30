"""The exceptions that reach a user as a single line, and their exit statuses."""


class UserError(Exception):
  """Bad input from the user (flag, config field, file, dataset, workdir): no traceback, exit 2."""

  exit_code = 2


class DiskFull(UserError):
  """A file could not be written for lack of space: not a usage error, so exit status 1."""

  exit_code = 1
