"""Search terms the product stores keep with each product, and how a query maps onto them.

Works on any store with a multikey index (no text indexes: FerretDB has none). Words of
the name and SKU are stored with every prefix, so a
query matches as you type; words of the description match whole.
"""

import re
import unicodedata

MAX_TERMS = 400
_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """Lower-case words without accents: 'Café Crème' -> ['cafe', 'creme']."""
    if text.isascii():  # nothing to decompose or strip, and casefold() is lower() there
        return _WORD.findall(text.lower())
    return _unaccented_words(text)


def _unaccented_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(plain)


def _prefixes(word: str) -> list[str]:
    return [word[:n] for n in range(1, min(len(word), 30) + 1)]


def search_terms(name: str, sku: str, description: str) -> list[str]:
    terms: dict[str, None] = {}
    for text in (name, sku):
        for word in words(text):
            terms.update(dict.fromkeys(_prefixes(word)))
    for word in words(description):
        terms.setdefault(word[:30])
    return list(terms)[:MAX_TERMS]


def query_terms(search: str) -> list[str]:
    """What a product's terms must all contain to match `search` (at most 10 words)."""
    return list(dict.fromkeys(w[:30] for w in words(search)))[:10]
