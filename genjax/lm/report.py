"""What every language-model study's results.md shares: a claim's verdict in one line."""

from genjax.claims.verdicts import NOT_MEASURED, ResultMissing


def verdict_text(finding) -> str:
  condition = f" ({finding.condition})" if finding.condition else ""
  return f"**{finding.verdict}**{condition}: {finding.evidence}"


def judge(claim, results: dict) -> str:
  """The claim's verdict on results.json; a rule whose input this run lacks says so (ResultMissing
  is the one exception a rule may raise for that; any other propagates)."""
  try:
    return verdict_text(claim.rule(results))
  except ResultMissing as e:
    return f"**{NOT_MEASURED}**: {e}"
