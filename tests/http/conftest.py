from __future__ import annotations

import pytest

from tests.http.helpers import TeamSchema


@pytest.fixture
def team_schema() -> TeamSchema:
    return TeamSchema()
