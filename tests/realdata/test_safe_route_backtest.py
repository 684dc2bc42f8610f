"""Backtest of the safe route on real Chicago data (bench/bench_safe_route_backtest.py does the work):
routes chosen with May-August 2018 incidents must be less exposed than the shortest routes on the
held-out September-November incidents, within the detour budget. ``make bench`` writes the figures
to bench/results/safe_route_backtest.json."""

from __future__ import annotations

import json

import pytest

from bench.bench_safe_route_backtest import DETOUR, backtest

pytestmark = pytest.mark.slow


def test_recommended_route_is_less_exposed_on_held_out_months(chicago_run):
    result = backtest(chicago_run["warehouse"])
    print("\nsafe-route backtest:", json.dumps({k: v for k, v in result.items() if k != "rows"}))
    assert result["pairs"] >= 40
    assert result["held_out_mean_reduction_pct"] > 0
    assert result["held_out_total_reduction_pct"] > 0
    assert result["held_out_share_better_pct"] > 50      # lower held-out exposure for most pairs, not just on average
    assert result["max_detour_pct"] <= DETOUR * 100 + 1e-6
