"""Category contracts: commands, events, read-model documents and views."""

import re
import unicodedata
from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.catalog import Name

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
Slug = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=100, pattern=rf"^{SLUG.pattern}$"),
]
CategoryName = Annotated[Name, StringConstraints(max_length=100)]


def slugify(text: str) -> str:
    """'Café & Tea' -> 'cafe-tea'; empty when nothing of `text` is ASCII-representable."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:100].strip("-")


class CreateCategory(BaseModel):
    """Command: create a category, at the root or under a parent."""

    model_config = ConfigDict(
        extra="forbid", frozen=True,
        json_schema_extra={"examples": [{"name": "Coffee gear", "slug": "coffee-gear"},
                                        {"name": "Grinders", "parent_id": None}]},
    )

    name: CategoryName
    # validate_default: the check below runs when the slug is left out, too.
    slug: Slug | None = Field(default=None, validate_default=True,
                              description="Derived from the name when absent")
    parent_id: UUID | None = None

    @field_validator("slug")
    @classmethod
    def _slug_or_derivable(cls, slug: str | None, info: ValidationInfo) -> str | None:
        """A field validator, so the error names slug (nothing to check if name is invalid)."""
        name = info.data.get("name")
        if slug is None and name is not None and not slugify(name):
            raise ValueError("no slug can be derived from this name: send a slug")
        return slug

    @property
    def effective_slug(self) -> str:
        return self.slug or slugify(self.name)


class RenameCategory(BaseModel):
    """Command: change a category's name and/or slug."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [{"name": "Coffee equipment"}]})

    name: CategoryName | None = None
    slug: Slug | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> "RenameCategory":
        if self.name is None and self.slug is None:
            raise ValueError("send a name, a slug or both")
        return self


class MoveCategory(BaseModel):
    """Command: put a category under another one (or at the root with null)."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [{"parent_id": None}]})

    parent_id: UUID | None


class CategoryCreated(BaseModel):
    """Event payload, catalog.CategoryCreated v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    slug: str
    parent_id: UUID | None


class CategoryRenamed(BaseModel):
    """Event payload, catalog.CategoryRenamed v1 (both values after the change)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    slug: str


class CategoryMoved(BaseModel):
    """Event payload, catalog.CategoryMoved v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parent_id: UUID | None


class CategoryDocument(BaseModel):
    """The categories read model: one document per category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    name: str
    slug: str
    parent_id: UUID | None
    archived: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    position: int = Field(ge=1)


class CategoryView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b7e8a52-56a4-4d8e-9c1e-5d7f0d2b8a11", "name": "Cups", "slug": "cups",
        "parent_id": None, "archived": False, "created_at": "2026-11-25T10:00:00Z",
        "updated_at": "2026-11-25T10:00:00Z", "version": 1}]})

    id: UUID
    name: str
    slug: str
    parent_id: UUID | None
    archived: bool
    created_at: datetime
    updated_at: datetime
    version: int


class CategoryNode(BaseModel):
    """One category in the tree, with its children."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "0b7e8a52-56a4-4d8e-9c1e-5d7f0d2b8a11", "name": "Coffee gear",
        "slug": "coffee-gear", "children": [{
            "id": "5d1c3f7e-2a4b-4c6d-8e9f-0a1b2c3d4e5f", "name": "Grinders",
            "slug": "grinders", "children": []}]}]})

    id: UUID
    name: str
    slug: str
    children: list["CategoryNode"]


def category_tree(documents: list[CategoryDocument]) -> list[CategoryNode]:
    """Live categories as a tree. A live category under an archived one hangs from its
    nearest live ancestor (or the root). Siblings are sorted by name."""
    by_id = {d.id: d for d in documents}

    def live_parent(doc: CategoryDocument) -> UUID | None:
        parent_id, seen = doc.parent_id, {doc.id}
        while parent_id is not None and parent_id in by_id and parent_id not in seen:
            parent = by_id[parent_id]
            if not parent.archived:
                return parent_id
            seen.add(parent_id)
            parent_id = parent.parent_id
        return None

    children: dict[UUID | None, list[CategoryDocument]] = {}
    for doc in documents:
        if not doc.archived:
            children.setdefault(live_parent(doc), []).append(doc)

    def nodes(parent: UUID | None) -> list[CategoryNode]:
        kids = sorted(children.get(parent, []), key=lambda d: (d.name, str(d.id)))
        return [CategoryNode(id=d.id, name=d.name, slug=d.slug, children=nodes(d.id))
                for d in kids]

    return nodes(None)


def view(document: CategoryDocument) -> CategoryView:
    return CategoryView(**document.model_dump(exclude={"position"}))


