"""`GET /crm/v8/org` — the organisation (the SDK reads `zgid` at start-up)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from secteur.api import openapi, responses
from secteur.api.deps import CallerDep, require_scope
from secteur.api.wire import etag, user_ref, when
from secteur.domain.scopes import Access, Category

router = APIRouter(tags=["Org"], responses=openapi.ERRORS)

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF"}


@router.get("/crm/v8/org", responses=openapi.found("org"), summary="The organisation")
def get_org(caller: CallerDep) -> Response:
    with caller.read() as (tx, actor):
        require_scope(actor, Category.ORG, None, Access.READ)
        org = tx.state.org
        # The primary user: the active administrator with the org's primary e-mail, else the
        # longest-standing active administrator (a deleted one is never shown).
        admins = sorted(
            (
                u
                for u in tx.state.directory.users.values()
                if u.active and tx.state.directory.profile_of(u).admin
            ),
            key=lambda u: (u.email.lower() != (org.primary_email or "").lower(), u.id),
        )
        admin = admins[0] if admins else None
        body = {
            "id": str(org.id),
            "company_name": org.name,
            "zgid": org.zgid,
            "type": org.type.value,
            "time_zone": org.time_zone,
            "currency": org.currency,
            "iso_code": org.currency,
            "currency_symbol": CURRENCY_SYMBOLS.get(org.currency, org.currency),
            "country": org.country,
            "primary_email": org.primary_email,
            "primary_zuid": str(admin.id) if admin else None,
            "created_time": when(org.created_time, org.time_zone),
            "max_per_page": 200,
            "hierarchy_preferences": {"type": "Role_Hierarchy"},
            "license_details": {
                "paid": True,
                "paid_type": "enterprise",
                "users_license_purchased": 0,
            },
            "primary_user": user_ref(tx.state.directory, admin.id if admin else None),
            "$version": org.version,
        }
        return responses.ok({"org": [body]}, headers={"ETag": etag(org.version)})
