"""Q1 on real text: byte-level language models across four registers (issue 35)."""
