"""What `tanqory replay`/`rebuild` work on, and where the analytics facts' builds live."""

import pytest

from projections.stores.facts_sql import build_database
from tanqory.replaying import known


def test_build_one_of_the_facts_is_the_archives_database_and_the_others_their_own() -> None:
    assert build_database("tanqory", 1) == "tanqory"
    assert build_database("tanqory", 2) == "tanqory__2"
    assert build_database("t1234", 12) == "t1234__12"


def test_the_projections_are_the_read_models_the_facts_and_the_history() -> None:
    for name in ("products", "orders", "analytics_facts", "analytics"):
        known(name)
    with pytest.raises(LookupError, match="analytics_facts, categories"):
        known("nothing")
