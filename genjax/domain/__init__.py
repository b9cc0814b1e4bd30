"""Domain generalization of small transformer LMs on in-context Markov-chain domains (issue 4):
the chains, their data and exact references, the studies and their report. The models and their
training are the language-model library's (genjax/lm), shared with the real-text study."""
