"""Deterministic territory trees and accounts for the territory benchmarks.

    territories = make_tree(10_000)                  # list[Territory], root first, seeded
    rules = compile_rules(Tree.of(territories), accounts_module(), CONTEXT)
    for account in make_accounts(5_000_000): ...     # a generator: nothing is kept in memory
    edit = rule_edit_moving_about(territories, sample, 0.01)   # one rule changed, ~1 % move

The tree looks like a sales organisation's: the root (no rule) → regions (`Billing_Country in
[…]`) → countries (`Billing_Country equal X`) → lower levels that split a parent's accounts by
state, industry, revenue band, head count, post code, city, account name or web presence, down
to the size asked for (exactly `n_territories` nodes). Most rules hold one to five conditions,
a few up to 25 (named-account lists, in OR groups, with AND qualifiers); some territories are
pass-throughs without a rule; a global "Key Accounts" overlay gives some accounts a second
territory. Every rule passes `validate_criteria` against the standard Accounts module.

The accounts use the same geography (countries weighted by market size, their states), so
about 98 % of them fall in some territory; the rest come from countries the tree does not
cover and get none (TER-14).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from secteur.domain.catalog import INDUSTRIES, RATINGS, standard_modules
from secteur.domain.criteria import (
    Criteria,
    CriteriaError,
    EvalContext,
    parse_criteria,
    to_json,
    validate_criteria,
)
from secteur.domain.fields import Module
from secteur.domain.territories import Territory, Tree, compile_rules

ID_BASE = 3652397000090000001
MODULE = "Accounts"
CONTEXT = EvalContext(now=datetime(2026, 11, 28, 12, tzinfo=UTC), user_id=None, time_zone="UTC")

Json = dict[str, Any]
Record = dict[str, Any]

# Region → (country, share of accounts, states). The accounts come from the same table.
GEOGRAPHY: tuple[tuple[str, tuple[tuple[str, float, tuple[str, ...]], ...]], ...] = (
    (
        "North America",
        (
            (
                "United States",
                30,
                (
                    "California",
                    "Texas",
                    "New York",
                    "Florida",
                    "Illinois",
                    "Pennsylvania",
                    "Ohio",
                    "Georgia",
                    "North Carolina",
                    "Michigan",
                    "New Jersey",
                    "Virginia",
                    "Washington",
                    "Arizona",
                    "Massachusetts",
                    "Tennessee",
                    "Indiana",
                    "Colorado",
                    "Minnesota",
                    "Oregon",
                ),
            ),
            (
                "Canada",
                5,
                ("Ontario", "Quebec", "British Columbia", "Alberta", "Manitoba", "Nova Scotia"),
            ),
            ("Mexico", 3, ("Ciudad de México", "Jalisco", "Nuevo León", "Puebla")),
        ),
    ),
    (
        "Latin America",
        (
            ("Brazil", 4, ("São Paulo", "Rio de Janeiro", "Minas Gerais", "Paraná", "Bahia")),
            ("Argentina", 1.5, ("Buenos Aires", "Córdoba", "Santa Fe")),
            ("Chile", 1, ("Santiago", "Valparaíso")),
            ("Colombia", 1.2, ("Bogotá", "Antioquia", "Valle del Cauca")),
            ("Peru", 0.8, ()),
        ),
    ),
    (
        "Western Europe",
        (
            (
                "France",
                6,
                (
                    "Île-de-France",
                    "Auvergne-Rhône-Alpes",
                    "Occitanie",
                    "Nouvelle-Aquitaine",
                    "Hauts-de-France",
                    "Grand Est",
                    "Bretagne",
                    "Provence-Alpes-Côte d'Azur",
                ),
            ),
            ("Belgium", 1.5, ("Brussels", "Flanders", "Wallonia")),
            ("Netherlands", 3, ("Noord-Holland", "Zuid-Holland", "Utrecht", "Noord-Brabant")),
            ("Luxembourg", 0.3, ()),
            ("Switzerland", 2, ("Zürich", "Genève", "Vaud", "Bern", "Basel-Stadt")),
            ("Ireland", 1.2, ("Leinster", "Munster", "Connacht")),
        ),
    ),
    (
        "Central Europe",
        (
            (
                "Germany",
                8,
                (
                    "Bayern",
                    "Baden-Württemberg",
                    "Nordrhein-Westfalen",
                    "Hessen",
                    "Niedersachsen",
                    "Berlin",
                    "Hamburg",
                    "Sachsen",
                ),
            ),
            ("Austria", 1.5, ("Wien", "Steiermark", "Oberösterreich", "Tirol")),
            ("Poland", 2, ("Mazowieckie", "Małopolskie", "Śląskie", "Wielkopolskie")),
            ("Czechia", 1, ("Praha", "Jihomoravský")),
            ("Hungary", 0.7, ()),
        ),
    ),
    (
        "Northern Europe",
        (
            ("United Kingdom", 7, ("England", "Scotland", "Wales", "Northern Ireland")),
            ("Sweden", 1.5, ("Stockholm", "Västra Götaland", "Skåne")),
            ("Norway", 1, ("Oslo", "Vestland")),
            ("Denmark", 1, ("Hovedstaden", "Midtjylland")),
            ("Finland", 0.8, ("Uusimaa", "Pirkanmaa")),
        ),
    ),
    (
        "Southern Europe",
        (
            ("Spain", 4, ("Madrid", "Cataluña", "Andalucía", "Comunidad Valenciana", "País Vasco")),
            ("Italy", 4, ("Lombardia", "Lazio", "Piemonte", "Veneto", "Emilia-Romagna")),
            ("Portugal", 1.2, ("Lisboa", "Porto")),
            ("Greece", 0.8, ("Attica", "Central Macedonia")),
        ),
    ),
    (
        "Asia Pacific",
        (
            ("Japan", 5, ("Tokyo", "Osaka", "Aichi", "Kanagawa", "Fukuoka")),
            ("India", 5, ("Maharashtra", "Karnataka", "Delhi", "Tamil Nadu", "Telangana")),
            (
                "Australia",
                3.5,
                ("New South Wales", "Victoria", "Queensland", "Western Australia"),
            ),
            ("China", 3, ("Shanghai", "Beijing", "Guangdong", "Zhejiang")),
            ("Singapore", 1.5, ()),
            ("South Korea", 2, ("Seoul", "Gyeonggi", "Busan")),
            ("New Zealand", 0.7, ("Auckland", "Wellington")),
        ),
    ),
    (
        "Middle East & Africa",
        (
            ("United Arab Emirates", 1.2, ("Dubai", "Abu Dhabi")),
            ("Saudi Arabia", 1, ("Riyadh", "Makkah")),
            ("South Africa", 1.2, ("Gauteng", "Western Cape", "KwaZulu-Natal")),
            ("Israel", 1, ()),
            ("Nigeria", 0.5, ("Lagos", "Abuja")),
            ("Egypt", 0.6, ()),
        ),
    ),
)
# Accounts from countries no territory covers (TER-14: they get none).
OUTSIDE: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("Iceland", 0.5, ("Höfuðborgarsvæðið",)),
    ("Kazakhstan", 0.7, ("Almaty",)),
    ("Vietnam", 0.8, ("Hà Nội", "Hồ Chí Minh")),
)
NAME_WORDS = (
    "Alpine",
    "Blue",
    "Cedar",
    "Delta",
    "Ever",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "North",
    "Orion",
    "Pioneer",
    "Quantum",
    "River",
    "Summit",
    "Titan",
    "Union",
    "Vertex",
    "Willow",
    "Zenith",
)
NAME_KINDS = (
    "Systems",
    "Logistics",
    "Foods",
    "Energy",
    "Health",
    "Labs",
    "Motors",
    "Media",
    "Works",
    "Capital",
)
CITY_PREFIXES = (
    "Spring",
    "Oak",
    "Maple",
    "River",
    "Lake",
    "Fair",
    "Green",
    "Mill",
    "Clear",
    "Stone",
    "Brook",
    "Red",
    "West",
    "East",
    "North",
    "Bay",
)
CITY_SUFFIXES = ("field", "ville", "ton", "burg", "port", "wood", "dale", "ford", "haven", "mont")
REVENUE_CUTS = (250_000, 1_000_000, 5_000_000, 20_000_000, 100_000_000, 500_000_000)
EMPLOYEE_CUTS = (10, 50, 100, 250, 1000, 5000)
RATING_WEIGHTS = (10, 60, 8, 7, 15)  # RATINGS order: Acquired, Active, Market Failed, …
INDUSTRY_WEIGHTS = tuple(3 if i % 4 == 0 else 1 + i % 3 for i in range(len(INDUSTRIES)))


def accounts_module() -> Module:
    """The standard Accounts module, as a new org gets it."""
    return next(m for m in standard_modules() if m.api_name == MODULE)


# --- accounts ---------------------------------------------------------------------------------


def make_accounts(n: int, seed: int = 1) -> Iterator[Record]:
    """`n` accounts (canonical values, ~10 fields), generated one at a time.

    Geography follows `GEOGRAPHY` (weights are market shares, states skewed towards the first
    listed) plus ~2 % from `OUTSIDE`; revenue and head count are log-normal; a quarter of the
    accounts have no website. The same `(n, seed)` gives the same accounts; a longer run with
    the same seed starts with the same accounts as a shorter one.
    """
    rng = random.Random(seed)
    places = [c for _, countries in GEOGRAPHY for c in countries] + list(OUTSIDE)
    cum_countries = _cumulative(w for _, w, _ in places)
    state_cums = [_cumulative(1 / (i + 1) ** 0.6 for i in range(len(s))) for _, _, s in places]
    cum_industries = _cumulative(INDUSTRY_WEIGHTS)
    cum_ratings = _cumulative(RATING_WEIGHTS)
    choices = rng.choices
    for i in range(n):
        (p,) = choices(range(len(places)), cum_weights=cum_countries)
        country, _, states = places[p]
        state = choices(states, cum_weights=state_cums[p])[0] if states else None
        word, kind = rng.choice(NAME_WORDS), rng.choice(NAME_KINDS)
        revenue = rng.lognormvariate(15, 2) // 1000 * 1000
        yield {
            "Account_Name": f"{word} {kind} {i}",
            "Billing_Country": country,
            "Billing_State": state,
            "Billing_City": rng.choice(CITY_PREFIXES) + rng.choice(CITY_SUFFIXES),
            "Billing_Code": f"{rng.randrange(100000):05d}",
            "Industry": choices(INDUSTRIES, cum_weights=cum_industries)[0],
            "Annual_Revenue": float(revenue) if rng.random() > 0.03 else None,
            "Employees": int(rng.lognormvariate(4, 1.5)) + 1,
            "Rating": choices(RATINGS, cum_weights=cum_ratings)[0],
            "Website": (
                f"https://www.{word.lower()}{kind.lower()}{i}.example"
                if rng.random() < 0.75
                else None
            ),
        }


def _cumulative(weights: Iterable[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


# --- rules ------------------------------------------------------------------------------------


def cond(api_name: str, comparator: str, value: Any) -> Json:
    return {"field": {"api_name": api_name}, "comparator": comparator, "value": value}


def any_of(conditions: Sequence[Json]) -> Json:
    if len(conditions) == 1:
        return conditions[0]
    return {"group_operator": "OR", "group": list(conditions)}


def all_of(conditions: Sequence[Json]) -> Json:
    if len(conditions) == 1:
        return conditions[0]
    return {"group_operator": "AND", "group": list(conditions)}


def count_conditions(rule: Json) -> int:
    if "group" in rule:
        return sum(count_conditions(child) for child in rule["group"])
    return 1


def count_rule_conditions(criteria: Criteria) -> int:
    """Conditions in a parsed rule (for the benchmark's description of a tree)."""
    return count_conditions(to_json(criteria))


def _qualifiers(country: str | None) -> list[Json]:
    """Extra AND conditions admins add to a rule; each keeps most accounts."""
    out = [
        cond("Rating", "not_in", ["Shut Down"]),
        cond("Rating", "not_equal", "Project Cancelled"),
        cond("Annual_Revenue", "greater_than", 0),
        cond("Employees", "greater_equal", 1),
        cond("Website", "not_equal", "${EMPTY}"),
        cond("Account_Name", "not_contains", "test"),
        cond("Billing_Code", "equal", "${NOTEMPTY}"),
        cond("Industry", "not_equal", "Government"),
        cond("Account_Name", "not_contains", "demo"),
        cond("Employees", "less_than", 500_000),
    ]
    if country is not None:
        out.append(cond("Billing_Country", "equal", country))
    return out


# --- the tree ---------------------------------------------------------------------------------


@dataclass
class _Node:
    name: str
    rule: Json | None
    children: list[_Node] = field(default_factory=list)


@dataclass(frozen=True)
class _Group:
    """One child of a split: its name, its rule, its share of the parent's accounts."""

    name: str
    rule: Json
    share: float


DIMENSIONS = (
    "state",
    "industry",
    "revenue",
    "employees",
    "postcode",
    "city_suffix",
    "city_prefix",
    "named",
    "kind",
    "web",
)
# Children a split makes at most (the budget may make fewer).
FANOUT = {
    "state": 99,
    "industry": 8,
    "revenue": len(REVENUE_CUTS) + 1,
    "employees": len(EMPLOYEE_CUTS) + 1,
    "postcode": 10,
    "city_suffix": len(CITY_SUFFIXES),
    "city_prefix": 8,
    "named": 6,
    "kind": 5,
    "web": 2,
}


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def split(self, parent: _Node, budget: int, used: frozenset[str], country: str) -> None:
        """Give `parent` exactly `budget` descendants, splitting by dimensions not yet used."""
        rng = self.rng
        if budget <= 0:
            return
        if budget >= 3 and rng.random() < 0.05:  # a structural pass-through
            team = _Node(f"{parent.name} Teams", None)
            parent.children.append(team)
            self.split(team, budget - 1, used, country)
            return
        states = _states(country)
        free = [d for d in DIMENSIONS if d not in used and (d != "state" or len(states) >= 2)]
        if not free:
            free = ["postcode"]
        if "state" in free and not used - {"country"} and rng.random() < 0.85:
            dim = "state"
        else:
            dim = rng.choice(free)
        most = min(FANOUT[dim], len(states)) if dim == "state" else FANOUT[dim]
        k = budget if budget <= most else rng.randint(max(2, most // 2), most)
        groups = self.groups(dim, k, country)
        rest = budget - len(groups)
        weights = [g.share * rng.uniform(0.6, 1.4) for g in groups]
        shares = _apportion(rest, weights)
        names: set[str] = set()
        for group, sub_budget in zip(groups, shares, strict=True):
            name = group.name
            while name in names:
                name += "+"
            names.add(name)
            node = _Node(name, self.qualify(group.rule, country))
            parent.children.append(node)
            self.split(node, sub_budget, used | {dim}, country)

    def qualify(self, rule: Json, country: str) -> Json:
        """Most rules as they are; some with one to eight qualifying AND conditions."""
        r = self.rng.random()
        extra = 0 if r < 0.70 else 1 if r < 0.88 else 2 if r < 0.96 else 3 if r < 0.99 else 8
        extra = min(extra, 25 - count_conditions(rule))
        if extra <= 0:
            return rule
        return all_of([rule, *self.rng.sample(_qualifiers(country), extra)])

    def groups(self, dim: str, k: int, country: str) -> list[_Group]:
        rng = self.rng
        if dim == "state":
            states = list(_states(country))
            parts = _chunks(states, k) if k > 1 else [rng.sample(states, len(states) // 2)]
            return [
                _Group(
                    p[0] if len(p) == 1 else f"{p[0]} +{len(p) - 1}",
                    cond("Billing_State", "equal", p[0])
                    if len(p) == 1
                    else cond("Billing_State", "in", p),
                    len(p),
                )
                for p in parts
            ]
        if dim == "industry":
            industries = list(INDUSTRIES)
            rng.shuffle(industries)
            parts = _chunks(industries, k) if k > 1 else [industries[: rng.randint(1, 6)]]
            out = []
            for i, p in enumerate(parts):
                name = p[0] if len(p) == 1 else f"{p[0]} +{len(p) - 1}"
                if k > 1 and i == k - 1 and rng.random() < 0.3:  # "everything else"
                    others = [x for x in INDUSTRIES if x not in p]
                    rule = cond("Industry", "not_in", others)
                else:
                    rule = cond("Industry", "in", p)
                out.append(_Group(name, rule, len(p)))
            return out
        if dim in ("revenue", "employees"):
            api, cuts, unit = (
                ("Annual_Revenue", REVENUE_CUTS, "Revenue")
                if dim == "revenue"
                else ("Employees", EMPLOYEE_CUTS, "Staff")
            )
            if k == 1:
                low = rng.choice(cuts)
                return [_Group(f"{unit} {_short(low)}+", cond(api, "greater_than", low), 1)]
            edges = sorted(rng.sample(cuts, k - 1))
            out = [_Group(f"{unit} <{_short(edges[0])}", cond(api, "less_than", edges[0]), 1)]
            for low, high in itertools.pairwise(edges):
                name = f"{unit} {_short(low)}–{_short(high)}"
                out.append(_Group(name, cond(api, "between", [low, high - 1]), 1))
            last = edges[-1]
            out.append(_Group(f"{unit} {_short(last)}+", cond(api, "greater_equal", last), 1))
            return out
        if dim == "postcode":
            digits = list("0123456789")
            parts = _chunks(digits, k) if k > 1 else [rng.sample(digits, 3)]
            return [
                _Group(
                    f"Codes {''.join(p)}",
                    any_of([cond("Billing_Code", "starts_with", d) for d in p]),
                    len(p),
                )
                for p in parts
            ]
        if dim in ("city_suffix", "city_prefix"):
            pieces = list(CITY_SUFFIXES if dim == "city_suffix" else CITY_PREFIXES)
            comparator = "ends_with" if dim == "city_suffix" else "starts_with"
            rng.shuffle(pieces)
            parts = _chunks(pieces, k) if k > 1 else [pieces[: rng.randint(1, 4)]]
            return [
                _Group(
                    f"Cities {'/'.join(p[:2])}{'…' if len(p) > 2 else ''}",
                    any_of([cond("Billing_City", comparator, x) for x in p]),
                    len(p),
                )
                for p in parts
            ]
        if dim == "named":
            words = list(NAME_WORDS)
            rng.shuffle(words)
            parts = _chunks(words, k) if k > 1 else [words[: rng.randint(2, 23)]]
            return [
                _Group(
                    f"Named {p[0]}–{p[-1]}",
                    any_of([cond("Account_Name", "starts_with", w) for w in p]),
                    len(p),
                )
                for p in parts
            ]
        if dim == "kind":
            kinds = list(NAME_KINDS)
            rng.shuffle(kinds)
            parts = _chunks(kinds, k) if k > 1 else [kinds[:2]]
            return [
                _Group(
                    f"Sector {'/'.join(p)}",
                    any_of([cond("Account_Name", "contains", x) for x in p]),
                    len(p),
                )
                for p in parts
            ]
        assert dim == "web"
        online = _Group("Digital", cond("Website", "equal", "${NOTEMPTY}"), 3)
        offline = _Group("Field", cond("Website", "equal", "${EMPTY}"), 1)
        return [online, offline] if k > 1 else [online]


def _states(country: str) -> tuple[str, ...]:
    for _, countries in GEOGRAPHY:
        for name, _, states in countries:
            if name == country:
                return states
    return ()


def _chunks(items: Sequence[str], k: int) -> list[list[str]]:
    """`items` in `k` contiguous, non-empty, near-equal parts."""
    k = min(k, len(items))
    size, extra = divmod(len(items), k)
    out, start = [], 0
    for i in range(k):
        end = start + size + (1 if i < extra else 0)
        out.append(list(items[start:end]))
        start = end
    return out


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (largest remainders), summing exactly."""
    if not weights:
        return []
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    out = [int(x) for x in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: raw[i] - out[i], reverse=True)
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out


def _short(n: int) -> str:
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


MIN_TERRITORIES = 1 + 1 + 2 * len(GEOGRAPHY) + sum(len(countries) for _, countries in GEOGRAPHY)


def make_tree(n_territories: int, seed: int = 7) -> list[Territory]:
    """Exactly `n_territories` territories (root first, then pre-order), all rules valid.

    Fixed top: root (pass-through) → "Global Key Accounts" overlay (revenue ≥ 250M or 5,000+
    staff; one child per region) and the regions → their countries. The rest of the budget
    goes to the countries in proportion to their market share (to the power 0.8), and each
    country splits its accounts level by level (`_Builder.split`). Needs at least
    `MIN_TERRITORIES`.
    """
    if n_territories < MIN_TERRITORIES:
        raise ValueError(f"a generated tree has at least {MIN_TERRITORIES} territories")
    builder = _Builder(seed)
    root = _Node("Secteur Bench Org", None)
    region_rules = [
        (
            region,
            cond(
                "Billing_Country",
                "in",
                [name for name, _, _ in countries],
            ),
        )
        for region, countries in GEOGRAPHY
    ]
    key_accounts = _Node(
        "Global Key Accounts",
        any_of(
            [
                cond("Annual_Revenue", "greater_equal", 250_000_000),
                cond("Employees", "greater_equal", 5_000),
            ]
        ),
        [_Node(f"Key Accounts {region}", rule) for region, rule in region_rules],
    )
    root.children.append(key_accounts)
    country_nodes: list[tuple[_Node, str, float]] = []
    for (region, rule), (_, countries) in zip(region_rules, GEOGRAPHY, strict=True):
        region_node = _Node(region, rule)
        root.children.append(region_node)
        for name, weight, _ in countries:
            node = _Node(name, builder.qualify(cond("Billing_Country", "equal", name), name))
            region_node.children.append(node)
            country_nodes.append((node, name, weight))
    budgets = _apportion(n_territories - MIN_TERRITORIES, [w**0.8 for _, _, w in country_nodes])
    for (node, name, _), budget in zip(country_nodes, budgets, strict=True):
        builder.split(node, budget, frozenset({"country"}), name)

    module = accounts_module()
    territories: list[Territory] = []

    def emit(node: _Node, parent_id: int | None, sequence: int) -> None:
        tid = ID_BASE + len(territories)
        rules = {}
        if node.rule is not None:
            rules[MODULE] = validate_criteria(parse_criteria(node.rule), module)
        territories.append(Territory(tid, node.name, parent_id, sequence, rules=rules))
        for i, child in enumerate(node.children, start=1):
            emit(child, tid, i)

    emit(root, None, 1)
    assert len(territories) == n_territories, (len(territories), n_territories)
    return territories


# --- a rule edit that moves a chosen share of the accounts -------------------------------------


@dataclass(frozen=True)
class RuleEdit:
    """One territory's rule narrowed so that `moved` of the `sample_size` accounts move.

    `territories` is the whole tree after the edit (the input is not changed). The accounts
    that move are exactly those that reached the territory (matched it and every ancestor)
    and have an `Annual_Revenue` below `threshold` (or none): they leave the territory's
    subtree, so their set of automatic territories changes (to the parent's deepest match,
    or to none).
    """

    territories: list[Territory]
    territory_id: int
    territory_name: str
    before: Json
    after: Json
    threshold: float
    moved: int
    sample_size: int

    @property
    def fraction(self) -> float:
        return self.moved / self.sample_size if self.sample_size else 0.0


def rule_edit_moving_about(
    territories: Sequence[Territory],
    accounts_sample: Sequence[Record],
    fraction: float = 0.01,
    seed: int = 11,
) -> RuleEdit:
    """Change one rule so that about `fraction` of `accounts_sample` changes territories.

    How: count, on the sample, the accounts reaching each territory with a rule; pick (seeded)
    one reached by 2 to 20 times the target (a territory big enough to cut a slice from, small
    enough to be a local edit); AND `Annual_Revenue greater_equal <t>` to its rule, `t` the
    revenue below which the target number of its accounts fall. On a sample drawn like the
    full population, the same fraction of the population moves.
    """
    module = accounts_module()
    rules = compile_rules(Tree.of(territories), module, CONTEXT)
    reached: dict[int, list[int]] = {}
    for index, record in enumerate(accounts_sample):
        for tid in _reached(rules, record):
            reached.setdefault(tid, []).append(index)
    target = max(1, round(fraction * len(accounts_sample)))
    candidates = sorted(
        tid
        for tid, indices in reached.items()
        if 2 * target <= len(indices) <= 20 * target and rules.tree.by_id[tid].parent_id
    )
    if not candidates:
        candidates = sorted(
            (tid for tid in reached if len(reached[tid]) >= target),
            key=lambda tid: (len(reached[tid]), tid),
        )[:1]
    if not candidates:
        raise ValueError("no territory is reached by enough of the sample")
    rng = random.Random(seed)
    rng.shuffle(candidates)
    for tid in candidates:
        revenues = sorted(
            r if (r := accounts_sample[i].get("Annual_Revenue")) is not None else float("-inf")
            for i in reached[tid]
        )
        threshold = revenues[target] if target < len(revenues) else revenues[-1] + 1
        if threshold == float("-inf"):
            continue
        territory = rules.tree.by_id[tid]
        rule = territory.rule(MODULE)
        assert rule is not None
        before = to_json(rule)
        narrowing = cond("Annual_Revenue", "greater_equal", threshold)
        if before.get("group_operator") == "AND" and len(before["group"]) < 25:
            after = {**before, "group": [*before["group"], narrowing]}
        else:
            after = all_of([before, narrowing])
        try:
            criteria = validate_criteria(parse_criteria(after), module)
        except CriteriaError:
            continue
        edited = replace(territory, rules={**territory.rules, MODULE: criteria})
        moved = sum(1 for r in revenues if r < threshold)
        return RuleEdit(
            [edited if t.id == tid else t for t in territories],
            tid,
            territory.name,
            before,
            after,
            threshold,
            moved,
            len(accounts_sample),
        )
    raise ValueError("no territory's rule could be narrowed")


def _reached(rules: Any, record: Record) -> list[int]:
    """Territories with a rule that `record` matches together with all their ancestors."""
    out: list[int] = []
    children = rules.tree.children
    stack = [rules.tree.root_id]
    while stack:
        tid = stack.pop()
        matched = rules.matches(tid, record)
        if matched is False:
            continue
        if matched:
            out.append(tid)
        stack.extend(children[tid])
    return out


def rules_visited(rules: Any, record: Record) -> tuple[int, int]:
    """(rules evaluated, territories reached) by a top-down walk of `record` (TER-11)."""
    evaluated = reached = 0
    children = rules.tree.children
    stack = [rules.tree.root_id]
    while stack:
        tid = stack.pop()
        matched = rules.matches(tid, record)
        if matched is not None:
            evaluated += 1
            if not matched:
                continue
        reached += 1
        stack.extend(children[tid])
    return evaluated, reached
