"""The one exception type that reaches a user as a single line."""


class UserError(Exception):
  """Bad input from the user (flag, config field, file, dataset): no traceback is shown."""
