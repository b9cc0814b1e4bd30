"""The language-model library of both Q1 studies (genjax/domain: Markov chains, genjax/text: real
text): the models (`model`), LoRA (`lora`), the pure train step and its optimizer (`step`), a
study's trainings (`fit`), scoring a model on evaluation sets (`evaluate`) and a claim's verdict
in results.md (`report`). Nothing here knows which data a study trains on."""
