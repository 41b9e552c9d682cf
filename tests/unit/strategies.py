"""Hypothesis strategies for catalog contracts."""

from decimal import Decimal

from hypothesis import strategies as st

from schemas.catalog import CreateProduct

money = st.decimals(min_value=Decimal(0), max_value=Decimal("99999.99"), places=2)
skus = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
printable = st.characters(blacklist_categories=("Cc", "Cs"))
key_characters = st.characters(blacklist_categories=("Cc", "Cs", "Zs"), blacklist_characters="$.")
names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 \-]{0,30}[A-Za-z0-9]?", fullmatch=True)


@st.composite
def create_products(draw: st.DrawFn, sku: st.SearchStrategy[str] = skus) -> CreateProduct:
    price = draw(money)
    sale = draw(st.none() | st.decimals(min_value=Decimal(0), max_value=price, places=2))
    return CreateProduct(
        name=draw(names),
        description=draw(st.text(printable, max_size=80)),
        sku=draw(sku),
        price=price,
        sale_price=sale,
        images=draw(st.lists(st.text(key_characters, min_size=1, max_size=20), max_size=3)),
        attributes=draw(st.dictionaries(st.text(key_characters, min_size=1, max_size=8),
                                        st.text(printable, max_size=8), max_size=3)),
        stock_quantity=draw(st.integers(min_value=0, max_value=10_000)),
        is_active=draw(st.booleans()),
    )
