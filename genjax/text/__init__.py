"""Q1 on real text: byte-level language models across four registers (issue 35): the byte
windows, the studies and their report. The models and their training are the language-model
library's (genjax/lm), shared with the Markov study."""
