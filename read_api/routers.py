"""Every router of the read API."""

from fastapi import APIRouter

from read_api import categories, products

ROUTERS: list[APIRouter] = [products.router, categories.router]
