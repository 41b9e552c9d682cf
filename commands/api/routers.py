"""Every router of the command API."""

from fastapi import APIRouter

from commands.api import categories, products

ROUTERS: list[APIRouter] = [products.router, categories.router]
