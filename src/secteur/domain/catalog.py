"""The standard modules and fields every org starts with (core.md, "Standard modules and fields").

These definitions seed a new org; from then on the org's metadata lives in its database and
admins can add custom fields and edit picklist values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from secteur.domain.fields import DEFAULT_LENGTH, DataType, Field, Module, PicklistValue, column_for

INDUSTRIES = (
    "Aerospace",
    "Agriculture",
    "Automotive",
    "Banking",
    "Chemicals",
    "Construction",
    "Consulting",
    "Education",
    "Energy",
    "Financial Services",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Logistics",
    "Manufacturing",
    "Media",
    "Mining",
    "Non-Profit",
    "Pharmaceuticals",
    "Real Estate",
    "Retail",
    "Software",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Wholesale",
    "Other",
)
RATINGS = ("Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down")
ACCOUNT_TYPES = (
    "Analyst",
    "Competitor",
    "Customer",
    "Distributor",
    "Integrator",
    "Investor",
    "Other",
    "Partner",
    "Press",
    "Prospect",
    "Reseller",
    "Supplier",
    "Vendor",
)
OWNERSHIPS = ("Private", "Public", "Subsidiary", "Partnership", "Government", "Other")
LEAD_SOURCES = (
    "Advertisement",
    "Cold Call",
    "Employee Referral",
    "External Referral",
    "Partner",
    "Public Relations",
    "Trade Show",
    "Web Download",
    "Web Research",
    "Chat",
)
LEAD_STATUSES = (
    "Attempted to Contact",
    "Contact in Future",
    "Contacted",
    "Junk Lead",
    "Lost Lead",
    "Not Contacted",
    "Pre-Qualified",
    "Not Qualified",
)
DEAL_TYPES = ("New Business", "Existing Business")
# Stage → (probability %, forecast category).
DEAL_STAGES: tuple[tuple[str, int, str], ...] = (
    ("Qualification", 10, "pipeline"),
    ("Needs Analysis", 20, "pipeline"),
    ("Value Proposition", 40, "pipeline"),
    ("Id. Decision Makers", 60, "pipeline"),
    ("Perception Analysis", 70, "best_case"),
    ("Proposal/Price Quote", 75, "best_case"),
    ("Negotiation/Review", 90, "commit"),
    ("Closed Won", 100, "closed_won"),
    ("Closed Lost", 0, "closed_lost"),
    ("Closed Lost to Competition", 0, "closed_lost"),
)

# Ids of standard metadata are fixed so that every org (and every sandbox copy of it) agrees.
MODULE_ID_BASE = 3652397000000002000
FIELD_ID_BASE = 3652397000000100000
PICKLIST_ID_BASE = 3652397000000200000


def _picklist(values: Iterable[str]) -> tuple[PicklistValue, ...]:
    return tuple(
        PicklistValue(display_value=v, actual_value=v, sequence_number=i + 1)
        for i, v in enumerate(values)
    )


def _stages() -> tuple[PicklistValue, ...]:
    return tuple(
        PicklistValue(
            display_value=name,
            actual_value=name,
            sequence_number=i + 1,
            probability=probability,
            forecast_category=category,
        )
        for i, (name, probability, category) in enumerate(DEAL_STAGES)
    )


def _f(
    api_name: str,
    data_type: DataType,
    *,
    label: str | None = None,
    mandatory: bool = False,
    picklist: Sequence[PicklistValue] = (),
    lookup: str | None = None,
    read_only: bool = False,
) -> Field:
    return Field(
        api_name=api_name,
        label=label or api_name.replace("_", " "),
        data_type=data_type,
        column=column_for(api_name),
        mandatory=mandatory,
        picklist=tuple(picklist),
        lookup_module=lookup,
        read_only=read_only,
        length=DEFAULT_LENGTH.get(data_type),
    )


def _system_fields() -> tuple[Field, ...]:
    """Fields every module has, maintained by the server."""
    return (
        Field(
            "Owner", "Owner", DataType.OWNERLOOKUP, "owner_id", system=True, lookup_module="users"
        ),
        Field(
            "Created_By",
            "Created By",
            DataType.OWNERLOOKUP,
            "created_by",
            system=True,
            read_only=True,
            lookup_module="users",
        ),
        Field(
            "Modified_By",
            "Modified By",
            DataType.OWNERLOOKUP,
            "modified_by",
            system=True,
            read_only=True,
            lookup_module="users",
        ),
        Field(
            "Created_Time",
            "Created Time",
            DataType.DATETIME,
            "created_time",
            system=True,
            read_only=True,
        ),
        Field(
            "Modified_Time",
            "Modified Time",
            DataType.DATETIME,
            "modified_time",
            system=True,
            read_only=True,
        ),
    )


TEXT, AREA, EMAIL, PHONE, WEB = (
    DataType.TEXT,
    DataType.TEXTAREA,
    DataType.EMAIL,
    DataType.PHONE,
    DataType.WEBSITE,
)
PICK, CUR, INT, PCT, DATE, LOOK = (
    DataType.PICKLIST,
    DataType.CURRENCY,
    DataType.INTEGER,
    DataType.PERCENT,
    DataType.DATE,
    DataType.LOOKUP,
)


def _accounts() -> list[Field]:
    return [
        _f("Account_Name", TEXT, mandatory=True),
        _f("Account_Number", TEXT),
        _f("Website", WEB),
        _f("Phone", PHONE),
        _f("Billing_Street", TEXT),
        _f("Billing_City", TEXT),
        _f("Billing_State", TEXT),
        _f("Billing_Code", TEXT),
        _f("Billing_Country", TEXT),
        _f("Industry", PICK, picklist=_picklist(INDUSTRIES)),
        _f("Annual_Revenue", CUR),
        _f("Employees", INT),
        _f("Rating", PICK, picklist=_picklist(RATINGS)),
        _f("Account_Type", PICK, picklist=_picklist(ACCOUNT_TYPES)),
        _f("Ownership", PICK, picklist=_picklist(OWNERSHIPS)),
        _f("Parent_Account", LOOK, lookup="Accounts"),
        _f("Description", AREA),
    ]


def _contacts() -> list[Field]:
    return [
        _f("First_Name", TEXT),
        _f("Last_Name", TEXT, mandatory=True),
        _f("Email", EMAIL),
        _f("Phone", PHONE),
        _f("Mobile", PHONE),
        _f("Title", TEXT),
        _f("Department", TEXT),
        _f("Account_Name", LOOK, lookup="Accounts"),
        _f("Mailing_City", TEXT),
        _f("Mailing_State", TEXT),
        _f("Mailing_Country", TEXT),
        _f("Lead_Source", PICK, picklist=_picklist(LEAD_SOURCES)),
    ]


def _deals() -> list[Field]:
    return [
        _f("Deal_Name", TEXT, mandatory=True),
        _f("Amount", CUR),
        _f("Stage", PICK, mandatory=True, picklist=_stages()),
        _f("Probability", PCT),
        _f("Expected_Revenue", CUR, read_only=True),
        _f("Closing_Date", DATE, mandatory=True),
        _f("Account_Name", LOOK, lookup="Accounts"),
        _f("Contact_Name", LOOK, lookup="Contacts"),
        _f("Type", PICK, picklist=_picklist(DEAL_TYPES)),
        _f("Lead_Source", PICK, picklist=_picklist(LEAD_SOURCES)),
    ]


def _leads() -> list[Field]:
    return [
        _f("First_Name", TEXT),
        _f("Last_Name", TEXT, mandatory=True),
        _f("Company", TEXT, mandatory=True),
        _f("Email", EMAIL),
        _f("Phone", PHONE),
        _f("City", TEXT),
        _f("State", TEXT),
        _f("Country", TEXT),
        _f("Industry", PICK, picklist=_picklist(INDUSTRIES)),
        _f("Annual_Revenue", CUR),
        _f("No_of_Employees", INT),
        _f("Lead_Status", PICK, picklist=_picklist(LEAD_STATUSES)),
        _f("Lead_Source", PICK, picklist=_picklist(LEAD_SOURCES)),
    ]


# (api_name, singular, plural, table, display field, field factory) in Zoho's menu order.
_MODULES = (
    ("Leads", "Lead", "Leads", "leads", "Last_Name", _leads),
    ("Accounts", "Account", "Accounts", "accounts", "Account_Name", _accounts),
    ("Contacts", "Contact", "Contacts", "contacts", "Last_Name", _contacts),
    ("Deals", "Deal", "Deals", "deals", "Deal_Name", _deals),
)


def standard_modules() -> tuple[Module, ...]:
    """The four standard modules with ids assigned, as a new org gets them."""
    modules = []
    for m_index, (api, singular, plural, table, display, make) in enumerate(_MODULES):
        fields = []
        for f_index, f in enumerate([*make(), *_system_fields()]):
            fields.append(
                Field(
                    api_name=f.api_name,
                    label=f.label,
                    data_type=f.data_type,
                    column=f.column,
                    id=FIELD_ID_BASE + m_index * 1000 + f_index + 1,
                    mandatory=f.mandatory,
                    read_only=f.read_only,
                    system=f.system,
                    length=f.length,
                    picklist=tuple(
                        replace(
                            v,
                            id=PICKLIST_ID_BASE
                            + m_index * 100_000
                            + f_index * 1000
                            + v.sequence_number,
                        )
                        for v in f.picklist
                    ),
                    lookup_module=f.lookup_module,
                    sequence=f_index + 1,
                )
            )
        modules.append(
            Module(
                api_name=api,
                singular_label=singular,
                plural_label=plural,
                id=MODULE_ID_BASE + m_index + 1,
                table=table,
                display_field=display,
                fields=tuple(fields),
                sequence=m_index + 1,
            )
        )
    return tuple(modules)
