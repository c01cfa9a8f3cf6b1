"""Fixtures of the end-to-end tests: a seeded sandbox and the bot serving it.

The world itself is built in tests/e2e/build.py (see its docstring for the
people, the project and its pipeline).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.build import MakeWorld, worlds
from tests.e2e.world import World


@pytest.fixture
async def make_world() -> AsyncIterator[MakeWorld]:
    """Factory of worlds for one test, stopped after it."""
    async with worlds() as make:
        yield make


@pytest.fixture
async def world(make_world: MakeWorld) -> World:
    """A world with the default (hour-long) sweep interval."""
    return await make_world()
