"""Q1 rules (genjax/claims/domain.py): made-up per-seed results drive each to every outcome."""

import pytest

from genjax.claims import domain, domain_checks, domain_fewshot, lm_checks, text_checks
from genjax.claims.verdicts import (
  CONDITIONAL,
  CONTRADICTED,
  INCONCLUSIVE,
  NOT_MEASURED,
  SUPPORTED,
  ResultMissing,
)

BASE = [1.50, 1.52, 1.55]  # three seeds' losses; other entries are BASE + an offset per seed


def s(offset=0.0, spread=(0.0, 0.0, 0.0)):
  """A stats.summary of BASE + offset (+ a per-seed spread, which blurs a paired difference)."""
  values = [b + offset + e for b, e in zip(BASE, spread, strict=True)]
  mean = sum(values) / 3
  return {"mean": mean, "sd": 0.02, "se": 0.012, "seeds": values}


NOISE = (-0.2, 0.2, 0.0)  # a paired difference with this spread is not clear at 3 seeds
UNTRAINED = 2.1 - BASE[0]  # offset that puts a model at uniform (log 8 = 2.079) or above


def common(study, num_seeds=3):
  return {"study": study, "num_seeds": num_seeds, "seq_len": 32, "config": {"vocab": 8}}


FLAT = {"400": s(0.2), "800": s(0.0), "1200": s(0.0)}  # a training curve that has levelled off


def assert_margin(finding, value, threshold, seeds=3):
  """The finding carries its deciding number: the mean difference, its interval around it, the
  threshold that flips it, the seeds and their spread."""
  m = finding.margin
  assert m is not None, finding
  assert m.value == pytest.approx(value, abs=1e-9) and m.low <= m.value <= m.high
  assert m.threshold == threshold and m.seeds == seeds and m.sd >= 0 and m.confidence == 0.95


def test_compare_uses_the_t_quantile_and_states_the_interval():
  clear = domain.compare(s(-0.1, (0.01, -0.01, 0.0)), s())
  assert clear["outcome"] == "lower" and clear["t_critical"] == pytest.approx(4.303, abs=1e-3)
  assert "(95% t, 3 seeds) (lower)" in clear["text"]
  same_on_every_seed = domain.compare(s(-0.1), s())
  assert "on every seed (3 of 3" in same_on_every_seed["text"]
  assert domain.compare(s(0.1), s())["outcome"] == "higher"
  # Mean 0.1 lower, per-seed s.e. 0.116: beyond 2 s.e. would not be enough at 3 seeds.
  assert domain.compare(s(-0.1, NOISE), s())["outcome"] == "unclear"
  # Clear but inside the +-0.002 band: not a difference.
  assert domain.compare(s(-0.001), s())["outcome"] == "unclear"


def test_both_lm_studies_read_one_band_in_their_own_unit():
  """The Markov rules (nats) and the real-text rules (bits per byte) compare through one `Band`:
  the same interval and verdict against each study's own minimum effect."""
  assert domain_checks.BAND == lm_checks.Band(domain.MIN_EFFECT_NATS, "nats", says_outcome=True)
  assert text_checks.BAND == lm_checks.Band(text_checks.MIN_EFFECT_BITS, "bits per byte")
  a, b = s(-0.1, (0.01, -0.01, 0.0)), s()
  nats, bits = domain_checks.compare(a, b), text_checks.compare(a, b)
  assert nats["text"] == f"{bits['text']} (lower)" and nats["outcome"] == bits["outcome"]
  # Inside the nats band's edge but beyond the bits band's: one difference, two readings.
  small = s(-0.005)
  assert domain_checks.verdict("d", domain_checks.compare(small, b), "lower")[0] == SUPPORTED
  assert text_checks.verdict("d", text_checks.compare(small, b))[0] == CONTRADICTED
  # all_of: every comparison its way, the one closest to flipping decides; else the first ruled
  # out, else the first that straddles.
  named = {"far": (domain_checks.compare(s(-0.3), b), "lower"),
           "near": (domain_checks.compare(s(-0.05), b), "lower")}
  assert domain_checks.all_of(named)[0] == SUPPORTED
  assert domain_checks.all_of(named)[1].name == "near"
  named["noisy"] = (domain_checks.compare(s(0.0, NOISE), b), "lower")
  named["wrong"] = (domain_checks.compare(s(0.3), b), "lower")
  assert domain_checks.all_of(named)[0] == CONTRADICTED
  assert domain_checks.all_of(named)[1].name == "wrong"
  del named["wrong"]
  assert domain_checks.all_of(named)[0] == INCONCLUSIVE
  assert domain_checks.all_of(named)[1].name == "noisy"


def diversity(small_heldout, large_heldout, small_indist=0.0, num_seeds=3):
  def row(m, heldout, indist):
    return {"pool_size": m, "model_heldout": s(heldout), "model_indist": s(indist),
            "indist_curve": FLAT}
  return {**common("diversity", num_seeds), "rows": [row(4, small_heldout, small_indist),
                                                     row(0, large_heldout, 0.0)],
          "references_heldout": {"bayes_new_domain": s(-0.1)}}


def test_diversity_rule_every_outcome():
  supported = domain.diversity_rule(diversity(0.5, 0.0))
  assert supported.verdict == SUPPORTED
  assert_margin(supported, -0.5, -domain.MIN_EFFECT_NATS)
  assert supported.margin.sd == pytest.approx(0.0, abs=1e-12)  # the same offset on every seed
  worse = domain.diversity_rule(diversity(0.0, 0.5))
  assert worse.verdict == CONTRADICTED
  assert_margin(worse, 0.5, -domain.MIN_EFFECT_NATS)
  untrained = domain.diversity_rule(diversity(0.5, 0.0, small_indist=UNTRAINED))
  assert untrained.verdict == NOT_MEASURED and "not trained" in untrained.evidence
  assert domain.diversity_rule(diversity(0.5, 0.0, num_seeds=1)).verdict == INCONCLUSIVE
  one_row = diversity(0.5, 0.0)
  one_row["rows"] = one_row["rows"][:1]
  with pytest.raises(ResultMissing, match="two pool sizes"):
    domain.diversity_rule(one_row)


def architecture(**offsets):
  return {**common("architecture"), "rows": [{"arch": a, "heldout": s(o), "indist_curve": FLAT}
                                             for a, o in offsets.items()]}


def test_architecture_rule_every_outcome():
  win = domain.architecture_rule(architecture(transformer=0.0, transformer_1layer=0.3,
                                              bag_mlp=0.35))
  assert win.verdict == SUPPORTED
  # Attention alone decides: one attention layer against the model blind to context.
  assert_margin(win, -0.05, -domain.MIN_EFFECT_NATS)
  assert win.margin.name == "held-out loss 1-layer - bag_mlp"
  # The gain comes only with the second layer: conditional on depth, not on attention.
  deep_only = domain.architecture_rule(architecture(transformer=0.0, transformer_1layer=0.35,
                                                    bag_mlp=0.35))
  assert deep_only.verdict == CONDITIONAL and "depth" in deep_only.condition
  assert_margin(deep_only, 0.0, -domain.MIN_EFFECT_NATS)
  lose = domain.architecture_rule(architecture(transformer=0.35, transformer_1layer=0.35,
                                               bag_mlp=0.35))
  assert lose.verdict == CONTRADICTED and "transformer_1layer" in lose.evidence
  noisy = architecture(transformer=0.0, transformer_1layer=0.3, bag_mlp=0.35)
  noisy["rows"][1]["heldout"] = s(0.3, NOISE)
  assert domain.architecture_rule(noisy).verdict == INCONCLUSIVE
  # Without the 1-layer model, the 2-layer model against every baseline decides.
  assert domain.architecture_rule(architecture(transformer=0.0, bag_mlp=0.35)).verdict == (
      SUPPORTED)
  with pytest.raises(ResultMissing, match="baseline"):
    domain.architecture_rule(architecture(transformer=0.0))
  untrained = domain.architecture_rule(architecture(transformer=0.0, bag_mlp=UNTRAINED))
  assert untrained.verdict == NOT_MEASURED and untrained.margin is None
  no_curve = architecture(transformer=0.0, bag_mlp=0.35)
  del no_curve["rows"][1]["indist_curve"]
  with pytest.raises(ResultMissing, match="curve of bag_mlp"):
    domain.architecture_rule(no_curve)


def _with_curve(results, arch, losses):
  row = next(r for r in results["rows"] if r.get("arch", r.get("pool_size")) == arch)
  row["indist_curve"] = {str(400 * (i + 1)): s(v) for i, v in enumerate(losses)}
  return results


def test_rules_wait_for_the_training_loss_to_level_off():
  falls = domain_checks.PLATEAU_NATS * 3
  winner = architecture(transformer=0.0, transformer_1layer=0.3, bag_mlp=0.35)
  still_falling = domain.architecture_rule(_with_curve(winner, "transformer", [0.2, falls, 0.0]))
  assert still_falling.verdict == NOT_MEASURED and "not converged" in still_falling.evidence
  # Just inside the plateau bound: judged as usual.
  level = _with_curve(architecture(transformer=0.0, transformer_1layer=0.3, bag_mlp=0.35),
                      "transformer", [0.2, domain_checks.PLATEAU_NATS * 0.9, 0.0])
  assert domain.architecture_rule(level).verdict == SUPPORTED
  assert domain.diversity_rule(_with_curve(diversity(0.5, 0.0), 0, [falls, 0.0])).verdict == (
      NOT_MEASURED)
  # The smallest pool is guarded as well as the largest.
  assert domain.diversity_rule(_with_curve(diversity(0.5, 0.0), 4, [falls, 0.0])).verdict == (
      NOT_MEASURED)
  assert domain.diversity_rule(_with_curve(diversity(0.5, 0.0), 0, [0.0, 0.0])).verdict == (
      SUPPORTED)
  with pytest.raises(ResultMissing, match="two evaluations"):
    domain.diversity_rule(_with_curve(diversity(0.5, 0.0), 0, [0.0]))


def finetune(full_target, full_heldout_end, lora_target=None, lora_heldout_end=None,
             full_kind="full"):
  def method(kind, target_end, heldout_end):
    return {"kind": kind, "curve": {"0": {"target": s(0.2), "heldout": s(0.1)},
                                    "300": {"target": s(target_end), "heldout": s(heldout_end)}}}
  methods = {"full_lr0.001": method(full_kind, full_target, full_heldout_end),
             "full_lr0.0001": method(full_kind, full_target + 0.05, full_heldout_end - 0.3)}
  if lora_target is not None:
    methods["lora_r2"] = method("lora", lora_target, lora_heldout_end)
  return {**common("finetune"), "grid": [0, 300], "methods": methods,
          "references": {"target/bayes_new_domain": s(0.2)}}


def test_finetune_rule_every_outcome():
  both = domain.finetune_rule(finetune(-0.2, 1.0))
  assert both.verdict == SUPPORTED
  # Gain -0.4 below Bayes, forgetting +0.9: the gain is closer to its threshold and decides.
  assert_margin(both, -0.4, -domain.MIN_EFFECT_NATS)
  no_forgetting = domain.finetune_rule(finetune(-0.2, 0.1))
  assert no_forgetting.verdict == CONTRADICTED
  assert_margin(no_forgetting, 0.0, domain.MIN_EFFECT_NATS)  # the held-out change decides
  no_gain = domain.finetune_rule(finetune(0.4, 1.0))
  assert no_gain.verdict == CONTRADICTED
  assert_margin(no_gain, 0.2, -domain.MIN_EFFECT_NATS)
  with pytest.raises(ResultMissing, match="full-finetuning run"):
    domain.finetune_rule(finetune(-0.2, 1.0, full_kind="lora"))
  assert domain.finetune_rule(finetune(UNTRAINED, 1.0)).verdict == NOT_MEASURED


def test_lora_forgetting_rule_compares_with_the_closest_target_loss():
  # LoRA's target loss is closest to lr 1e-4's (-0.15): the comparison is with that run.
  less = domain.lora_forgetting_rule(finetune(-0.2, 1.0, lora_target=-0.15, lora_heldout_end=0.5))
  assert less.verdict == SUPPORTED and "full_lr0.0001" in less.evidence
  assert_margin(less, -0.2, -domain.MIN_EFFECT_NATS)  # held-out 0.5 vs lr 1e-4's 0.7
  more = domain.lora_forgetting_rule(finetune(-0.2, 1.0, lora_target=-0.15, lora_heldout_end=0.9))
  assert more.verdict == CONTRADICTED
  assert_margin(more, 0.2, -domain.MIN_EFFECT_NATS)
  # LoRA learns less (target 0.025, halfway along lr 1e-4's 0.2 -> -0.15): its forgetting is
  # compared with the full run's at that target loss (held-out 0.4), not at the run's end (0.7).
  halfway = domain.lora_forgetting_rule(finetune(-0.2, 1.0, lora_target=0.025,
                                                 lora_heldout_end=0.5))
  assert halfway.verdict == CONTRADICTED and "interpolated" in halfway.evidence
  assert_margin(halfway, 0.1, -domain.MIN_EFFECT_NATS)
  beyond = domain.lora_forgetting_rule(finetune(-0.2, 1.0, lora_target=-0.5,
                                                lora_heldout_end=0.5))
  assert beyond.verdict == INCONCLUSIVE and "outside" in beyond.condition
  # LoRA's target (-0.17) lies beyond lr 1e-4's end (-0.15) but on lr 1e-3's path: that run.
  frontier = domain.lora_forgetting_rule(finetune(-0.2, 1.0, lora_target=-0.17,
                                                  lora_heldout_end=0.5))
  assert "minus full_lr0.001 interpolated" in frontier.evidence
  assert frontier.verdict == SUPPORTED  # lr 1e-3 at -0.17: held-out 0.1 + 0.9 * 37/40 = 0.93
  with pytest.raises(ResultMissing, match="LoRA run"):
    domain.lora_forgetting_rule(finetune(-0.2, 1.0))
  assert domain.lora_forgetting_rule(finetune(-0.2, 1.0, lora_target=UNTRAINED,
                                              lora_heldout_end=0.5)).verdict == NOT_MEASURED


def fewshot(in_context, shots, dapt_before, dapt_after, none_after, unrelated_after=None,
            base_heldout=0.0):
  def entry(target, heldout=0.5):
    return {"target": s(target), "heldout": s(heldout)}
  unrelated_after = none_after if unrelated_after is None else unrelated_after
  return {**common("fewshot"),
          "fewshot": {"0": entry(in_context, base_heldout), "64": entry(shots)},
          "dapt": {"dapt_target_genre": {"before": entry(dapt_before), "after": entry(dapt_after)},
                   "unrelated_genre": {"before": entry(0.5), "after": entry(unrelated_after)},
                   "none": {"before": entry(in_context), "after": entry(none_after)}}}


def test_fewshot_rule_names_which_methods_help():
  both = domain.fewshot_rule(fewshot(0.4, 0.0, 0.1, 0.2, 0.3))
  assert both.verdict == SUPPORTED
  # Few-shot -0.4 and DAPT-then-finetuning -0.1: the latter is closer to flipping.
  assert_margin(both, -0.1, -domain.MIN_EFFECT_NATS)
  assert "DAPT then finetuning" in both.margin.name
  # DAPT helps on its own but finetuning after it overfits: the condition says so.
  overfit = domain.fewshot_rule(fewshot(0.4, 0.0, 0.1, 0.5, 0.3))
  assert overfit.verdict == CONDITIONAL
  assert "DAPT alone" in overfit.condition.split("do not")[0]
  assert "DAPT then finetuning" in overfit.condition.split("do not")[1]
  assert_margin(overfit, 0.2, -domain.MIN_EFFECT_NATS)
  none_help = domain.fewshot_rule(fewshot(0.4, 0.6, 0.5, 0.5, 0.3))
  assert none_help.verdict == CONTRADICTED
  assert_margin(none_help, 0.2, -domain.MIN_EFFECT_NATS)
  assert domain.fewshot_rule(fewshot(0.4, 0.0, 0.1, 0.2, 0.3,
                                     base_heldout=UNTRAINED)).verdict == NOT_MEASURED
  missing = fewshot(0.4, 0.0, 0.1, 0.2, 0.3)
  del missing["dapt"]["none"]
  with pytest.raises(ResultMissing, match="none"):
    domain.fewshot_rule(missing)
  no_shots = fewshot(0.4, 0.0, 0.1, 0.2, 0.3)
  del no_shots["fewshot"]["64"]
  with pytest.raises(ResultMissing, match="few-shot run"):
    domain.fewshot_rule(no_shots)


def test_unrelated_genre_rule_every_outcome():
  hurts = domain.unrelated_genre_rule(fewshot(0.4, 0.0, 0.1, 0.2, 0.3, 0.5))
  assert hurts.verdict == SUPPORTED
  assert_margin(hurts, 0.2, domain.MIN_EFFECT_NATS)
  helps = domain.unrelated_genre_rule(fewshot(0.4, 0.0, 0.1, 0.2, 0.3, 0.28))
  assert helps.verdict == CONTRADICTED
  assert_margin(helps, -0.02, domain.MIN_EFFECT_NATS)
  assert domain.unrelated_genre_rule(fewshot(0.4, 0.0, 0.1, 0.2, 0.3, 0.5,
                                             base_heldout=UNTRAINED)).verdict == NOT_MEASURED
  missing = fewshot(0.4, 0.0, 0.1, 0.2, 0.3)
  del missing["dapt"]["unrelated_genre"]
  with pytest.raises(ResultMissing, match="unrelated_genre"):
    domain.unrelated_genre_rule(missing)


def continual(without, with_replay, general_start=0.0, variants=("replay0", "replay0.25")):
  def matrix(end):
    start = {"general": s(general_start), "genre0": s(0.3), "genre1": s(0.3)}
    return [start, {"general": s(end), "genre0": s(end), "genre1": s(0.0)}]
  ends = {"replay0": without, "replay0.25": with_replay}
  return {**common("continual"), "families": ["general", "genre0", "genre1"],
          "variants": {v: matrix(ends[v]) for v in variants}}


def test_continual_rule_every_outcome():
  keeps = domain.continual_rule(continual(1.0, 0.2))
  assert keeps.verdict == SUPPORTED
  assert_margin(keeps, -0.8, -domain.MIN_EFFECT_NATS)  # mean over general and genre0
  same = domain.continual_rule(continual(1.0, 1.0))
  assert same.verdict == CONTRADICTED
  assert_margin(same, 0.0, -domain.MIN_EFFECT_NATS)
  with pytest.raises(ResultMissing, match="without replay"):
    domain.continual_rule(continual(1.0, 0.2, variants=("replay0",)))
  assert domain.continual_rule(continual(1.0, 0.2, general_start=UNTRAINED)).verdict == (
      NOT_MEASURED)


def test_claims_judge_only_their_own_study():
  assert set(domain.CLAIMS_BY_STUDY) == {"diversity", "architecture", "finetune", "fewshot",
                                         "continual"}
  assert all(domain.CLAIMS_BY_STUDY[s] is domain.STUDY_CLAIMS[s][0] for s in domain.STUDY_CLAIMS)
  assert len(domain.CLAIMS) == 11
  # Each study's claims read their own entry of results.json.
  both = {"studies": {"architecture": architecture(transformer=0.0, bag_mlp=0.35),
                      "finetune": finetune(-0.2, 1.0)}}
  assert domain.CLAIMS_BY_STUDY["architecture"].rule(both) == domain.architecture_rule(
      both["studies"]["architecture"])
  assert domain.CLAIMS_BY_STUDY["finetune"].rule(both).verdict == SUPPORTED
  with pytest.raises(ResultMissing, match=r"no results of the diversity study .results.json has "
                     r"\['architecture', 'finetune'\]"):
    domain.CLAIMS_BY_STUDY["diversity"].rule(both)
  with pytest.raises(ResultMissing, match="finetune"):
    domain.CLAIMS_BY_STUDY["finetune"].rule({"studies": {"architecture": both["studies"]
                                                         ["architecture"]}})


def test_a_bug_in_results_is_not_a_verdict():
  # Malformed results (a summary without its per-seed values) are a bug: the error propagates
  # instead of becoming "not measured".
  broken = architecture(transformer=0.0, bag_mlp=0.35)
  del broken["rows"][1]["heldout"]["seeds"]
  with pytest.raises(KeyError):
    domain.CLAIMS_BY_STUDY["architecture"].rule({"studies": {"architecture": broken}})
  wrong_type = diversity(0.5, 0.0)
  wrong_type["rows"][0]["model_heldout"] = None
  with pytest.raises(TypeError):
    domain.diversity_rule(wrong_type)


def test_depth_rule_every_outcome():
  deeper = domain.depth_rule(architecture(transformer=0.0, transformer_1layer=0.3, bag_mlp=0.35))
  assert deeper.verdict == SUPPORTED and deeper.margin.name == "held-out loss 2-layer - 1-layer"
  flat = domain.depth_rule(architecture(transformer=0.3, transformer_1layer=0.3, bag_mlp=0.35))
  assert flat.verdict == CONTRADICTED
  noisy = architecture(transformer=0.0, transformer_1layer=0.0, bag_mlp=0.35)
  noisy["rows"][0]["heldout"] = s(0.0, NOISE)
  assert domain.depth_rule(noisy).verdict == INCONCLUSIVE
  with pytest.raises(ResultMissing, match="1-layer"):
    domain.depth_rule(architecture(transformer=0.0, bag_mlp=0.35))


def test_fewshot_keeps_general_capabilities_is_an_equivalence_bound():
  """Kept when the held-out change's whole interval lies below +MIN_EFFECT_NATS."""
  kept = domain_fewshot.fewshot_keeps_general(fewshot(0.4, 0.0, 0.1, 0.2, 0.3, base_heldout=0.5))
  assert kept.verdict == SUPPORTED  # held-out 0.5 -> 0.5 on every seed
  assert kept.margin.threshold == domain.MIN_EFFECT_NATS
  forgets = domain_fewshot.fewshot_keeps_general(fewshot(0.4, 0.0, 0.1, 0.2, 0.3,
                                                         base_heldout=0.3))
  assert forgets.verdict == CONTRADICTED  # 0.3 -> 0.5: general loss rose by 0.2
  noisy = fewshot(0.4, 0.0, 0.1, 0.2, 0.3, base_heldout=0.5)
  noisy["fewshot"]["64"]["heldout"] = s(0.5, NOISE)
  assert domain_fewshot.fewshot_keeps_general(noisy).verdict == INCONCLUSIVE


def test_fewshot_keeps_general_capabilities_reads_every_number_of_sequences():
  """Kept at 8 sequences, lost at 64: conditional on the number, naming both; kept at both:
  supported, decided by the size nearest the band's edge."""
  r = fewshot(0.4, 0.0, 0.1, 0.2, 0.3, base_heldout=0.5)
  r["fewshot"]["8"] = {"target": s(0.2), "heldout": s(0.5)}
  r["fewshot"]["64"]["heldout"] = s(0.7)
  depends = domain_fewshot.fewshot_keeps_general(r)
  assert depends.verdict == CONDITIONAL
  assert "kept at 8, lost at 64" in depends.condition
  assert "8 sequences" in depends.evidence and "64 sequences" in depends.evidence
  r["fewshot"]["64"]["heldout"] = s(0.5 + domain.MIN_EFFECT_NATS / 2)
  both = domain_fewshot.fewshot_keeps_general(r)
  assert both.verdict == SUPPORTED and "(64)" in both.margin.name
  r["fewshot"]["8"]["heldout"] = s(0.5, NOISE)
  unclear = domain_fewshot.fewshot_keeps_general(r)
  assert unclear.verdict == INCONCLUSIVE and "8 sequences" in unclear.condition


def test_dapt_transfer_to_a_target_unseen_in_pretraining_every_outcome():
  """The seed's reading: the target after the same finetuning, with DAPT against without."""
  assert domain_fewshot.dapt_transfers(fewshot(0.4, 0.0, 0.1, 0.2, 0.3)).verdict == SUPPORTED
  assert domain_fewshot.dapt_transfers(fewshot(0.4, 0.0, 0.1, 0.4, 0.3)).verdict == CONTRADICTED
  noisy = fewshot(0.4, 0.0, 0.1, 0.3, 0.3)
  noisy["dapt"]["none"]["after"]["target"] = s(0.3, NOISE)
  assert domain_fewshot.dapt_transfers(noisy).verdict == INCONCLUSIVE
  assert "unseen in pretraining" in domain_fewshot.dapt_transfers(noisy).evidence


def test_dapt_transfer_beyond_the_target_is_ours_and_every_outcome():
  def with_heldout(after_dapt, after_none):
    r = fewshot(0.4, 0.0, 0.1, 0.2, 0.3)
    r["dapt"]["dapt_target_genre"]["after"]["heldout"] = s(after_dapt)
    r["dapt"]["none"]["after"]["heldout"] = s(after_none)
    return r
  beyond = domain_fewshot.dapt_transfers_beyond_target
  assert beyond(with_heldout(0.4, 0.5)).verdict == SUPPORTED
  assert beyond(with_heldout(0.6, 0.5)).verdict == CONTRADICTED
  noisy = with_heldout(0.5, 0.5)
  noisy["dapt"]["none"]["after"]["heldout"] = s(0.5, NOISE)
  assert beyond(noisy).verdict == INCONCLUSIVE
  ours = [c.sources for c in domain.STUDY_CLAIMS["fewshot"] if "neither pretraining" in c.statement]
  assert ours == [("ours",)]
