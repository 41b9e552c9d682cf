"""Server mode's read models as tests look at them under the API: in MongoDB's database or
PostgreSQL's schemas, whichever `TANQORY_READ_STORE` chose."""

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from pymongo import MongoClient
from pymongo.database import Database

from projections.stores.postgres import SCHEMA, drop_schemas_now
from runtime.settings import ReadStore, Settings

Document = dict[str, Any]


def _name(model: str, build: int) -> str:
    """Build N's collection (MongoDB) of a model; PostgreSQL's is in a schema of its own."""
    return model if build == 1 else f"{model}__{build}"


def _schema(build: int) -> str:
    return SCHEMA if build == 1 else f"{SCHEMA}__{build}"


@contextmanager
def _mongo(settings: Settings) -> Iterator[Database[Document]]:
    client: MongoClient[Document]
    with MongoClient(settings.mongo_uri, timeoutMS=60_000) as client:
        yield client[settings.mongo_db]


def _on_postgres(settings: Settings) -> bool:
    return settings.read_store is ReadStore.POSTGRES


def pointer(settings: Settings, model: str) -> dict[str, Any]:
    """A read model's (or the analytics facts') live build and build in progress, as its
    pointer record says (build 1 and none without one)."""
    if _on_postgres(settings):
        with psycopg.connect(settings.postgres_dsn) as conn:
            row = conn.execute(f"SELECT live, building FROM {SCHEMA}.read_model_builds "
                               "WHERE model = %s",
                               (model,)).fetchone() if _has_pointers(conn) else None
        return {"live": row[0], "building": row[1]} if row else {"live": 1, "building": None}
    with _mongo(settings) as db:
        found = db["read_model_builds"].find_one({"_id": model})
    return ({"live": found["live"], "building": found["building"]} if found
            else {"live": 1, "building": None})


def _has_pointers(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s "
                       "AND tablename = 'read_model_builds'", (SCHEMA,)).fetchone()
    return row is not None and row[0] == 1


def live_build(settings: Settings, model: str) -> int:
    return int(pointer(settings, model)["live"])


def build_exists(settings: Settings, model: str, build: int) -> bool:
    """Whether the model's collection or table of `build` exists."""
    if _on_postgres(settings):
        with psycopg.connect(settings.postgres_dsn) as conn:
            row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s "
                               "AND tablename = %s", (_schema(build), model)).fetchone()
        return row is not None and row[0] == 1
    with _mongo(settings) as db:
        return _name(model, build) in db.list_collection_names()


def documents(settings: Settings, model: str, build: int = 1) -> dict[str, Document]:
    """Every stored document of the model's build, by id (as JSON: dates as text)."""
    if _on_postgres(settings):
        with psycopg.connect(settings.postgres_dsn) as conn:
            rows = conn.execute(f'SELECT id, doc FROM "{_schema(build)}".{model}').fetchall()
        return {key: json.loads(doc) for key, doc in rows}
    with _mongo(settings) as db:
        return {d["_id"]: d for d in db[_name(model, build)].find({})}


def count(settings: Settings, model: str, keys: Sequence[str] | None = None) -> int:
    """How many documents the model's live build (build 1) holds, or holds of `keys`."""
    if _on_postgres(settings):
        where, params = ("WHERE id = ANY(%s)", (list(keys),)) if keys is not None else ("", ())
        with psycopg.connect(settings.postgres_dsn) as conn:
            row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.{model} {where}",
                               params).fetchone()
        return int(row[0]) if row else 0
    with _mongo(settings) as db:
        return db[model].count_documents({} if keys is None else {"_id": {"$in": list(keys)}})


def drop(settings: Settings) -> None:
    """Drops the read models, every build of them."""
    if _on_postgres(settings):
        drop_schemas_now(settings.postgres_dsn, SCHEMA)
        return
    client: MongoClient[Document]
    with MongoClient(settings.mongo_uri) as client:
        client.drop_database(settings.mongo_db)


def document(settings: Settings, model: str, key: str, build: int = 1) -> Document | None:
    """One stored document of the model's build, None if absent."""
    if _on_postgres(settings):
        with psycopg.connect(settings.postgres_dsn) as conn:
            row = conn.execute(f'SELECT doc FROM "{_schema(build)}".{model} WHERE id = %s',
                               (key,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))
    with _mongo(settings) as db:
        return db[_name(model, build)].find_one({"_id": key})


def garble(settings: Settings, model: str, key: str, field: str, value: str, build: int = 1
           ) -> None:
    """Sets a text field of a stored document in place, its version kept (as a bad write or
    a bad restore would leave it); a column of that name too (PostgreSQL)."""
    if _on_postgres(settings):
        with psycopg.connect(settings.postgres_dsn) as conn:
            conn.execute(f'UPDATE "{_schema(build)}".{model} SET {field} = %s, '
                         f"doc = jsonb_set(doc::jsonb, %s, to_jsonb(%s::text))::text "
                         "WHERE id = %s", (value, [field], value, key))
        return
    with _mongo(settings) as db:
        db[_name(model, build)].update_one({"_id": key}, {"$set": {field: value}})


def texts(settings: Settings) -> dict[str, str]:
    """Every collection or table of the read models (build 1) as text, by name
    ("read model customers"), to look for values at rest."""
    if _on_postgres(settings):
        with psycopg.connect(settings.postgres_dsn) as conn:
            tables = [t for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,))]
            return {f"read model {t}": repr(conn.execute(f'SELECT * FROM {SCHEMA}."{t}"')
                                            .fetchall()) for t in tables}
    from bson import json_util

    with _mongo(settings) as db:
        return {f"read model {name}": json_util.dumps(list(db[name].find()))
                for name in db.list_collection_names()}
