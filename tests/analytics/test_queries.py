"""Every aggregate of the staff app on the seeded dataset (SQLite, then PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from types import SimpleNamespace

import pytest
import yaml
from sqlalchemy import create_engine, inspect, text

from bot.analytics import engines, filters, ingest, nlu_export, online, queries, service, targets
from tests.analytics import seed

DAY, NEXT = seed.DAY, seed.NEXT_DAY
BOTH = filters.Filters(DAY, NEXT)
POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def by_key(rows, key="key"):
    return {row[key]: row for row in rows}


def check_every_aggregate(engine) -> None:
    """The same assertions on any database."""
    overview = queries.overview(engine, BOTH)
    assert overview["totals"] == {"conversations": 4, "messages": 14, "citizens": 4}
    assert [(r["day"], r["channel"], r["conversations"], r["messages"]) for r in overview["per_day"]] == [
        (DAY, "rest", 1, 3), (DAY, "telegram", 1, 6), (NEXT, "telegram", 1, 1), (NEXT, "zalo", 1, 4)]
    assert queries.channels(engine) == ["rest", "telegram", "zalo"]

    telegram = queries.overview(engine, filters.Filters(DAY, NEXT, "telegram"))
    assert telegram["totals"] == {"conversations": 2, "messages": 7, "citizens": 2}
    only_next = queries.overview(engine, filters.Filters(NEXT, NEXT))
    assert only_next["totals"] == {"conversations": 2, "messages": 5, "citizens": 2}
    assert queries.overview(engine, filters.Filters(DAY, NEXT, "x' OR 1=1 --"))["totals"]["messages"] == 0

    intents = by_key(queries.top_intents(engine, BOTH), "intent")
    assert intents["inform"]["messages"] == 3 and intents["inform"]["citizens"] == 2
    assert intents["check_dossier_status"]["messages"] == 2
    assert intents["nlu_fallback"]["messages"] == 2
    assert sum(r["messages"] for r in intents.values()) == 14

    procedures = by_key(queries.top_procedures(engine, BOTH), "procedure")
    assert procedures["khai_sinh"]["messages"] == 5 and procedures["khai_sinh"]["name"] == "Đăng ký khai sinh"
    assert procedures["ly_lich_tu_phap"]["citizens"] == 1

    fallback = queries.fallback_per_day(engine, BOTH)
    assert [(r["messages"], r["not_understood"]) for r in fallback] == [(9, 2), (5, 0)]
    assert fallback[0]["rate"] == pytest.approx(2 / 9, abs=1e-4)
    missed = queries.not_understood(engine, BOTH)
    assert [r["text"] for r in missed] == ["tên tôi là ***, số điện thoại ***, hỏi về đất", "abc xyz lung tung quá"]
    export = yaml.safe_load(nlu_export.nlu_yaml(r["text"] for r in missed))
    assert export["version"] == "3.1"
    assert export["nlu"][0]["intent"] == "TODO_LABEL"
    assert export["nlu"][0]["examples"].splitlines() == [f"- {r['text']}" for r in missed]

    targets.set_target(engine, "field", "ho_tich", 0.5, "admin")
    targets.set_target(engine, "locality", "phuong-tam-ky", 0.4, "admin")
    per_procedure = by_key(online.funnel(engine, BOTH, "procedure"))
    birth = per_procedure["khai_sinh"]
    assert [birth[s] for s in ("procedure_viewed", "online_guidance", "draft_created", "submitted")] == [3, 2, 1, 1]
    assert birth["progress"] == pytest.approx(1 / 3, abs=1e-4)
    assert birth["target"] == 0.5 and birth["attainment"] == pytest.approx(0.6667, abs=1e-4)
    assert per_procedure["ly_lich_tu_phap"]["progress"] == 0 and per_procedure["ly_lich_tu_phap"]["target"] is None
    per_field = by_key(online.funnel(engine, BOTH, "field"))
    assert per_field["ho_tich"]["procedure_viewed"] == 3 and per_field["tu_phap"]["procedure_viewed"] == 1
    assert per_field["dat_dai"]["procedure_viewed"] == 0  # every field is listed, to set its target
    per_place = by_key(online.funnel(engine, BOTH, "locality"))
    assert per_place["phuong-tam-ky"]["name"] == "phường Tam Kỳ"
    assert per_place["phuong-tam-ky"]["progress"] == 0.5 and per_place["phuong-tam-ky"]["attainment"] == 1.25
    assert per_place["xa-nui-thanh"]["procedure_viewed"] == 2
    assert by_key(online.funnel(engine, filters.Filters(DAY, NEXT, "rest")))["khai_sinh"]["submitted"] == 0

    reasons = by_key(online.offline(engine, BOTH, "procedure"))
    assert reasons["khai_sinh"]["no_vneid"] == 2 and reasons["khai_sinh"]["top_reason"] == "no_vneid"
    assert reasons["ly_lich_tu_phap"]["dont_know_how"] == 1
    places = by_key(online.offline(engine, BOTH, "locality"))
    assert places["xa-nui-thanh"]["total"] == 2 and places["phuong-tam-ky"]["total"] == 1
    assert by_key(online.offline(engine, BOTH, "field"))["ho_tich"]["total"] == 2
    assert online.offline_totals(list(reasons.values()))["no_vneid"] == 2

    outcomes = service.lookup_outcomes(engine, BOTH)
    assert {r["outcome"]: r["lookups"] for r in outcomes["rows"]} == {
        "found": 1, "not_found": 0, "verification_failed": 0, "system_down": 1, "locked": 0}
    assert outcomes["per_day"][1]["found"] == 1

    requests = service.handoff_requests(engine, BOTH)
    assert requests["totals"] == {"human_handoff": 1, "complain": 1}
    assert [r["kind"] for r in requests["recent"]] == ["complain", "human_handoff"]

    ratings = by_key(service.satisfaction(engine, BOTH, "intent"))
    assert ratings["ask_documents"]["useful"] == 1 and ratings["ask_documents"]["not_useful"] == 1
    assert ratings["ask_documents"]["useful_share"] == 0.5
    assert by_key(service.satisfaction(engine, BOTH, "procedure"))["ly_lich_tu_phap"]["useful_share"] == 1.0

    latency = queries.latency_per_day(engine, BOTH)
    # DAY: 1,2,0.5,1,3,4 s (form) and 1,2,1 s (rest); NEXT: 1,2,3,5 s (zalo) and 1 s (new citizen)
    assert [(r["replies"], r["p50_ms"], r["p95_ms"]) for r in latency["per_day"]] == [
        (9, 1000.0, 4000.0), (5, 2000.0, 5000.0)]

    listed = queries.conversation_list(engine, BOTH)
    assert [r["sender_id"] for r in listed] == ["tg-4004", "zalo-3003", "rest-2002", "tg-1001"]
    one = queries.conversation(engine, listed[-1]["id"])
    assert [m["actor"] for m in one["messages"][:2]] == ["user", "bot"]
    assert queries.conversation(engine, 10_000) is None


async def test_every_aggregate_on_sqlite(seeded):
    check_every_aggregate(seeded.app)


def test_filters_from_a_query_string():
    f, problems = filters.parse_filters("2026-03-10", "2026-03-11", "telegram", on=dt.date(2026, 4, 1))
    assert f == filters.Filters(DAY, NEXT, "telegram") and problems == []
    f, problems = filters.parse_filters("2026-01-01'; DROP TABLE x; --", None, "' OR 1=1 --", on=NEXT)
    assert f == filters.Filters(NEXT - dt.timedelta(days=29), NEXT, None)
    assert set(problems) == {"start", "channel"}
    f, problems = filters.parse_filters("2026-03-11", "2026-03-10", None)
    assert (f.start, f.end, problems) == (DAY, NEXT, ["order"])
    assert filters.Filters(DAY, DAY).start_utc == dt.datetime(2026, 3, 9, 17, tzinfo=dt.timezone.utc)


def test_target_validation(stores):
    with pytest.raises(ValueError):
        targets.set_target(stores.app, "planet", "x", 0.5, "admin")
    with pytest.raises(ValueError):
        targets.set_target(stores.app, "field", "ho_tich", 1.5, "admin")
    targets.set_target(stores.app, "field", "ho_tich", 0.5, "admin")
    targets.set_target(stores.app, "field", "ho_tich", 0.7, "admin")
    assert targets.target_map(stores.app) == {("field", "ho_tich"): 0.7}
    targets.set_target(stores.app, "field", "ho_tich", None, "admin")
    assert targets.target_map(stores.app) == {}


def test_an_empty_export_is_still_valid_yaml():
    assert yaml.safe_load(nlu_export.nlu_yaml([]))["nlu"][0]["intent"] == "TODO_LABEL"


@pytest.fixture
def postgres_schema():
    """A schema of its own on the local PostgreSQL, dropped afterwards. No PostgreSQL: fail."""
    admin = create_engine(POSTGRES, future=True)
    schema = "analytics_test_" + secrets.token_hex(6)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # noqa: BLE001
        pytest.fail(f"PostgreSQL is required at {POSTGRES}: {error}")
    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
    try:
        yield SimpleNamespace(url=url, schema=schema)
    finally:
        for cached in (engines.app_engine, engines.tracker_engine):
            cached.cache_clear()
        from bot.store.db import engine_for

        engine_for.cache_clear()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def test_every_aggregate_on_postgresql(postgres_schema):
    writer = seed.TrackerWriter(postgres_schema.url)
    try:
        await writer.save(seed.conversations_part_one())
        app = engines.app_engine(postgres_schema.url)
        tracker = engines.tracker_engine(postgres_schema.url)
        assert ingest.ingest(app, tracker).events > 0
        await writer.save(seed.conversations_part_two())
    finally:
        writer.dispose()
    seed.seed_app_tables(app)
    assert ingest.ingest(app, tracker).events > 0
    assert ingest.ingest(app, tracker).events == 0
    tables = set(inspect(app).get_table_names(schema=postgres_schema.schema))
    assert {"events", "analytics_messages", "funnel_events"} <= tables
    check_every_aggregate(app)
    app.dispose()
    tracker.dispose()


async def test_procedures_asked_without_guidance_are_counted_with_the_citizens_words(stores):
    """«Thủ tục được hỏi mà chưa có»: a directory procedure by its official name and code, a
    question nothing matched by the citizen's (masked) words, each with counts and examples."""
    from bot import knowledge

    listed = next(iter(knowledge.directory().entries.values()))
    t = seed.at(DAY, 15)
    writer = seed.TrackerWriter(stores.tracker_url)
    try:
        await writer.save({
            "tg-5005": [seed.user(f"làm {listed['name'].lower()} cần gì", "ask_documents", 0.9, t, "telegram"),
                        seed.slot("procedure", listed["id"], t + 0.1), seed.slot("unmet_procedure", listed["id"], t + 0.2),
                        seed.bot("Tôi chưa có hướng dẫn chi tiết …", t + 1)],
            "zalo-6006": [seed.user("xin phép bắn pháo hoa, sđt 0905123456", "ask_procedure", 0.8, t + 5, "zalo"),
                          seed.slot("unmet_procedure", "?", t + 5.1),
                          seed.bot("Tôi chưa có thông tin về thủ tục bạn hỏi …", t + 6),
                          seed.user(f"thế còn {listed['name'].lower()}", "ask_procedure", 0.8, t + 10, "zalo"),
                          seed.slot("unmet_procedure", listed["id"], t + 10.1)],
        })
    finally:
        writer.dispose()
    ingest.ingest(stores.app, stores.tracker)
    rows = service.unmet_procedures(stores.app, filters.Filters(DAY, DAY))
    assert [(r["kind"], r["asks"], r["citizens"]) for r in rows] == [("directory", 2, 2), ("nothing", 1, 1)]
    assert rows[0]["name"] == listed["name"] and rows[0]["national_code"] == (listed["code"] or "")
    assert rows[0]["agency"] == listed["agency"]
    assert rows[1]["name"] == "xin phép bắn pháo hoa, sđt ***" and "0905123456" not in rows[1]["examples"]
    assert service.unmet_procedures(stores.app, filters.Filters(NEXT, NEXT)) == []


async def test_not_understood_lists_the_two_likeliest_intents_and_never_a_button(stores):
    from rasa.shared.core.events import UserUttered

    t = seed.at(DAY, 16)
    ranking = [{"name": "nlu_fallback", "confidence": 0.7}, {"name": "ask_fee", "confidence": 0.28},
               {"name": "ask_documents", "confidence": 0.2}, {"name": "greet", "confidence": 0.01}]
    said = UserUttered("cái này tốn nhiêu vậy ta", intent={"name": "nlu_fallback", "confidence": 0.7},
                       parse_data={"intent": {"name": "nlu_fallback", "confidence": 0.7}, "intent_ranking": ranking,
                                   "entities": [], "text": "cái này tốn nhiêu vậy ta"},
                       timestamp=t, input_channel="telegram")
    pressed = UserUttered('/rate_answer{"rating": "useful"}', intent={"name": "nlu_fallback", "confidence": 0.3},
                          timestamp=t + 5, input_channel="telegram")
    writer = seed.TrackerWriter(stores.tracker_url)
    try:
        await writer.save({"tg-7007": [said, seed.bot("Xin lỗi, tôi chưa chắc đã hiểu đúng.", t + 1), pressed]})
    finally:
        writer.dispose()
    ingest.ingest(stores.app, stores.tracker)
    rows = queries.not_understood(stores.app, filters.Filters(DAY, DAY))
    assert [r["text"] for r in rows] == ["cái này tốn nhiêu vậy ta"]
    assert json.loads(rows[0]["guesses"]) == [["ask_fee", 0.28], ["ask_documents", 0.2]]


def test_an_embedded_database_of_an_older_version_gets_the_new_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = create_engine(url)
    with old.begin() as connection:
        connection.execute(text("CREATE TABLE analytics_messages (id INTEGER PRIMARY KEY, event_id BIGINT NOT NULL, "
                                "conversation_id INTEGER NOT NULL, sender_id VARCHAR(255) NOT NULL, actor VARCHAR(8) "
                                "NOT NULL, channel VARCHAR(64), at DATETIME NOT NULL, day DATE NOT NULL, intent "
                                "VARCHAR(128), confidence FLOAT, procedure VARCHAR(128), locality VARCHAR(255), "
                                "fallback BOOLEAN NOT NULL, text TEXT, latency_ms FLOAT)"))
        connection.execute(text("INSERT INTO analytics_messages (event_id, conversation_id, sender_id, actor, at, day, "
                                "fallback) VALUES (1, 1, 's', 'user', '2026-03-10 10:00:00', '2026-03-10', 1)"))
    old.dispose()
    engine = engines.app_engine(url)
    assert "guesses" in {c["name"] for c in inspect(engine).get_columns("analytics_messages")}
    assert queries.not_understood(engine, BOTH)[0]["guesses"] is None  # the old row is kept
