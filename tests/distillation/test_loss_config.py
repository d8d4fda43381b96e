"""The loss settings: ranges, defaults, factor."""

import pytest

from topk_distill.distillation.loss_config import LossConfig


@pytest.mark.parametrize("settings, message", [
    (dict(alpha=0.5, beta=0.1), "alpha=0.5; expected 0.5 < alpha < 1"),
    (dict(alpha=1.0, beta=0.1), "alpha=1.0; expected 0.5 < alpha < 1"),
    (dict(alpha=0.8, beta=0.9), "beta=0.9; expected 0 <= beta <= alpha=0.8"),
    (dict(alpha=0.8, beta=-0.1), "beta=-0.1"),
    (dict(temperature=0.0), "temperature=0.0; expected > 0"),
    (dict(soft_scaling="t3"), "soft_scaling='t3'"),
    (dict(tail="drop"), "tail='drop'"),
])
def test_out_of_range_settings_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        LossConfig(**settings)


def test_strict_false_lifts_the_ranges_but_not_the_signs():
    loose = LossConfig(alpha=0.3, beta=0.9, strict=False)
    assert (loose.alpha, loose.beta) == (0.3, 0.9)
    with pytest.raises(ValueError, match="expected 0 <= alpha <= 1"):
        LossConfig(alpha=1.5, strict=False)


@pytest.mark.parametrize("scaling, temperature, factor", [
    ("inverse_t", 2.0, 0.5), ("t2", 2.0, 4.0), ("inverse_t", 4.0, 0.25)])
def test_soft_factor(scaling, temperature, factor):
    assert LossConfig(temperature=temperature,
                      soft_scaling=scaling).soft_factor == factor
