"""Every PostgreSQL connection gets generic plans and ISO dates, unless its URL's options say
otherwise (``store.engine``)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from streampanel.store.engine import create_store_engine


def _server_url(store_kind: str, request: pytest.FixtureRequest) -> str:
    if store_kind != "postgresql":
        pytest.skip("PostgreSQL's session settings")
    return str(request.getfixturevalue("postgres_server_url"))


def _settings(url: str) -> tuple[str, str]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            plans = conn.execute(text("SHOW plan_cache_mode")).scalar_one()
            dates = conn.execute(text("SHOW DateStyle")).scalar_one()
    finally:
        engine.dispose()
    return plans, dates


def test_connections_get_generic_plans_and_iso_dates(
    store_kind: str, request: pytest.FixtureRequest
) -> None:
    plans, dates = _settings(_server_url(store_kind, request))
    assert plans == "force_generic_plan"
    assert dates.startswith("ISO")


def test_the_urls_own_options_win(store_kind: str, request: pytest.FixtureRequest) -> None:
    options = "?options=-c%20plan_cache_mode%3Dauto%20-c%20DateStyle%3DISO,DMY"
    plans, dates = _settings(_server_url(store_kind, request) + options)
    assert plans == "auto"
    assert dates == "ISO, DMY"
