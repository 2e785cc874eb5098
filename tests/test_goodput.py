"""Goodput: Young/Daly checkpoint interval, failures, job chains; intervals from residuals."""

from __future__ import annotations

import math

import pytest

from capacity.errors import CapacityError
from capacity.goodput import LLAMA3_FAILURE_RATE, GoodputInputs, daly_interval_s, goodput
from capacity.uncertainty import band_for, interval


def test_llama3_failure_rate_is_419_in_54_days_on_16k_gpus():
    """Llama 3 (arXiv:2407.21783) Sec. 3.3.4: job MTBF ~ 54 x 24 / 419 = 3.1 h."""
    rate = LLAMA3_FAILURE_RATE.value
    assert 1 / (rate * 16384) == pytest.approx(54 * 24 / 419)


def test_daly_reduces_to_young_for_cheap_checkpoints():
    delta, mtbf = 1.0, 1e6
    young = math.sqrt(2 * delta * mtbf)
    assert daly_interval_s(delta, mtbf) == pytest.approx(young, rel=2e-3)
    assert daly_interval_s(3e6, 1e6) == 1e6  # checkpoint longer than 2 MTBF: interval = MTBF
    assert daly_interval_s(10, math.inf) == math.inf


def test_llama3_scale_goodput_is_about_ninety_percent():
    """Llama 3 reports >90 % effective training time at 16k GPUs (Sec. 3.3.4)."""
    g = goodput(n_gpus=16384, gpus_per_node=8, state_bytes=405e9 * 14, productive_h=1000)
    assert g.mtbf_h == pytest.approx(3.1, abs=0.05)
    assert 0.85 < g.ettr < 0.97
    assert g.ettr == pytest.approx(
        1 - g.checkpoint_fraction - g.failure_fraction - g.job_chain_fraction
    )


def test_small_jobs_lose_little_and_job_chains_are_counted():
    g = goodput(
        n_gpus=64,
        gpus_per_node=4,
        state_bytes=7e9 * 14,
        productive_h=500,
        inputs=GoodputInputs(job_wall_limit_h=24),
    )
    assert g.ettr > 0.98
    assert g.jobs == math.ceil(500 / g.ettr / 24)
    assert g.job_chain_fraction == pytest.approx((600 + g.checkpoint_write_s) / (24 * 3600))


def test_goodput_can_be_switched_off_and_worsens_with_scale():
    off = goodput(
        n_gpus=1024,
        gpus_per_node=8,
        state_bytes=1e12,
        productive_h=10,
        inputs=GoodputInputs(enabled=False),
    )
    assert off.ettr == 1.0
    small = goodput(n_gpus=1024, gpus_per_node=8, state_bytes=1e12, productive_h=10)
    big = goodput(n_gpus=16384, gpus_per_node=8, state_bytes=1e12, productive_h=10)
    assert big.ettr < small.ettr < 1


def test_failures_faster_than_restarts_cannot_progress():
    with pytest.raises(CapacityError, match="cannot make progress"):
        goodput(
            n_gpus=100_000,
            gpus_per_node=8,
            state_bytes=1e15,
            productive_h=10,
            inputs=GoodputInputs(failure_rate_per_gpu_h=1e-3, restart_min=60),
        )


def test_intervals_scale_with_the_stored_band(catalog):
    cal = catalog.efficiency["calibration"]
    band = band_for(cal)
    assert band is not None and band.ratio_p10 < band.ratio_p90
    iv = interval(100.0, band)
    assert iv is not None and iv.p10 == pytest.approx(100 * band.ratio_p10)
    measured = band_for(cal, measured=True)
    assert measured is not None
    assert measured.ratio_p90 / measured.ratio_p10 < band.ratio_p90 / band.ratio_p10
    assert "published runs" in band.explanation
    fixed = band_for(cal, layout_given=True)
    assert fixed is not None and fixed.ratio_p10 < 1 < fixed.ratio_p90
