"""What `tanqory serve` does once the embedded platform is up: seed, then say where to look."""

import asyncio
from collections.abc import Awaitable, Callable

import typer

from commands.catalog.application import CatalogApplication
from projections.catalog.read_models import PRODUCTS
from read_api.consistency import wait_until_visible
from runtime.settings import Settings
from schemas.catalog import ProductListQuery
from tanqory.demo import seed_demo_products
from tanqory.embedded import Embedded


def announce_and_seed(settings: Settings, demo: bool) -> Callable[[Embedded], Awaitable[None]]:
    async def on_ready(parts: Embedded) -> None:
        if demo:
            catalog = parts.applications[CatalogApplication.name]
            assert isinstance(catalog, CatalogApplication)
            created = await asyncio.to_thread(seed_demo_products, catalog)
            if created:
                await wait_until_visible(parts.read, created[-1].token, timeout=10)
        base = f"http://{settings.host}:{settings.port}"
        sample, _ = await parts.read.models.get(PRODUCTS).page(ProductListQuery(limit=1))
        lines = [
            "Tanqory Commerce Platform (embedded mode) is running:",
            f"  API docs      {base}/api/docs",
            f"  Products      {base}/api/v1/products",
        ]
        if sample:
            lines.append(f"  A product     {base}/api/v1/products/{sample[0].id}")
        lines += [
            f"  Health        {base}/health",
            f"  Data          {settings.data_dir.resolve()}",
            "  Write with a token from: tanqory token --role product_manager",
        ]
        typer.echo("\n".join(lines))

    return on_ready
