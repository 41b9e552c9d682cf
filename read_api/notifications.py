"""GET /api/v1/notifications: the emails the platform sent, for staff."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from projections.notifications.read_models import NOTIFICATIONS
from read_api.deps import ReadSideDep
from runtime.auth import Principal, Role
from runtime.deps import require_roles
from runtime.personal_data import SealedField
from runtime.problems import problems
from schemas.api import Page, Pagination
from schemas.notifications import NotificationListQuery, NotificationView

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications (queries)"])
Staff = Annotated[Principal, Depends(require_roles(Role.ADMIN, Role.ORDER_MANAGER))]


@router.get("", response_model=Page[NotificationView], responses=problems(401, 403, 422, 503),
            summary="Emails sent, newest first, of one customer with `customer` (staff; "
                    "an erased customer's show no address or subject)")
async def list_notifications(query: Annotated[NotificationListQuery, Query()],
                             principal: Staff, read: ReadSideDep,
                             response: Response) -> Page[NotificationView]:
    documents, total = await read.models.get(NOTIFICATIONS).page(query)
    sealed = [SealedField(d.customer_id, field, value) for d in documents
              for field, value in (("email", d.recipient), ("subject", d.subject))
              if value is not None]
    opened = dict(zip([(s.sealed) for s in sealed], await read.personal.unseal_many(sealed),
                      strict=True))
    views = [NotificationView(
        **d.model_dump(exclude={"recipient", "subject", "version", "position"}),
        recipient=opened.get(d.recipient) if d.recipient else None,
        subject=opened.get(d.subject) if d.subject else None) for d in documents]
    response.headers["Cache-Control"] = "private, no-store"
    return Page[NotificationView](data=views,
                                  pagination=Pagination.of(query.page, query.limit, total))
