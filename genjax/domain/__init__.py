"""Domain generalization of small transformer LMs on in-context Markov-chain domains (issue 4)."""
