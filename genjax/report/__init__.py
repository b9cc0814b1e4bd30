"""The claims report's runner: which runs it needs, running or reusing them, judging their
results with the rules in genjax/claims/, and writing REPORT.md and REPORT.json.

runs.py (a run, run here or reused), schedule.py (several at a time), plan.py (what it will do
and how long it should take), machine.py (where it runs), judge.py (the claims' verdicts),
figures.py, markdown.py (REPORT.md), json_file.py (REPORT.json), compare.py (two REPORT.jsons)
and slurm_jobs.py (the runs as SLURM jobs). experiments/report.py is its command line.
"""
