from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from app.auth.deps import allowed
from app.auth.roles import Action, Caller
from app.kit.db import ReadSession, WriteSession
from app.kit.openapi import problems
from app.kit.paging import MAX_ID, PageLimit, RowId
from app.kit.routes import api_router
from app.webhooks import service
from app.webhooks.schemas import (
    DeliveryOut,
    DeliveryPage,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EndpointWithSecret,
    RecoverIn,
    RecoverOut,
)

router = api_router(prefix="/v1", tags=["webhooks"])

Manager = Annotated[Caller, Depends(allowed(Action.webhooks_manage))]


@router.post("/webhook-endpoints", status_code=201, response_model=EndpointWithSecret)
def create_webhook_endpoint(body: EndpointIn, caller: Manager, session: WriteSession):
    """Subscribe a URL to event types; the answer carries the signing secret, shown only once."""
    endpoint, secret = service.create_endpoint(session, caller, body)
    return service.endpoint_out(endpoint, secret)


@router.get("/webhook-endpoints", response_model=list[EndpointOut])
def list_webhook_endpoints(caller: Manager, session: ReadSession):
    return [service.endpoint_out(e) for e in service.list_endpoints(session, caller)]


@router.get("/webhook-endpoints/{endpoint_id}", response_model=EndpointOut, responses=problems(404))
def get_webhook_endpoint(endpoint_id: RowId, caller: Manager, session: ReadSession):
    return service.endpoint_out(service.get_endpoint(session, caller, endpoint_id))


@router.patch("/webhook-endpoints/{endpoint_id}", response_model=EndpointOut, responses=problems(404))
def update_webhook_endpoint(endpoint_id: RowId, body: EndpointPatch, caller: Manager, session: WriteSession):
    return service.endpoint_out(service.update_endpoint(session, caller, endpoint_id, body))


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204, responses=problems(404))
def delete_webhook_endpoint(endpoint_id: RowId, caller: Manager, session: WriteSession):
    service.delete_endpoint(session, caller, endpoint_id)
    return Response(status_code=204)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret,
             responses=problems(404))
def rotate_webhook_secret(endpoint_id: RowId, caller: Manager, session: WriteSession):
    """A new secret (shown once); the old one keeps signing beside it for the grace period."""
    endpoint, secret = service.rotate_secret(session, caller, endpoint_id)
    return service.endpoint_out(endpoint, secret)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", response_model=DeliveryPage, responses=problems(404))
def list_webhook_deliveries(
    endpoint_id: RowId,
    caller: Manager,
    session: ReadSession,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
    limit: PageLimit = 50,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    items, next_cursor = service.list_deliveries(session, caller, endpoint_id, status=status, limit=limit,
                                                 cursor=cursor)
    return DeliveryPage(items=items, next_cursor=next_cursor)


@router.post("/deliveries/{delivery_id}/redeliver", status_code=202, response_model=DeliveryOut,
             responses=problems(404, 409))
def redeliver_webhook_delivery(delivery_id: RowId, caller: Manager, session: WriteSession):
    """Queue a finished delivery again; it goes out with the same ``webhook-id``."""
    delivery = service.redeliver(session, caller, delivery_id)
    return service.describe(session, [delivery])[0]


@router.post("/webhook-endpoints/{endpoint_id}/recover", status_code=202, response_model=RecoverOut,
             responses=problems(404))
def recover_webhook_deliveries(endpoint_id: RowId, body: RecoverIn, caller: Manager, session: WriteSession):
    """Queue again every failed delivery of the endpoint created since ``since``."""
    return RecoverOut(requeued=service.recover(session, caller, endpoint_id, body.since))
