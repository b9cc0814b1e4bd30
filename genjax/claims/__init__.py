"""The rules that judge each claim: verdicts, combining a claim's runs, each experiment's rules.

Verdicts come from measured numbers through these rules, never typed by hand; running the
experiments and writing the report is genjax/report's job.
"""
