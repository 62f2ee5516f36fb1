"""The weekly bulletin as PDF and CSV (logic/bulletin.py): every word from the catalogue in the report's language,
times in the caller's zone, every figure beside its denominator."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sentrix.domain.epiweeks import EpiWeek
from sentrix.i18n import Locale
from sentrix_report.logic.aggregate_report import Report

PROVENANCE_PREFIX = "# "


def previous_labels(meta: dict[str, Any], weeks: int) -> list[str]:
    """The labels of the `weeks` weeks before the bulletin's, oldest first."""
    week, labels = EpiWeek(meta["week"]["year"], meta["week"]["week"]), []
    for _ in range(weeks):
        week = week.previous()
        labels.insert(0, week.label)
    return labels


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def change_text(figure: dict[str, Any], locale: Locale) -> str:
    if figure["change_pct"] is None:
        return locale.t("bulletin.below_base", total=figure["previous_total"], min_base=figure["min_base"])
    return f"{figure['change_pct']:+.2f} % ({figure['numerator']} / {figure['denominator']})"


def ratio_text(r: dict[str, Any]) -> str:
    return f"{_number(r['value'])} ({r['numerator']} / {r['denominator']})"


def _scope(meta: dict[str, Any], locale: Locale) -> str:
    return locale.t("bulletin.scope_official" if meta["scope"] == "official territories" else "bulletin.scope_all")


def _day(value: str, locale: Locale) -> str:
    day = datetime.fromisoformat(value)
    return f"{locale.day_name(day.date())} {day.day} {locale.month_name(day.month)} {day.year}"


def _subtitle(meta: dict[str, Any], locale: Locale) -> str:
    week, territory = meta["week"], meta["territory"]
    return locale.t(
        "bulletin.subtitle",
        territory=territory["name"],
        code=territory["code"],
        label=week["label"],
        start=_day(week["start"], locale),
        end=_day(week["end"], locale),
    )


def _provenance_pairs(meta: dict[str, Any], locale: Locale) -> list[tuple[str, str]]:
    say, week, rows = locale.t, meta["week"], meta["rows"]
    return [
        (say("report.generated_by"), meta["generated_by"]),
        (say("report.generated"), locale.time(datetime.fromisoformat(meta["generated_at"]), with_zone=True)),
        (say("bulletin.territory"), f"{meta['territory']['name']} ({meta['territory']['code']})"),
        (say("report.scope"), _scope(meta, locale)),
        (
            say("bulletin.week"),
            say(
                "bulletin.week_value", label=week["label"], start=week["start"], end=week["end"], zone=meta["timezone"]
            ),
        ),
        (say("bulletin.read"), say("bulletin.read_value", **rows)),
        (say("report.fingerprint"), f"{meta['fingerprint']['value']} ({meta['fingerprint']['version']})"),
    ]


def render_pdf(report: Report) -> bytes:
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer

    from sentrix_report.render.pdf_base import CONTENT_WIDTH, STYLES, build, key_values, para, table, text

    meta, data, locale = report.meta, report.data, report.locale
    say = locale.t
    title = say("report.weekly_title")
    story: list = [Paragraph(text(title), STYLES["title"]), para(_subtitle(meta, locale), "subtitle")]
    if not meta["week"]["complete"]:
        story.append(para(say("bulletin.incomplete")))
    story += [Paragraph(text(say("report.about")), STYLES["h2"]), key_values(_provenance_pairs(meta, locale))]

    # 1. The week against the previous four
    labels = [label.split("-")[1] for label in previous_labels(meta, meta["compared_weeks"])]
    head = [say("bulletin.col_figure"), say("bulletin.col_week"), *labels, say("bulletin.col_total"),
            say("bulletin.col_mean"), say("bulletin.col_change")]  # fmt: skip
    body = [
        [f["label"], f["current"], *f["previous_weeks"], f["previous_total"], _number(f["previous_mean"]),
         change_text(f, locale)]
        for f in data["figures"]
    ]  # fmt: skip
    widths = [4.6 * cm, 1.7 * cm, *[1.2 * cm] * len(labels), 1.5 * cm, 1.3 * cm]
    widths.append(CONTENT_WIDTH - sum(widths))
    story += [
        Paragraph(text(say("bulletin.trend_heading", weeks=meta["compared_weeks"])), STYLES["h2"]),
        table([head, *body], widths, font_size=8),
        Spacer(1, 3),
        para(say("bulletin.change_note", min_base=meta["min_base"]), "small"),
    ]

    # 2. Alert levels (a separate section: the cluster-alert module fills it)
    alerts = data["alerts"]
    story.append(Paragraph(text(say("bulletin.alerts_heading")), STYLES["h2"]))
    if alerts["rows"]:
        rows = [[r["territory"], r["level_label"], r["clusters"]] for r in alerts["rows"]]
        story.append(
            table([[say("bulletin.col_territory"), say("bulletin.col_level"), say("bulletin.col_clusters")], *rows])
        )
    if alerts["note"]:
        story.append(para(alerts["note"]))

    # 3. The highest-priority open sites
    top = data["top_sites"]
    story += [
        Paragraph(text(say("bulletin.top_heading", shown=top["shown"], total=top["open_sites"])), STYLES["h2"]),
        para(f"{say('bulletin.top_note')} {say('bulletin.times_in', zone=meta['timezone'])}", "small"),
        Spacer(1, 3),
    ]
    if top["sites"]:
        head = ["#", say("bulletin.col_site"), say("bulletin.col_type"), say("bulletin.col_status"),
                say("bulletin.col_priority"), say("bulletin.col_reasons"), say("bulletin.col_last_report"),
                say("bulletin.col_position")]  # fmt: skip
        rows = [
            [s["rank"], s["id"][:8], s["family_label"], s["status_label"], s["priority"]["score"],
             "; ".join(r["label"] for r in s["priority"]["reasons"]),
             locale.time(datetime.fromisoformat(s["last_report_at"]), offset=False) if s["last_report_at"] else "-",
             f"{s['latitude']:.5f}, {s['longitude']:.5f}"]
            for s in top["sites"]
        ]  # fmt: skip
        widths = [w * cm for w in (0.9, 1.7, 2.5, 1.6, 1.5)]
        widths += [CONTENT_WIDTH - sum(widths) - 5.2 * cm, 2.3 * cm, 2.9 * cm]
        story.append(table([head, *rows], widths, font_size=7.5))
    else:
        story.append(para(say("bulletin.none")))

    # 4. Closures and recurrences
    closures = data["closures"]
    median = closures["median_days_to_close"]
    story += [
        KeepTogether(
            [
                Paragraph(text(say("bulletin.closures_heading")), STYLES["h2"]),
                key_values(
                    [
                        (say("bulletin.metric.closed"), closures["closed"]),
                        (say("bulletin.metric.reopened"), closures["reopened"]),
                        (say("bulletin.metric.automatic"), ratio_text(closures["reopened_automatic"])),
                        (say("bulletin.metric.recurrence_rate"), ratio_text(closures["recurrence_rate"])),
                        (
                            say("bulletin.metric.median_days"),
                            say("bulletin.median_value", value=_number(median["value"]), closes=median["closes"]),
                        ),
                    ]
                ),
            ]
        ),
        Spacer(1, 4),
    ]
    events = closures["closures"] + closures["recurrences"]
    if events:
        head = [say("bulletin.col_when"), say("bulletin.col_event"), say("bulletin.col_site"),
                say("bulletin.col_type"), say("bulletin.col_cause"), say("bulletin.col_days"),
                say("bulletin.col_team")]  # fmt: skip
        rows = [
            [locale.time(datetime.fromisoformat(e["at"]), offset=False), e["event_label"], e["site_id"][:8],
             e["family_label"], e["cause_label"] or "-", _number(e["days_since_first_report"]), e["team"] or "-"]
            for e in sorted(events, key=lambda e: e["at"])
        ]  # fmt: skip
        widths = [w * cm for w in (2.6, 1.8, 1.7, 2.5)]
        widths += [CONTENT_WIDTH - sum(widths) - 4.4 * cm, 2.2 * cm, 2.2 * cm]
        story.append(table([head, *rows], widths, font_size=7.5))
    else:
        story.append(para(say("bulletin.none")))

    generated = locale.time(datetime.fromisoformat(meta["generated_at"]), with_zone=True)
    footer = (
        f"Sentrix · {meta['territory']['code']} · {meta['week']['label']} · SHA-256 "
        f"{meta['fingerprint']['value'][:16]}… · {say('report.generated')} {generated}"
    )
    return build(story, title=f"{title} {meta['week']['label']}", footer=footer)


CSV_COLUMNS = ("section", "item", "value", "numerator", "denominator", "latitude", "longitude", "label")


def _csv_rows(report: Report) -> list[list[Any]]:
    meta, data, locale = report.meta, report.data, report.locale
    rows: list[list[Any]] = []
    labels = previous_labels(meta, meta["compared_weeks"])
    for f in data["figures"]:
        name, label = f["figure"], f["label"]
        rows.append(["week", name, f["current"], "", "", "", "", label])
        rows += [
            ["previous_week", f"{name}:{w}", n, "", "", "", "", label]
            for w, n in zip(labels, f["previous_weeks"], strict=True)
        ]
        rows.append(["previous_mean", name, f["previous_mean"], f["previous_total"], meta["compared_weeks"], "", "",
                     label])  # fmt: skip
        rows.append(["change_pct", name, f["change_pct"], f["numerator"], f["denominator"], "", "",
                     f["reason"] or label])  # fmt: skip
    alerts = data["alerts"]
    if not alerts["available"]:
        rows.append(["alerts", "available", "false", "", "", "", "", alerts["note"]])
    for r in alerts["rows"]:
        rows.append(["alert_level", r["territory"], r["level"], r["clusters"], "", "", "", r["level_label"]])
    top = data["top_sites"]
    rows.append(["top_sites", "shown", top["shown"], top["shown"], top["open_sites"], "", "",
                 locale.t("bulletin.top_heading", shown=top["shown"], total=top["open_sites"])])  # fmt: skip
    for s in top["sites"]:
        reasons = "; ".join(r["label"] for r in s["priority"]["reasons"])
        rows.append(["top_site", s["id"], s["priority"]["score"], s["rank"], top["open_sites"], s["latitude"],
                     s["longitude"], f"{s['family_label']}; {s['status_label']}; {reasons}"])  # fmt: skip
    closures = data["closures"]
    say = locale.t
    rows.append(["closures", "closed", closures["closed"], "", "", "", "", say("bulletin.metric.closed")])
    rows.append(["closures", "reopened", closures["reopened"], "", "", "", "", say("bulletin.metric.reopened")])
    for key, word in (("reopened_automatic", "automatic"), ("recurrence_rate", "recurrence_rate")):
        r = closures[key]
        rows.append(["closures", key, r["value"], r["numerator"], r["denominator"], "", "",
                     say(f"bulletin.metric.{word}")])  # fmt: skip
    median = closures["median_days_to_close"]
    rows.append(["closures", "median_days_to_close", median["value"], "", median["closes"], "", "",
                 say("bulletin.metric.median_days")])  # fmt: skip
    for e in closures["closures"] + closures["recurrences"]:
        when = locale.time(datetime.fromisoformat(e["at"]))
        words = f"{e['event_label']}; {e['family_label']}; {when}" + (
            f"; {e['cause_label']}" if e["cause_label"] else ""
        )
        rows.append([e["event"], e["site_id"], e["days_since_first_report"], "", "", "", "", words])
    return rows


def render_csv(report: Report) -> str:
    meta, locale = report.meta, report.locale
    lines = [
        locale.t("report.weekly_title"),
        _subtitle(meta, locale),
        f"generated_at: {meta['generated_at']}",
        f"generated_by: {meta['generated_by']}",
        f"language: {meta['language']}; timezone: {meta['timezone']}",
        f"territory: {meta['territory']['code']}; week: {meta['week']['label']} "
        f"({meta['week']['start']} .. {meta['week']['end']})",
        *([] if meta["week"]["complete"] else [locale.t("bulletin.incomplete")]),
        *(f"{label}: {value}" for label, value in _provenance_pairs(meta, locale)[2:6]),
        "rows: " + " ".join(f"{k}={v}" for k, v in meta["rows"].items()),
        f"fingerprint_sha256: {meta['fingerprint']['value']} (version {meta['fingerprint']['version']})",
        locale.t("bulletin.change_note", min_base=meta["min_base"]),
    ]
    out = io.StringIO()
    out.writelines(PROVENANCE_PREFIX + " ".join(line.split()) + "\r\n" for line in lines)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows([["" if v is None else v for v in row] for row in _csv_rows(report)])
    return out.getvalue()
