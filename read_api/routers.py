"""Every router of the read API."""

from fastapi import APIRouter

from read_api import categories, inventory, products

ROUTERS: list[APIRouter] = [products.router, categories.router, inventory.router]
