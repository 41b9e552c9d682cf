"""Server mode with the read models in MongoDB (`TANQORY_READ_STORE=mongodb`; FerretDB
here, MongoDB 7 in docker-compose), which the rest of the suite leaves for the default
store: the same tests of products, listings, categories, stock, an order's whole way,
replay and a blue/green rebuild, collected again here on a platform of their own.

The stores themselves are held to one contract on every backend in tests/contract/."""

from collections.abc import Iterator

import pytest

from tests.e2e.test_categories_http import (
    test_a_rename_shows_in_every_listing_of_its_products_after_its_token,
)
from tests.e2e.test_inventory_http import (
    test_receipts_and_adjustments_move_stock_and_show_on_the_product,
)
from tests.e2e.test_listing_http import test_filters_by_search_category_price_and_status
from tests.e2e.test_orders_http import test_an_order_goes_from_placed_to_delivered
from tests.e2e.test_products_http import (
    test_create_then_read_your_write_by_id_and_in_the_listing,
    test_ready_reports_no_lag_once_the_projection_has_caught_up,
    test_the_by_id_read_is_cached_until_the_product_changes,
)
from tests.e2e.test_replay_rebuild_cli import (
    test_rebuild_cuts_readers_over_with_no_gap_and_drops_the_old_build,
    test_replay_of_one_aggregate_repairs_its_document_and_fires_nothing,
)
from tests.support.platform import Platform, server_platform

pytestmark = pytest.mark.server

__all__ = [
    "test_a_rename_shows_in_every_listing_of_its_products_after_its_token",
    "test_an_order_goes_from_placed_to_delivered",
    "test_create_then_read_your_write_by_id_and_in_the_listing",
    "test_filters_by_search_category_price_and_status",
    "test_ready_reports_no_lag_once_the_projection_has_caught_up",
    "test_rebuild_cuts_readers_over_with_no_gap_and_drops_the_old_build",
    "test_receipts_and_adjustments_move_stock_and_show_on_the_product",
    "test_replay_of_one_aggregate_repairs_its_document_and_fires_nothing",
    "test_the_by_id_read_is_cached_until_the_product_changes",
]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """This module's platform for every test above: the server, read models in MongoDB."""
    with server_platform(tmp_path_factory.mktemp("mongodb"),
                         TANQORY_READ_STORE="mongodb") as platform:
        assert platform.settings.read_store == "mongodb"
        yield platform
