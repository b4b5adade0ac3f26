"""The work-budget helper the performance guards use: it counts Vigil's code only, and stops at the limit."""

from __future__ import annotations

import pytest

from tests.work_budget import WorkBudgetExceeded, call_budget, line_budget
from vigil.analyzers.os.rpm import split_sourcerpm


def test_counts_vigil_code_only_and_stops_at_the_limit() -> None:
    with line_budget(10**6) as outside:
        sorted(str(i) for i in range(1000))  # not Vigil's code
    assert outside.used == 0
    with line_budget(10**6) as one:
        split_sourcerpm("bash-5.1.8-4.el9.src.rpm")
    with call_budget(10**6) as calls:
        split_sourcerpm("bash-5.1.8-4.el9.src.rpm")
    assert one.used > 0
    with line_budget(10**6) as ten:
        for _ in range(10):
            split_sourcerpm("bash-5.1.8-4.el9.src.rpm")
    assert ten.used == 10 * one.used
    with pytest.raises(WorkBudgetExceeded), line_budget(5 * one.used):
        while True:
            split_sourcerpm("bash-5.1.8-4.el9.src.rpm")
    assert calls.used == 1
