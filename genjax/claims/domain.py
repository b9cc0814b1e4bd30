"""Q1: domain generalization. The rules are genjax.domain.report's per-study verdicts."""

from genjax.claims.verdicts import NOT_MEASURED, Claim, Finding
from genjax.domain import report as domain_report

EXPERIMENT = "in-context Markov-chain domains (experiments/domain.py)"


def _rule(study: str):
  section = getattr(domain_report, f"{study}_section")

  def rule(results: dict) -> Finding:
    if results.get("study") != study:
      return Finding(NOT_MEASURED, f"no results of the {study} study")
    return section(results)[1]

  rule.study = study
  return rule


CLAIMS_BY_STUDY = {}  # filled below: each study's run is judged on its own claim
CLAIMS = [
    Claim("Q1", "Pretraining on more diverse domains makes a model generalize better to domains "
          "it never saw.", EXPERIMENT + ", diversity study",
          "Raventós et al. 2023: above a task-diversity threshold the model matches the Bayes "
          "predictor for new tasks", _rule("diversity")),
    Claim("Q1", "Architecture matters: self-attention, which can use the context, generalizes to "
          "new domains better than models that cannot.", EXPERIMENT + ", architecture study",
          "issue 4 independent run: 2-layer 1.636 / 1-layer 1.923 / bag-of-tokens 1.980",
          _rule("architecture")),
    Claim("Q1", "Finetuning on a domain improves it, but over-finetuning on a narrow domain "
          "overfits and hurts out-of-domain performance.", EXPERIMENT + ", finetuning study",
          "Biderman et al. 2024: LoRA learns less and forgets less", _rule("finetune")),
    Claim("Q1", "Few-shot finetuning and domain-adaptive pretraining improve a target domain.",
          EXPERIMENT + ", few-shot/DAPT study",
          "Gururangan et al. 2020: DAPT helps (ChemProt F1 81.9 -> 84.2)", _rule("fewshot")),
    Claim("Q1", "Continual learning (here: with replay) keeps broad knowledge across domains.",
          EXPERIMENT + ", continual study", "—", _rule("continual")),
]
CLAIMS_BY_STUDY.update({claim.rule.study: claim for claim in CLAIMS})
