"""Fixtures of the observability tests: one recorded full run, shared."""

from __future__ import annotations

import pytest

from tests.observability.flow import FlowRecord, run_flow


@pytest.fixture(scope="session")
def flow() -> FlowRecord:
    """The full end-to-end run, made once for every test that reads it."""
    return run_flow()
