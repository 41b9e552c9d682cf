"""The catalog's unique keys: a product's SKU and a category's slug."""

from uuid import NAMESPACE_URL, uuid5

from commands.keys import KeyIndex


class SkuIndex(KeyIndex):
    namespace = uuid5(NAMESPACE_URL, "tanqory:catalog:sku")


class SlugIndex(KeyIndex):
    namespace = uuid5(NAMESPACE_URL, "tanqory:catalog:category-slug")
