"""Choosing the answer: the Prefer directive, the per-key table and seeded ratios, in that order.

How the words themselves are parsed and refused is in test_directives.py."""

from __future__ import annotations

import pytest

from mockserver.config import KeyRule, MockConfig
from mockserver.engine.directives import Directive, parse_prefer
from mockserver.engine.variants import SeededRandom, VariantChooser


def chooser(**config):
    return VariantChooser(MockConfig(**config), SeededRandom(5))


def test_a_directive_that_chooses_nothing_leaves_the_choice_to_the_next_layer():
    c = chooser(processing_ratio=0.0, keys={"k": KeyRule(variant="failed")})
    assert c.from_prefer(parse_prefer("delay=1, webhook=drop")) is None
    assert c.choose(parse_prefer("delay=1"), "k", {}).variant == "failed"


def test_prefer_error_alone_means_the_error_variant_with_that_error():
    got = chooser().choose(parse_prefer("error=server"), "k", {})
    assert (got.variant, got.error, got.source) == ("error", "server", "prefer")


def test_the_key_table_reads_the_same_words():
    c = chooser(processing_ratio=0.0, keys={"e": KeyRule(error="model_not_found"), "q": KeyRule(eta="2s")})
    assert (c.choose(Directive(), "e", {}).variant, c.choose(Directive(), "e", {}).error) == ("error", "model_not_found")
    queued = c.choose(Directive(), "q", {})
    assert (queued.variant, queued.eta, queued.source) == ("processing", 2.0, "key")


def test_prefer_beats_the_key_table_which_beats_ratios():
    c = chooser(processing_ratio=0.0, keys={"k": KeyRule(variant="failed")})
    assert c.choose(parse_prefer("variant=success"), "k", {}).variant == "success"
    assert c.choose(Directive(), "k", {}).variant == "failed"
    assert c.choose(Directive(), "other", {}).variant == "success"


def test_eta_alone_means_processing_and_variant_processing_draws_an_eta_in_range():
    c = chooser(eta_min=2.0, eta_max=3.0)
    assert c.choose(parse_prefer("eta=7"), "k", {}).variant == "processing"
    drawn = c.choose(parse_prefer("variant=processing"), "k", {})
    assert 2.0 <= drawn.eta <= 3.0


def test_hooks_sit_between_prefer_and_the_key_table():
    c = chooser(keys={"k": KeyRule(variant="failed")})
    c.hooks.append(lambda key, body: c.from_prefer(Directive(variant="error")) if body.get("prompt") == "x" else None)
    assert c.choose(Directive(), "k", {"prompt": "x"}).variant == "error"
    assert c.choose(Directive(), "k", {"prompt": "y"}).variant == "failed"


def test_ratios_are_reproducible_from_the_seed_and_close_to_the_configuration():
    def draws(seed):
        c = VariantChooser(MockConfig(processing_ratio=0.3, error_ratio=0.1, failed_ratio=0.2), SeededRandom(seed))
        return [c.from_ratios() for _ in range(2000)]

    first = draws(1)
    assert first == draws(1) and first != draws(2)
    share = {v: sum(c.variant == v for c in first) / len(first) for v in ("processing", "error", "failed", "success")}
    assert 0.25 < share["processing"] < 0.35 and 0.07 < share["error"] < 0.13
    queued_failures = sum(c.outcome == "failed" for c in first if c.variant == "processing")
    assert 0.1 < queued_failures / sum(c.variant == "processing" for c in first) < 0.3


def test_loguniform_etas_cover_the_realistic_range():
    c = VariantChooser(MockConfig(profile="realistic", eta_min=6.0, eta_max=150.0, eta_distribution="loguniform",
                                  processing_ratio=1.0), SeededRandom(3))
    etas = [c.from_ratios().eta for _ in range(500)]
    assert min(etas) >= 6.0 and max(etas) <= 150.0
    assert sum(e < 30 for e in etas) > sum(e > 120 for e in etas), "log-uniform: short waits are more common"


def test_reseed_restarts_the_sequence():
    rng = SeededRandom(11)
    first = [rng.draw(lambda r: r.random()) for _ in range(3)]
    rng.reseed()
    assert [rng.draw(lambda r: r.random()) for _ in range(3)] == first


def test_a_key_rule_with_only_an_outcome_keeps_the_drawn_variant_and_sets_how_jobs_end():
    c = chooser(processing_ratio=1.0, eta_min=1.0, eta_max=2.0, keys={"k": KeyRule(outcome="failed")})
    got = c.choose(Directive(), "k", {})
    assert (got.variant, got.outcome, got.source) == ("processing", "failed", "key")
    assert 1.0 <= got.eta <= 2.0


def test_a_key_rule_with_only_an_error_answers_that_error():
    got = chooser(processing_ratio=1.0, keys={"k": KeyRule(error="invalid_api_key")}).choose(Directive(), "k", {})
    assert (got.variant, got.error, got.eta, got.source) == ("error", "invalid_api_key", None, "key")


def test_a_key_rule_that_says_nothing_leaves_the_ratios_to_choose():
    got = chooser(processing_ratio=0.0, keys={"k": KeyRule(valid=True)}).choose(Directive(), "k", {})
    assert (got.variant, got.source) == ("success", "ratio")


@pytest.mark.parametrize("header, eta", [("eta=0", 0.0), ("eta=0.5", 0.5), ("eta=500ms", 0.5)])
def test_a_short_or_zero_eta_is_a_queued_job_with_that_eta(header, eta):
    got = chooser().choose(parse_prefer(header), "k", {})
    assert (got.variant, got.eta, got.source) == ("processing", eta, "prefer")


def test_prefer_outcome_alone_succeeds_now_and_prefer_code_keeps_its_status():
    failed_later = chooser(processing_ratio=0.0).choose(parse_prefer("outcome=failed"), "k", {})
    assert (failed_later.variant, failed_later.outcome) == ("success", "failed")
    coded = chooser().choose(parse_prefer("code=429, example=rate_limit, dynamic, seed=9"), "k", {})
    assert (coded.code, coded.example, coded.dynamic, coded.dynamic_seed) == (429, "rate_limit", True, 9)


def test_a_processing_variant_from_the_key_table_draws_an_eta_in_range():
    c = chooser(processing_ratio=0.0, eta_min=4.0, eta_max=5.0, keys={"k": KeyRule(variant="processing")})
    got = c.choose(Directive(), "k", {})
    assert got.variant == "processing" and 4.0 <= got.eta <= 5.0


def test_the_ratio_boundaries():
    """error_ratio first, then processing_ratio, of one uniform draw; failed_ratio of a second one."""
    assert {chooser(error_ratio=1.0, processing_ratio=0.0).from_ratios().variant for _ in range(20)} == {"error"}
    assert chooser(error_ratio=1.0, processing_ratio=0.0).from_ratios().error == "rate_limit"
    assert {chooser(processing_ratio=1.0).from_ratios().variant for _ in range(20)} == {"processing"}
    assert {chooser(processing_ratio=0.0, failed_ratio=1.0).from_ratios().variant for _ in range(20)} == {"failed"}
    assert {chooser(processing_ratio=0.0).from_ratios().variant for _ in range(20)} == {"success"}


def test_a_loguniform_eta_with_a_zero_minimum_falls_back_to_uniform():
    c = VariantChooser(MockConfig(eta_min=0.0, eta_max=1.0, eta_distribution="loguniform", processing_ratio=1.0),
                       SeededRandom(2))
    assert all(0.0 <= c.from_ratios().eta <= 1.0 for _ in range(50))


def test_a_seed_is_drawn_when_none_is_given_and_reseed_can_change_it():
    rng = SeededRandom(None)
    assert 0 <= rng.seed < 2**31
    rng.reseed(42)
    first = rng.draw(lambda r: r.random())
    assert rng.seed == 42 and SeededRandom(42).draw(lambda r: r.random()) == first


def test_a_key_rule_that_only_sets_the_outcome_keeps_the_seeded_draw():
    """Replays stay the same: the variant and eta are the ratios' own, only how the job ends changes."""
    keyed = chooser(processing_ratio=1.0, keys={"k": KeyRule(outcome="failed")}).choose(Directive(), "k", {})
    plain = chooser(processing_ratio=1.0).from_ratios()
    assert (keyed.variant, keyed.eta) == (plain.variant, plain.eta)


def test_hooks_see_the_key():
    c = chooser(processing_ratio=0.0)
    c.hooks.append(lambda key, body: c.from_prefer(Directive(variant="failed")) if key == "ci" else None)
    assert c.choose(Directive(), "ci", {}).variant == "failed"
    assert c.choose(Directive(), "other", {}).variant == "success"


def test_a_queued_job_ends_in_success_unless_told_otherwise():
    assert chooser().choose(parse_prefer("variant=processing"), "k", {}).outcome == "success"
    assert chooser(processing_ratio=1.0, failed_ratio=0.0).from_ratios().outcome == "success"
    failed = chooser(processing_ratio=0.0, failed_ratio=1.0).from_ratios()
    assert (failed.variant, failed.outcome) == ("failed", "failed")


def test_loguniform_etas_start_above_zero_and_favour_short_waits():
    c = VariantChooser(MockConfig(eta_min=0.5, eta_max=500.0, eta_distribution="loguniform", processing_ratio=1.0),
                       SeededRandom(4))
    etas = [c.from_ratios().eta for _ in range(400)]
    assert sum(e < 10 for e in etas) / len(etas) > 0.3, "about 43% below 10 s; uniform would give 2%"


def test_a_drawn_seed_is_a_31_bit_number():
    seeds = [SeededRandom(None).seed for _ in range(24)]
    assert all(0 <= s < 2**31 for s in seeds) and max(seeds) > 2**20
