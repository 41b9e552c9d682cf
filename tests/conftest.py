"""Fixtures shared by every test tier."""

from collections.abc import Iterator

import pytest

from tests.support.platform import Platform, embedded_platform, server_platform


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with embedded_platform(tmp_path_factory.mktemp("embedded")) as platform:
        yield platform


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with server_platform(tmp_path_factory.mktemp("server")) as platform:
        yield platform


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def platform(request: pytest.FixtureRequest) -> Platform:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]
