"""An event whose type no code here knows (written by a newer version, or a typo) is
dead-lettered with its reason in both modes; the pipeline goes on, `tanqory dlq list`
shows it and `tanqory dlq retry` re-drives it once."""

import json
import uuid

from eventsourcing.persistence import StoredEvent

from commands.catalog.application import CatalogApplication
from tests.e2e.test_product_lifecycle import new, visible
from tests.support.platform import Platform
from tests.support.waiting import wait_until

FOREIGN_TOPIC = "tanqory_future.gizmos:Gizmo.Assembled"


def store_foreign_event(platform: Platform) -> uuid.UUID:
    """Writes an event of a class this version does not have into the catalog's store, as
    a newer version of the platform sharing the store would."""
    gizmo = uuid.uuid4()
    state = {"originator_id": str(gizmo), "originator_version": 1,
             "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-27T10:00:00+00:00"},
             "meta": {"correlation_id": "from-the-future", "causation_id": "c",
                      "actor": {"subject": "newer-version", "roles": []}},
             "parts": 7}
    catalog = CatalogApplication(env=platform.settings.event_store_env)
    try:
        catalog.recorder.insert_events([StoredEvent(
            originator_id=gizmo, originator_version=1, topic=FOREIGN_TOPIC,
            state=json.dumps(state).encode())])
    finally:
        catalog.close()
    return gizmo


def letters(platform: Platform, summary: str) -> str:
    def listed() -> str | None:
        result = platform.cli("dlq", "list")
        assert result.returncode == 0, result.stderr
        return result.stdout if summary in result.stdout else None

    return wait_until(listed, 60, f"`tanqory dlq list` to say {summary!r}")


def test_an_unknown_event_is_dead_lettered_and_re_driven_once(platform: Platform) -> None:
    before = platform.cli("dlq", "list")
    assert before.returncode == 0, before.stderr
    known = int(before.stdout.strip().splitlines()[-1].split()[0])
    gizmo = store_foreign_event(platform)
    _, created = new(platform)
    visible(platform, created)  # what came after it is projected: the pipeline went on

    listed = letters(platform, f"{known + 1} dead letter(s)")
    assert f"GizmoAssembled v1 of Gizmo {gizmo}" in listed
    assert "error: unknown event type GizmoAssembled v1: no code here knows it" in listed

    retried = platform.cli("dlq", "retry")
    assert retried.returncode == 0, retried.stderr
    assert "re-drove" in retried.stdout and f"Gizmo {gizmo}" in retried.stdout
    again = letters(platform, f"{known + 2} dead letter(s)")  # refused again: a new letter
    assert again.count(f"Gizmo {gizmo}") == 2
    assert "0 not yet retried" not in again  # the new letter waits for the next retry
    verified = platform.cli("verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
