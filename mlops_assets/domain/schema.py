"""The StreamFlow monthly layout: the six files, their columns and types, and the 14 features.

This is the contract between the generator, the importer, the Feast repo and the model.
"""

from __future__ import annotations

ENTITY_KEY = "user_id"
LABEL = "churn_label"
EVENT_TIMESTAMP = "event_timestamp"
SPLIT = "split"

# Column kinds used to parse the CSVs and to type the snapshot.
#   "str": text, "int": non-negative integer count, "float": number, "bool": True/False with
#   missing allowed (a missing boolean stays missing: it never becomes True or False),
#   "date": ISO date, "label": the churn label, written True/False (the course's exports; the same
#   case rules as booleans) or 0/1, kept as a nullable 0/1 integer. A blank label is an unlabelled
#   user, like a user with no labels.csv row: counted and left out of training and validation.
FILES: dict[str, dict[str, str]] = {
    "users.csv": {
        "user_id": "str",
        "signup_date": "date",
        "user_gender": "str",
        "user_is_senior": "bool",
        "has_family": "bool",
        "has_dependents": "bool",
    },
    "subscriptions.csv": {
        "user_id": "str",
        "months_active": "int",
        "plan_stream_tv": "bool",
        "plan_stream_movies": "bool",
        "contract_type": "str",
        "paperless_billing": "bool",
        "monthly_fee": "float",
        "total_paid": "float",
        "net_service": "str",
    },
    "usage_agg_30d.csv": {
        "user_id": "str",
        "watch_hours_30d": "float",
        "avg_session_mins_7d": "float",
        "unique_devices_30d": "int",
        "skips_7d": "int",
        "rebuffer_events_7d": "int",
    },
    "payments_agg_90d.csv": {
        "user_id": "str",
        "failed_payments_90d": "int",
    },
    "support_agg_90d.csv": {
        "user_id": "str",
        "support_tickets_90d": "int",
        "ticket_avg_resolution_hrs_90d": "float",
    },
    "labels.csv": {
        "user_id": "str",
        "churn_label": "label",
    },
}
REQUIRED_FILES = tuple(FILES)
# The file each column comes from (user_id -> users.csv, where every user starts), so that a
# message about a column can name the file to fix.
FILE_OF: dict[str, str] = {}
for _file, _columns in FILES.items():
    for _column in _columns:
        FILE_OF.setdefault(_column, _file)

# Feature views of the Feast repo: which snapshot file feeds which view, and the 14 model
# features (the course stack's). The snapshot keeps the other columns (demographics,
# paperless_billing, total_paid) for analysis, but they are not model features.
FEATURE_VIEWS: dict[str, tuple[str, ...]] = {
    "subs_profile_fv": (
        "months_active",
        "contract_type",
        "monthly_fee",
        "net_service",
        "plan_stream_tv",
        "plan_stream_movies",
    ),
    "usage_agg_30d_fv": (
        "watch_hours_30d",
        "avg_session_mins_7d",
        "unique_devices_30d",
        "skips_7d",
        "rebuffer_events_7d",
    ),
    "payments_agg_90d_fv": ("failed_payments_90d",),
    "support_agg_90d_fv": ("support_tickets_90d", "ticket_avg_resolution_hrs_90d"),
}
FEATURES: tuple[str, ...] = tuple(f for cols in FEATURE_VIEWS.values() for f in cols)

COLUMN_KINDS: dict[str, str] = {
    col: kind for columns in FILES.values() for col, kind in columns.items()
}
CATEGORICAL_FEATURES = tuple(f for f in FEATURES if COLUMN_KINDS[f] == "str")
BOOLEAN_FEATURES = tuple(f for f in FEATURES if COLUMN_KINDS[f] == "bool")
NUMERIC_FEATURES = tuple(f for f in FEATURES if COLUMN_KINDS[f] in ("int", "float"))

# Allowed values of the categorical columns (the importer rejects others in `contract_type`
# and `user_gender`; `net_service` may grow new values, which the model must tolerate).
CONTRACT_TYPES = ("Month-to-month", "One year", "Two year")
NET_SERVICES = ("DSL", "Fiber optic", "No")
GENDERS = ("Female", "Male")
# Every text column with a closed set of values, and the values the platform knows: a value
# outside them (where the importer accepts it) is reported as a category never seen before.
KNOWN_CATEGORIES: dict[str, tuple[str, ...]] = {
    "contract_type": CONTRACT_TYPES,
    "net_service": NET_SERVICES,
    "user_gender": GENDERS,
}

assert len(FEATURES) == 14, FEATURES
