"""The dashboard: editors' actions and items per week, top topics, top sources (``/dashboard``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from medcurate.store.queries import Dashboard, dashboard, editor_actions
from medcurate.web.charts import horizontal_bars, line_chart, stacked_bars
from medcurate.web.deps import ContextDep, CurrentPrincipal, SessionDep, ViewerUser
from medcurate.web.pages import render
from medcurate.web.routes import ERROR_RESPONSES
from medcurate.web.schemas import LabelCount, StatsPublic, TopicSeries, WeekCount

api = APIRouter(tags=["dashboard"], responses=ERROR_RESPONSES)
pages = APIRouter(include_in_schema=False)


def _week_labels(figures: Dashboard) -> list[str]:
    return [week.strftime("%d %b") for week in figures.weeks]


@api.get("/stats")
def api_stats(session: SessionDep, user: ViewerUser) -> StatsPublic:
    """The dashboard's figures as data."""
    del user
    figures = dashboard(session)
    weeks = [week.date().isoformat() for week in figures.weeks]
    return StatsPublic(
        weeks=weeks,
        items_per_week=[
            WeekCount(week=week, counts={state: counts[i] for state, counts in figures.per_week.items()})
            for i, week in enumerate(weeks)
        ],
        top_topics=[
            TopicSeries(label=label, counts=list(counts)) for label, counts in figures.topics.items()
        ],
        top_sources=[LabelCount(label=label, count=count) for label, count in figures.sources],
        totals=figures.totals,
        actions_per_week=_action_weeks(session),
    )


def _action_weeks(session: Session) -> list[WeekCount]:
    actions = editor_actions(session)
    return [
        WeekCount(week=week.date().isoformat(), counts={name: c[i] for name, c in actions.counts.items()})
        for i, week in enumerate(actions.weeks)
    ]


@pages.get("/dashboard")
def dashboard_page(
    request: Request, context: ContextDep, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    """Charts, drawn as SVG on the server."""
    figures = dashboard(session)
    labels = _week_labels(figures)
    actions = editor_actions(session)
    action_labels = [week.strftime("%d %b") for week in actions.weeks]
    return render(
        request,
        context,
        "dashboard.html",
        principal=principal,
        totals=figures.totals,
        actions=stacked_bars(action_labels, actions.counts, title="Editors' actions per week"),
        per_week=stacked_bars(labels, figures.per_week, title="Items per week by state"),
        topics=line_chart(labels, figures.topics, title="Top topics per week"),
        sources=horizontal_bars(list(figures.sources), title="Top sources"),
    )
