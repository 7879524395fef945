"""drift_report: Evidently, previous month (reference) against this month (current)."""


import pandas as pd
from dagster import AssetExecutionContext, AssetIn, AssetKey, Failure, MetadataValue, Output, asset

from mlops_assets import figures
from mlops_assets.domain.drift import RETRAINING_TRIGGERED
from mlops_assets.domain.metrics import format_share
from mlops_assets.domain.months import as_of_for, previous_month_key
from mlops_assets.partitions import monthly_partitions, previous_and_this_month
from mlops_assets.resources import MlflowModelRegistry, ReportStore, RetrainingPolicy


def _bar(column) -> figures.DriftBar:
    return figures.DriftBar(column.column, column.score, column.threshold, column.drifted, column.method)


def _monitoring_links(context, registry: MlflowModelRegistry, month: str, paths, metrics: dict) -> dict:
    """The report's files as artifacts of an MLflow monitoring run, and links to them. The report
    itself is on disk already: MLflow being down costs the links (a warning and a note), not the
    report or the retraining decision."""
    try:
        run = registry.log_monitoring_run(
            f"drift_{month}", metrics=metrics, tags={"partition": month, "dagster_run_id": context.run.run_id},
            artifacts=[p for p in paths if p is not None],
        )
    except Exception as exc:  # noqa: BLE001 - any MLflow failure: keep the report, say so
        context.log.warning(f"[Evidently] report not logged to MLflow ({type(exc).__name__}: {str(exc)[:300]})")
        return {"mlflow_monitoring_run": f"not logged: {type(exc).__name__}: {str(exc)[:200]}"}
    links = {"mlflow_monitoring_run_id": run["run_id"]}
    urls = {"mlflow_monitoring_run_url": registry.run_url(run["experiment_id"], run["run_id"])}
    if paths[0] is not None:
        urls["report_html_url"] = registry.run_url(run["experiment_id"], run["run_id"], artifact=paths[0].name)
    return links | {name: MetadataValue.url(url) for name, url in urls.items() if url}


def _this_and_previous(loaded, month: str) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    # Dagster hands a single value when the window holds one partition (the first month) and a
    # dict when it holds two; missing partitions are left out (allow_missing_partitions).
    months = loaded if isinstance(loaded, dict) else {month: loaded}
    return months.get(month), months.get(previous_month_key(month))


@asset(
    partitions_def=monthly_partitions,
    group_name="monitoring",
    kinds={"evidently"},
    ins={
        "monthly_snapshot": AssetIn(
            partition_mapping=previous_and_this_month, metadata={"allow_missing_partitions": True}
        )
    },
    description="Evidently data drift of the 14 features, previous month (reference) against this "
    "month (current), saved as HTML and JSON; drift_share and per-column drift as metadata, target "
    "drift reported on its own. The drift_sensor reads drift_share.",
)
def drift_report(
    context: AssetExecutionContext,
    monthly_snapshot,
    reports: ReportStore,
    policy: RetrainingPolicy,
    registry: MlflowModelRegistry,
) -> Output[dict]:
    from mlops_assets.drift_reports import build_drift_report, write_no_reference_report

    month = context.partition_key
    current, reference = _this_and_previous(monthly_snapshot, month)
    current_as_of = as_of_for(month).isoformat()
    if current is None:
        raise Failure(description=f"month {month}: monthly_snapshot is not materialized; materialize it first")
    previous = previous_month_key(month)
    reference_as_of = as_of_for(previous).isoformat()

    if reference is None:
        earlier = [k for k in context.instance.get_materialized_partitions(AssetKey("monthly_snapshot")) if k < month]
        if earlier:
            raise Failure(
                description=f"month {month}: the reference month {previous} has no monthly_snapshot while earlier "
                f"months ({', '.join(sorted(earlier)[-3:])}) do; a month is missing. Materialize monthly_snapshot "
                f"for {previous} first (dagster asset materialize --select monthly_snapshot --partition {previous})."
            )
        _, json_path = reports.report_paths("none", current_as_of)
        write_no_reference_report(json_path, current_as_of)
        action = policy.action(None, has_reference=False)
        context.log.info(
            f"[Evidently] report_html=None report_json={json_path} drift_share=None -> {action} "
            "(first month: no reference, bootstrap)"
        )
        result = {"month": month, "has_reference": False, "reference_month": None, "drift_share": None,
                  "drifted_columns": [], "report_html": None, "report_json": str(json_path), "action": action}
        links = _monitoring_links(context, registry, month, (None, json_path), {})
        return Output(result, metadata={"has_reference": False, "drift_share": float("nan"), "action": action,
                                        "note": "first month: no reference month to compare against",
                                        "report_json": MetadataValue.path(str(json_path)), **links})

    html_path, json_path = reports.report_paths(reference_as_of, current_as_of)
    summary = build_drift_report(reference, current, html_path, json_path)
    action = policy.action(summary.drift_share, has_reference=True)
    context.log.info(
        f"[Evidently] report_html={html_path} report_json={json_path} drift_share={format_share(summary.drift_share)} -> {action}"
    )
    per_column = {c.column: {"score": c.score, "method": c.method, "drifted": c.drifted} for c in summary.columns}
    target = summary.target
    table = "\n".join(
        ["| feature | method | score | drifted |", "|---|---|---|---|"]
        + [
            f"| {c.column} | {c.method} | {'-' if c.score is None else f'{c.score:.4g}'} | {'yes' if c.drifted else ''} |"
            for c in summary.columns
        ]
    )
    drift_png = figures.drift_figure(
        [_bar(c) for c in summary.columns], None if target is None else _bar(target),
        drift_share=summary.drift_share, title=f"{reference_as_of} -> {current_as_of}",
    )
    figure_path = reports.figure_path("drift", month)
    figure_path.write_bytes(drift_png)
    links = _monitoring_links(
        context, registry, month, (html_path, json_path, figure_path),
        {"drift_share": summary.drift_share, "drifted_count": summary.drifted_count},
    )
    result = {
        "month": month,
        "has_reference": True,
        "reference_month": previous,
        "drift_share": summary.drift_share,
        "drifted_columns": summary.drifted_columns,
        "target_drifted": None if target is None else target.drifted,
        "report_html": str(html_path),
        "report_json": str(json_path),
        "action": action,
    }
    return Output(
        result,
        metadata={
            "has_reference": True,
            "reference_month": previous,
            "drift_share": round(summary.drift_share, 3),
            "drifted_count": summary.drifted_count,
            "drifted_columns": MetadataValue.json(summary.drifted_columns),
            "per_column_drift": MetadataValue.json(per_column),
            "target_drift_score": float("nan") if target is None or target.score is None else round(target.score, 4),
            "target_drifted": bool(target.drifted) if target else False,
            "drift_threshold": policy.drift_threshold,
            "action": action,
            "retraining_triggered": action == RETRAINING_TRIGGERED,
            "report_html": MetadataValue.path(str(html_path)),
            "report_json": MetadataValue.path(str(json_path)),
            **links,
            "drift_chart": MetadataValue.md(figures.markdown_image(drift_png, f"drift {month}")),
            "drift_chart_png": MetadataValue.path(str(figure_path)),
            "summary": MetadataValue.md(
                f"**drift_share {summary.drift_share:.3f}** ({summary.drifted_count} of {len(summary.columns)} features) "
                f"{reference_as_of} → {current_as_of}: {action}\n\n{table}"
            ),
        },
    )
