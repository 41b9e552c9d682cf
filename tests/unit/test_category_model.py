"""Stateful: category commands against a simple model of the tree, with the projection
(and the tree built from it) replayed after every step."""

from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from commands.catalog.application import CatalogApplication
from commands.catalog.category import Category
from commands.errors import CategoryCycle, DomainError, DuplicateSlug, UnknownCategory
from projections.catalog.categories import fold_categories
from schemas.categories import CreateCategory, MoveCategory, RenameCategory, category_tree
from tests.unit.test_product_aggregate import META, new_catalog

SLUGS = st.sampled_from(["tea", "coffee", "cups", "kettles"])
NAMES = st.sampled_from(["Tea", "Coffee", "Cups"])


class CategoryModel(RuleBasedStateMachine):
    categories = Bundle("categories")

    def __init__(self) -> None:
        super().__init__()
        self.catalog: CatalogApplication = new_catalog()
        self.model: dict[UUID, dict[str, Any]] = {}

    def slug_owner(self, slug: str) -> UUID | None:
        return next((i for i, c in self.model.items() if c["slug"] == slug), None)

    def live(self, category_id: UUID | None) -> bool:
        return category_id is None or not self.model[category_id]["archived"]

    def ancestors(self, category_id: UUID | None) -> list[UUID]:
        chain = []
        while category_id is not None:
            chain.append(category_id)
            category_id = self.model[category_id]["parent_id"]
        return chain

    def run(self, error: type[DomainError] | None, action: Any) -> bool:
        try:
            action()
        except DomainError as raised:
            assert error is not None and isinstance(raised, error), repr(raised)
            return False
        assert error is None, f"expected {error.__name__}"
        return True

    @rule(target=categories, name=NAMES, slug=SLUGS, parent=st.none() | categories)
    def create(self, name: str, slug: str, parent: UUID | None) -> UUID | None:
        error = (UnknownCategory if not self.live(parent)
                 else DuplicateSlug if self.slug_owner(slug) else None)
        created: list[UUID] = []
        command = CreateCategory(name=name, slug=slug, parent_id=parent)
        if not self.run(error, lambda: created.append(
                self.catalog.create_category(command, META).aggregate_id)):
            return None
        self.model[created[0]] = {"name": name, "slug": slug, "parent_id": parent,
                                  "archived": False}
        return created[0]

    @rule(category=categories, name=st.none() | NAMES, slug=st.none() | SLUGS)
    def rename(self, category: UUID | None, name: str | None, slug: str | None) -> None:
        if category is None or (name is None and slug is None):
            return
        owner = self.slug_owner(slug) if slug else None
        error = DuplicateSlug if owner not in (None, category) else None
        command = RenameCategory(name=name, slug=slug)
        if self.run(error, lambda: self.catalog.rename_category(category, command, None, META)):
            self.model[category].update({k: v for k, v in (("name", name), ("slug", slug)) if v})

    @rule(category=categories, parent=st.none() | categories)
    def move(self, category: UUID | None, parent: UUID | None) -> None:
        if category is None:
            return
        error = (UnknownCategory if not self.live(parent)
                 else CategoryCycle if category in self.ancestors(parent) else None)
        command = MoveCategory(parent_id=parent)
        if self.run(error, lambda: self.catalog.move_category(category, command, None, META)):
            self.model[category]["parent_id"] = parent

    @rule(category=categories)
    def archive(self, category: UUID | None) -> None:
        if category is not None:
            self.catalog.archive_category(category, None, META)
            self.model[category]["archived"] = True

    @invariant()
    def write_side_matches(self) -> None:
        for category_id, expected in self.model.items():
            category = self.catalog.repository.get(category_id)
            assert isinstance(category, Category)
            assert {k: getattr(category, k) for k in expected} == expected

    @invariant()
    def replayed_projection_and_tree_match(self) -> None:
        events = [e for n in self.catalog.notifications(0, 100_000)
                  if (e := self.catalog.envelope(n))]
        changed, rejected = fold_categories({}, events)
        assert rejected == []
        documents = [doc for doc, _ in changed.values()]
        assert {d.id: {"name": d.name, "slug": d.slug, "parent_id": d.parent_id,
                       "archived": d.archived} for d in documents} == self.model

        def flatten(nodes: list[Any], parent: UUID | None) -> dict[UUID, UUID | None]:
            out: dict[UUID, UUID | None] = {}
            for node in nodes:
                out[node.id] = parent
                out.update(flatten(node.children, node.id))
            return out

        live_parent = {i: next((a for a in self.ancestors(c["parent_id"]) if self.live(a)), None)
                       for i, c in self.model.items() if not c["archived"]}
        assert flatten(category_tree(documents), None) == live_parent


TestCategoryModel = CategoryModel.TestCase
TestCategoryModel.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
