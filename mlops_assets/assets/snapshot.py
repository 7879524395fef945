"""monthly_snapshot: a landing month folder, typed and validated, written to the Feast offline store."""

import warnings

import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MetadataValue, Output, asset
from dagster_pandera import pandera_schema_to_dagster_type
from pydantic import Field

from mlops_assets.checks import snapshot_check_specs, snapshot_quality
from mlops_assets.domain.months import as_of_for, previous_month_key
from mlops_assets.domain.quality import category_values, quality_findings
from mlops_assets.domain.schema import LABEL
from mlops_assets.importer import SNAPSHOT_SCHEMA, SnapshotError
from mlops_assets.partitions import monthly_partitions
from mlops_assets.records import latest_materialization, latest_metadata
from mlops_assets.resources import FeastFeatureStore, LandingArea

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # dagster-pandera marks this function beta
    # The snapshot's pandera schema as Dagster's column schema, shown in the UI. The importer
    # validates with the same schema before anything is written (a Dagster type would validate
    # again, on output, after the Feast tables were already written: twice, and too late).
    SNAPSHOT_COLUMN_SCHEMA = pandera_schema_to_dagster_type(SNAPSHOT_SCHEMA).metadata["schema"].value


class SnapshotConfig(Config):
    replace_existing: bool = Field(
        default=False,
        description="Re-import a month that was already imported from different content (a deliberate "
        "correction). Without it, a re-delivery with different content is refused.",
    )


def _previous_import(context: AssetExecutionContext, month: str) -> dict | None:
    record = latest_materialization(context.instance, "monthly_snapshot", month)
    if record is None:
        return None
    metadata = record.asset_materialization.metadata
    return {
        "fingerprint": metadata["landing_fingerprint"].value if "landing_fingerprint" in metadata else None,
        "archive": metadata["archived_delivery"].value if "archived_delivery" in metadata else None,
        "run_id": record.run_id,
    }


def _seen_categories(context: AssetExecutionContext, month: str) -> dict[str, set[str]]:
    """Every categorical value the earlier months' snapshots held (from their metadata)."""
    seen: dict[str, set[str]] = {}
    for earlier in (key for key in monthly_partitions.get_partition_keys() if key < month):
        metadata = latest_metadata(context.instance, "monthly_snapshot", earlier) or {}
        for column, values in (metadata.get("category_values") or {}).items():
            seen.setdefault(column, set()).update(values)
    return seen


@asset(
    partitions_def=monthly_partitions,
    group_name="ingest",
    kinds={"pandas", "feast"},
    metadata={"dagster/column_schema": SNAPSHOT_COLUMN_SCHEMA},
    check_specs=snapshot_check_specs,
    description="One month of StreamFlow users from the landing area: six files joined per user, "
    "typed and validated (pandera), and written to the Feast offline store (one table per feature view). "
    "A month already imported is never silently replaced by a different delivery. Valid but suspicious "
    "data is reported as warnings (snapshot_quality).",
)
def monthly_snapshot(context: AssetExecutionContext, config: SnapshotConfig, landing: LandingArea, feature_store: FeastFeatureStore):
    month = context.partition_key
    folder = landing.month_folder(month)
    try:
        snapshot = landing.read_month(month)
    except SnapshotError as exc:
        # Expected bad input: the message says it all (month, file, problem). `from None` keeps
        # the importer's traceback out of the step and run failure.
        raise Failure(description=str(exc), metadata={"month": month, "landing_folder": str(folder)}) from None

    # Re-delivery rule: the same content re-imports (idempotent); different content is refused
    # unless asked for, so a second delivery never silently replaces the first. Refusing happens
    # before anything is written: the stored snapshot and the Feast tables keep the first delivery.
    fingerprint, digests = landing.delivery_hashes(month)
    previous = _previous_import(context, month)
    replaced = None
    if previous and previous["fingerprint"] and previous["fingerprint"] != fingerprint:
        if not config.replace_existing:
            raise Failure(
                description=f"month {month}: already imported from content {previous['fingerprint'][:12]} "
                f"(run {previous['run_id'][:8]}), and {folder} now holds different content {fingerprint[:12]}. "
                "A re-delivery never silently replaces a month: the first import stays in place "
                f"(its files are archived at {previous['archive']}). To replace the month deliberately, "
                "materialize monthly_snapshot for it with config replace_existing: true.",
                metadata={"month": month, "imported_fingerprint": previous["fingerprint"], "landing_fingerprint": fingerprint},
            )
        replaced = previous["fingerprint"]
        context.log.warning(f"month {month}: replacing the import of {replaced[:12]} with {fingerprint[:12]} (replace_existing)")
    archived = landing.archive(month, fingerprint)

    as_of = pd.Timestamp(as_of_for(month))
    feast_rows = feature_store.write_month(month, snapshot, as_of)
    labelled = snapshot[LABEL].notna()
    label_coverage = float(labelled.mean()) if len(snapshot) else 0.0
    churn_rate = float(snapshot.loc[labelled, LABEL].astype(float).mean()) if labelled.any() else float("nan")
    unknown_label_users = int(snapshot.attrs.get("unknown_label_users", 0))
    blank_labels = int(snapshot.attrs.get("blank_labels", 0))
    without_label_row = int(snapshot.attrs.get("users_without_label_row", 0))
    if label_coverage < 1.0:
        context.log.warning(
            f"month {month}: {int((~labelled).sum())} users have no label ({blank_labels} blank in labels.csv, "
            f"{without_label_row} without a labels.csv row); training and validation use the {int(labelled.sum())} labelled ones"
        )
    if unknown_label_users:
        context.log.warning(f"month {month}: labels.csv holds {unknown_label_users} users not in users.csv; ignored")
    previous_key = previous_month_key(month)
    findings = quality_findings(
        snapshot,
        month,
        digests=digests,
        ignored_columns=snapshot.attrs.get("ignored_columns", {}),
        previous_month=previous_key,
        previous_digests=(latest_metadata(context.instance, "monthly_snapshot", previous_key) or {}).get("file_sha256"),
        seen_categories=_seen_categories(context, month),
    )
    for finding in findings:
        context.log.warning(finding.message)
    context.log.info(
        f"[SNAPSHOT] month={month} as_of={as_of.date()} users={len(snapshot)} labelled={int(labelled.sum())} "
        f"churn_rate={churn_rate:.3f} fingerprint={fingerprint[:12]}"
    )
    yield Output(
        snapshot,
        metadata={
            "as_of": as_of.date().isoformat(),
            "dagster/row_count": len(snapshot),
            "dagster/column_schema": SNAPSHOT_COLUMN_SCHEMA,
            "labelled_users": int(labelled.sum()),
            "label_coverage": label_coverage,
            "churn_rate": churn_rate,
            "landing_folder": MetadataValue.path(str(folder)),
            "landing_fingerprint": fingerprint,
            "archived_delivery": MetadataValue.path(str(archived)),
            "replaced_fingerprint": replaced or "",
            "unknown_label_users": unknown_label_users,
            "blank_labels": blank_labels,
            "users_without_label_row": without_label_row,
            "quality_warnings": MetadataValue.json([f.message for f in findings]),
            "file_sha256": MetadataValue.json(digests),
            "category_values": MetadataValue.json(category_values(snapshot)),
            "feast_rows": MetadataValue.json(feast_rows),
            "feast_repo": MetadataValue.path(feature_store.repo_path),
            "preview": MetadataValue.md(snapshot.head(5).to_markdown(index=False)),
        },
    )
    yield snapshot_quality(findings)
