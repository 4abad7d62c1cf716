"""The demo organisation: a realistic sales team and its records, generated deterministically."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from secteur.config import Settings
from secteur.domain.actor import actor_for
from secteur.domain.catalog import DEAL_STAGES, INDUSTRIES, LEAD_SOURCES, LEAD_STATUSES
from secteur.services import auth, forecasts, roles, territories, users
from secteur.services.app import Secteur
from secteur.services.records import Mode, write_records
from secteur.services.setup import init_org, is_initialised

DEMO_ORG = "Zylker Industrial"
DEMO_ADMIN_EMAIL = "admin@zylker.example"
DEMO_ADMIN_PASSWORD = "secteur-demo"
TOKEN_LIFETIME = timedelta(days=30)
KEY_ACCOUNT_EVERY = 50


@dataclass(frozen=True)
class Region:
    role: str
    country: str
    states: tuple[str, ...]
    cities: tuple[str, ...]


REGIONS = (
    Region(
        "France",
        "France",
        ("Île-de-France", "Auvergne-Rhône-Alpes", "Occitanie"),
        ("Paris", "Lyon", "Toulouse", "Grenoble"),
    ),
    Region(
        "DACH",
        "Germany",
        ("Bayern", "Berlin", "Hessen"),
        ("München", "Berlin", "Frankfurt", "Nürnberg"),
    ),
    Region(
        "UK & Ireland",
        "United Kingdom",
        ("England", "Scotland", "Wales"),
        ("London", "Manchester", "Edinburgh", "Cardiff"),
    ),
    Region(
        "US East",
        "United States",
        ("New York", "Massachusetts", "Georgia"),
        ("New York", "Boston", "Atlanta", "Albany"),
    ),
    Region(
        "US West",
        "United States",
        ("California", "Washington", "Oregon"),
        ("San Francisco", "Seattle", "Portland", "Los Angeles"),
    ),
    Region(
        "Canada",
        "Canada",
        ("Ontario", "Quebec", "British Columbia"),
        ("Toronto", "Montréal", "Vancouver", "Ottawa"),
    ),
)

FIRST = (
    "Amelia",
    "Bruno",
    "Chloé",
    "Daniel",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Inès",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Pierre",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Ugo",
    "Vera",
    "William",
    "Xenia",
    "Yann",
    "Zoé",
)
LAST = (
    "Martin",
    "Schmidt",
    "Taylor",
    "Dubois",
    "Müller",
    "Johnson",
    "Leroy",
    "Fischer",
    "Brown",
    "Moreau",
    "Weber",
    "Wilson",
    "Laurent",
    "Becker",
    "Clark",
    "Girard",
    "Hoffmann",
    "Lewis",
    "Bonnet",
    "Wagner",
    "Walker",
    "Fontaine",
    "Keller",
    "Young",
)
NAME_A = (
    "Alpine",
    "Blue",
    "Cedar",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "North",
    "Orion",
    "Pioneer",
    "Quantum",
    "River",
    "Summit",
    "Titan",
    "Unity",
    "Vertex",
    "Westwind",
    "Zenith",
)
NAME_B = (
    "Systems",
    "Logistics",
    "Foods",
    "Energy",
    "Health",
    "Labs",
    "Motors",
    "Media",
    "Capital",
    "Works",
    "Partners",
    "Software",
    "Materials",
    "Robotics",
    "Analytics",
    "Retail",
)
SUFFIX = ("SA", "GmbH", "Ltd", "Inc.", "SAS", "AG", "LLC", "Corp.")
DEAL_KINDS = ("Renewal", "Expansion", "New line", "Pilot", "Upgrade")
TITLES = (
    "CEO",
    "CFO",
    "CTO",
    "VP Operations",
    "Head of Procurement",
    "IT Director",
    "Purchasing Manager",
    "Plant Manager",
    "Operations Lead",
    "Finance Director",
)


def demo_settings(settings: Settings) -> Settings:
    """The demo keeps its own SQLite file unless a database URL is configured."""
    if settings.database_url:
        return settings
    path: Path = settings.data_dir / "demo.db"
    return settings.model_copy(update={"database_url": f"sqlite:///{path}", "demo": True})


def prepare_demo(
    settings: Settings, *, reset: bool = False, progress: Console | None = None
) -> str:
    """Create the demo org if needed; returns a fresh API token for the admin."""
    settings = demo_settings(settings)
    if reset and settings.is_sqlite:
        path = Path(settings.effective_database_url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    app = Secteur(settings)
    try:
        if not is_initialised(app):
            if progress:
                progress.print("Creating the demo organisation…")
            build_demo(app)
        with app.write() as tx:
            return auth.issue_access_token(
                tx,
                DEMO_ADMIN_EMAIL,
                "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL",
                TOKEN_LIFETIME,
            ).access_token
    finally:
        app.dispose()


def build_demo(app: Secteur, *, accounts: int = 1200, seed: int = 7) -> None:
    rng = random.Random(seed)
    init_org(
        app,
        org_name=DEMO_ORG,
        admin_email=DEMO_ADMIN_EMAIL,
        admin_password=DEMO_ADMIN_PASSWORD,
        admin_first_name="Ada",
        admin_last_name="Admin",
        time_zone="Europe/Paris",
        currency="EUR",
        country="France",
    )
    reps_by_region = _team(app, rng)
    _territories(app, reps_by_region)
    _records(app, rng, reps_by_region, accounts)
    _forecasts(app)


def _team(app: Secteur, rng: random.Random) -> dict[str, list[int]]:
    """~20 users in a four-level role tree: CEO → VPs → regional managers → reps."""
    reps: dict[str, list[int]] = {}
    with app.write() as tx:
        admin = actor_for(tx.state.directory, next(iter(tx.state.directory.users)), source="system")
        assert admin is not None
        directory = tx.state.directory
        root = directory.roles.root
        assert root is not None
        standard = next(p.id for p in directory.profiles.values() if p.name == "Standard")
        names = iter(rng.sample([(f, ln) for f in FIRST for ln in LAST], 40))

        def role(name: str, parent: int, share: bool = False) -> int:
            return roles.create_role(
                tx,
                admin,
                0,
                {"name": name, "reporting_to": {"id": parent}, "share_with_peers": share},
            )

        def person(role_id: int, manager: int | None = None) -> int:
            first, last = next(names)
            email = _email(first, last, domain="zylker.example")
            user_id = users.create_user(
                tx,
                admin,
                0,
                {
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "role": {"id": role_id},
                    "profile": {"id": standard},
                    **({"Reporting_To": {"id": manager}} if manager else {}),
                },
            )
            # Every demo user signs in with the demo password: try the pages as a rep too.
            users.set_password(tx, email, DEMO_ADMIN_PASSWORD)
            return user_id

        ops = role("Sales Operations", root.id, share=True)
        person(ops)
        person(ops)
        for vp_name, regions in (
            ("VP Sales EMEA", REGIONS[:3]),
            ("VP Sales Americas", REGIONS[3:]),
        ):
            vp_role = role(vp_name, root.id)
            vp = person(vp_role)
            reps[vp_name] = [vp]
            for region in regions:
                manager_role = role(f"Sales Manager {region.role}", vp_role)
                manager = person(manager_role, vp)
                rep_role = role(f"Sales Rep {region.role}", manager_role, share=True)
                reps[region.role] = [manager] + [person(rep_role, manager) for _ in range(2)]
    return reps


# Industry groups split each state's territory; the last one takes every other industry.
INDUSTRY_GROUPS = (
    (
        "Industrial",
        (
            "Aerospace",
            "Automotive",
            "Chemicals",
            "Construction",
            "Energy",
            "Logistics",
            "Manufacturing",
            "Mining",
            "Transportation",
            "Utilities",
        ),
    ),
    ("Financial", ("Banking", "Financial Services", "Insurance", "Real Estate")),
    (
        "Public & Health",
        ("Education", "Government", "Healthcare", "Non-Profit", "Pharmaceuticals"),
    ),
)
ENTERPRISE_REVENUE = 50_000_000


def _rule(field: str, comparator: str, value: Any) -> dict[str, Any]:
    return {"field": {"api_name": field}, "comparator": comparator, "value": value}


def _all(*conditions: dict[str, Any]) -> dict[str, Any]:
    return {"group_operator": "AND", "group": list(conditions)}


def _territories(app: Secteur, team: dict[str, list[int]]) -> None:
    """Territory management on, with a realistic tree of ~250 territories: macro-regions →
    sales regions (country, or country and states) → states → industry groups → revenue
    bands. Region managers manage their region; reps are its members."""
    with app.write() as tx:
        admin = actor_for(tx.state.directory, next(iter(tx.state.directory.users)), source="system")
        assert admin is not None
        territories.update_settings(tx, admin, {"enabled": True, "start_from": "scratch"})
    with app.write() as tx:
        admin = actor_for(tx.state.directory, next(iter(tx.state.directory.users)), source="system")
        assert admin is not None
        tree = tx.state.territory.tree
        assert tree is not None

        def add(name: str, parent: int, **item: Any) -> int:
            return territories.create_territory(
                tx, admin, 0, {"name": name, "reporting_to": {"id": parent}, **item}
            )

        for macro, regions, vp in (
            ("EMEA", REGIONS[:3], team["VP Sales EMEA"][0]),
            ("Americas", REGIONS[3:], team["VP Sales Americas"][0]),
        ):
            countries = sorted({r.country for r in regions})
            macro_id = add(
                macro,
                tree.root_id,
                manager={"id": vp},
                account_rule_criteria=_rule("Billing_Country", "in", countries),
                lead_rule_criteria=_rule("Country", "in", countries),
            )
            for region in regions:
                shared = sum(r.country == region.country for r in REGIONS) > 1
                account_rule = _rule("Billing_Country", "equal", region.country)
                lead_rule = _rule("Country", "equal", region.country)
                if shared:  # one country, several regions: split by state
                    account_rule = _all(
                        account_rule, _rule("Billing_State", "in", list(region.states))
                    )
                    lead_rule = _all(lead_rule, _rule("State", "in", list(region.states)))
                manager, *reps = team[region.role]
                region_id = add(
                    region.role,
                    macro_id,
                    manager={"id": manager},
                    account_rule_criteria=account_rule,
                    lead_rule_criteria=lead_rule,
                )
                territories.add_members(tx, admin, region_id, reps)
                for state in region.states:
                    state_id = add(
                        state,
                        region_id,
                        account_rule_criteria=_rule("Billing_State", "equal", state),
                        lead_rule_criteria=_rule("State", "equal", state),
                    )
                    grouped = [i for _, industries in INDUSTRY_GROUPS for i in industries]
                    for group, industries in (
                        *INDUSTRY_GROUPS,
                        ("Commercial", ()),
                    ):
                        industry_rule = (
                            _rule("Industry", "in", list(industries))
                            if industries
                            else _rule("Industry", "not_in", grouped)
                        )
                        group_id = add(
                            f"{state} {group}",
                            state_id,
                            account_rule_criteria=industry_rule,
                        )
                        add(
                            f"{state} {group} Enterprise",
                            group_id,
                            account_rule_criteria=_rule(
                                "Annual_Revenue", "greater_equal", ENTERPRISE_REVENUE
                            ),
                        )
                        add(
                            f"{state} {group} Mid-market",
                            group_id,
                            account_rule_criteria=_rule(
                                "Annual_Revenue", "less_than", ENTERPRISE_REVENUE
                            ),
                            permission_type="read_only",
                        )


def _phone(rng: random.Random) -> str:
    return f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"


def _email(*parts: str, domain: str) -> str:
    """A plausible address from names with accents (ASCII local part)."""
    local = ".".join(parts).lower()
    for accented, plain in (("é", "e"), ("è", "e"), ("ü", "u"), ("ö", "o"), ("ç", "c")):
        local = local.replace(accented, plain)
    return f"{local}@{domain}"


def _company(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} {rng.choice(SUFFIX)}"
        if name not in used:
            used.add(name)
            return name
        name = f"{name} {rng.randint(2, 99)}"
        if name not in used:
            used.add(name)
            return name


def _records(app: Secteur, rng: random.Random, reps: dict[str, list[int]], accounts: int) -> None:
    used: set[str] = set()
    # Closing dates spread around the day the demo is created, so the pipeline looks current.
    today = app.clock().date()
    with app.write() as tx:
        admin = actor_for(tx.state.directory, next(iter(tx.state.directory.users)), source="system")
        assert admin is not None
        state = tx.state
        account_items: list[dict[str, Any]] = []
        regions: list[Region] = []
        for _ in range(accounts):
            region = rng.choice(REGIONS)
            regions.append(region)
            account_items.append(
                {
                    "Account_Name": _company(rng, used),
                    "Billing_Country": region.country,
                    "Billing_State": rng.choice(region.states),
                    "Billing_City": rng.choice(region.cities),
                    "Industry": rng.choice(INDUSTRIES[:-1]),
                    "Annual_Revenue": float(
                        rng.choice((2, 5, 10, 25, 50, 120, 400)) * 1_000_000
                        + rng.randint(0, 999) * 1000
                    ),
                    "Employees": rng.choice((12, 45, 80, 150, 400, 1200, 5000)),
                    "Account_Type": rng.choice(("Customer", "Prospect", "Partner", "Reseller")),
                    "Ownership": rng.choice(("Private", "Public", "Subsidiary")),
                    "Rating": rng.choice(("Active", "Acquired", "Active")),
                    "Phone": _phone(rng),
                    "Website": f"https://www.example-{len(account_items)}.com",
                    "Owner": {"id": rng.choice(reps[region.role])},
                }
            )
            # A few key accounts (and their deals) are the admin's own, so that the first
            # screen after signing in shows "my" records.
            if len(account_items) % KEY_ACCOUNT_EVERY == 1:
                account_items[-1]["Owner"] = {"id": admin.id}
        module = state.module("Accounts")
        assert module is not None
        results = write_records(tx, admin, module, account_items, mode=Mode.INSERT, max_batch=None)
        account_ids = [r.record.id for r in results if r.record]
        owner_of = {r.record.id: r.record.owner_id for r in results if r.record}

        contact_items: list[dict[str, Any]] = []
        contact_account = []
        for account_id, region in zip(account_ids, regions, strict=True):
            for _ in range(rng.randint(1, 3)):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                contact_items.append(
                    {
                        "First_Name": first,
                        "Last_Name": last,
                        "Email": _email(
                            first, last, str(len(contact_items)), domain="customer.example"
                        ),
                        "Title": rng.choice(TITLES),
                        "Account_Name": {"id": account_id},
                        "Mailing_Country": region.country,
                        "Mailing_City": rng.choice(region.cities),
                        "Lead_Source": rng.choice(LEAD_SOURCES),
                        "Owner": {"id": owner_of[account_id]},
                    }
                )
                contact_account.append(account_id)
        contacts = state.module("Contacts")
        assert contacts is not None
        results = write_records(
            tx, admin, contacts, contact_items, mode=Mode.INSERT, max_batch=None
        )
        contact_ids = [r.record.id for r in results if r.record]

        deal_items = []
        stages = [s for s, _, _ in DEAL_STAGES]
        weights = [14, 12, 10, 8, 7, 7, 6, 18, 12, 6]
        for index in range(max(1500, accounts + accounts // 4)):
            pick = rng.randrange(len(contact_ids))
            account_id = contact_account[pick]
            stage = rng.choices(stages, weights)[0]
            closing = today + timedelta(days=rng.randint(-330, 240))
            deal_items.append(
                {
                    "Deal_Name": f"{rng.choice(DEAL_KINDS)} #{index + 1}",
                    "Amount": float(
                        rng.choice((8, 15, 25, 40, 60, 90, 150)) * 1000 + rng.randint(0, 99) * 100
                    ),
                    "Stage": stage,
                    "Closing_Date": closing.isoformat(),
                    "Account_Name": {"id": account_id},
                    "Contact_Name": {"id": contact_ids[pick]},
                    "Type": rng.choice(("New Business", "Existing Business")),
                    "Lead_Source": rng.choice(LEAD_SOURCES),
                    "Owner": {"id": owner_of[account_id]},
                }
            )
        deals = state.module("Deals")
        assert deals is not None
        write_records(tx, admin, deals, deal_items, mode=Mode.INSERT, max_batch=None)

        lead_items = []
        for index in range(300):
            region = rng.choice(REGIONS)
            lead_items.append(
                {
                    "First_Name": rng.choice(FIRST),
                    "Last_Name": rng.choice(LAST),
                    "Company": _company(rng, used),
                    "Country": region.country,
                    "State": rng.choice(region.states),
                    "City": rng.choice(region.cities),
                    "Email": f"lead{index}@prospect.example",
                    "Industry": rng.choice(INDUSTRIES[:-1]),
                    "Lead_Status": rng.choice(LEAD_STATUSES),
                    "Lead_Source": rng.choice(LEAD_SOURCES),
                    "Annual_Revenue": float(rng.randint(1, 200) * 100_000),
                    "Owner": {"id": rng.choice(reps[region.role])},
                }
            )
        leads = state.module("Leads")
        assert leads is not None
        write_records(tx, admin, leads, lead_items, mode=Mode.INSERT, max_batch=None)


def _forecasts(app: Secteur) -> None:
    """A forecast for each period of the current fiscal year, with targets on the first three
    levels of the territory tree and for their members, so the forecast page means something
    on first start. The deepest of those levels gets a stretch over what its deals promise;
    members share it; each level above is the sum of what is below it (no false mismatch)."""
    with app.write() as tx:
        admin = actor_for(tx.state.directory, next(iter(tx.state.directory.users)), source="system")
        assert admin is not None
        h = forecasts.hierarchy(tx, forecasts.current_kind(tx))
        levels = {h.root: 0}
        for node in reversed(h.postorder):
            for child in h.children[node]:
                levels[child] = levels[node] + 1
        planned = sorted((n for n, level in levels.items() if level <= 2), key=lambda n: levels[n])
        for period in forecasts.current_period(tx).year_periods():
            forecast_id = forecasts.create_forecast(tx, admin, {"period": period.key})
            target: dict[int, float] = {}
            items: list[dict[str, Any]] = []
            for node in reversed(planned):  # deepest first: parents add up their children
                members = sorted(h.members.get(node, ()))
                below = [target[c] for c in h.children[node] if c in target]
                if below:
                    shares = [_round_target(sum(below) * 0.1 / max(1, len(members)))] * len(members)
                    target[node] = sum(below) + sum(shares)
                else:
                    head = forecasts.summary(tx, admin, forecast_id, node, True)[0]
                    promised = head.metrics.achieved + 0.5 * head.metrics.pipeline
                    share = _round_target(promised / max(1, len(members)))
                    shares = [share] * len(members)
                    target[node] = share * len(members) if members else _round_target(promised)
                items.append({"node": {"id": str(node)}, "target": target[node]})
                items += [
                    {"node": {"id": str(node)}, "user": {"id": str(u)}, "target": amount}
                    for u, amount in zip(members, shares, strict=True)
                ]
            forecasts.set_targets(tx, admin, forecast_id, items)


def _round_target(amount: float) -> float:
    """A round target a little above what the deals promise (never zero)."""
    return float(max(10_000, round(amount * 1.15, -4)))
