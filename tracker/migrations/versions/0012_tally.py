"""Counts kept by triggers, so ``tracker status`` reads a few rows instead of the store.

Status showed entries per state, in-doubt entries and live trips by counting them: ~80 ms of
SQL on a decade's 100k trips, growing with the store. The ``tally`` table holds those counts;
triggers on ``journal`` and ``trip`` keep them in the same transaction as the change that
moves them, whatever code makes it (the push, the pull, an import, a gc, or a migration), so
they cannot drift. ``tracker.tally`` reads them, and can recount them to prove it.

Keys: ``journal:<state>`` (entries in that state), ``journal:in_doubt`` (in-doubt entries
still pending or in flight), ``trip:active`` (trips not deleted), ``cost:<link>`` (costs per
link kind) and ``cost:unseen`` (costs the last complete pull did not see).

Also a partial index on the journal's errors: status shows the latest error, which was a sort
of the whole journal (14 ms at 100k entries) and is now the first entry of a small index.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


_TRIGGERS = {
    "tally_journal_insert": """
        AFTER INSERT ON journal BEGIN
            UPDATE tally SET n = n + 1 WHERE key = 'journal:' || NEW.state;
            UPDATE tally SET n = n + 1
            WHERE key = 'journal:in_doubt' AND NEW.state IN ('pending', 'in_flight')
              AND NEW.in_doubt;
        END""",
    "tally_journal_delete": """
        AFTER DELETE ON journal BEGIN
            UPDATE tally SET n = n - 1 WHERE key = 'journal:' || OLD.state;
            UPDATE tally SET n = n - 1
            WHERE key = 'journal:in_doubt' AND OLD.state IN ('pending', 'in_flight')
              AND OLD.in_doubt;
        END""",
    "tally_journal_update": """
        AFTER UPDATE OF state, in_doubt ON journal
        WHEN OLD.state IS NOT NEW.state OR OLD.in_doubt IS NOT NEW.in_doubt BEGIN
            UPDATE tally SET n = n - 1 WHERE key = 'journal:' || OLD.state;
            UPDATE tally SET n = n + 1 WHERE key = 'journal:' || NEW.state;
            UPDATE tally SET n = n
                - (OLD.state IN ('pending', 'in_flight') AND coalesce(OLD.in_doubt, 0) != 0)
                + (NEW.state IN ('pending', 'in_flight') AND coalesce(NEW.in_doubt, 0) != 0)
            WHERE key = 'journal:in_doubt';
        END""",
    "tally_trip_insert": """
        AFTER INSERT ON trip WHEN NEW.lifecycle = 'active' BEGIN
            UPDATE tally SET n = n + 1 WHERE key = 'trip:active';
        END""",
    "tally_trip_delete": """
        AFTER DELETE ON trip WHEN OLD.lifecycle = 'active' BEGIN
            UPDATE tally SET n = n - 1 WHERE key = 'trip:active';
        END""",
    "tally_cost_insert": """
        AFTER INSERT ON cost BEGIN
            UPDATE tally SET n = n + 1 WHERE key = 'cost:' || NEW.link;
            UPDATE tally SET n = n + 1 WHERE key = 'cost:unseen' AND NOT NEW.seen_in_last_pull;
        END""",
    "tally_cost_delete": """
        AFTER DELETE ON cost BEGIN
            UPDATE tally SET n = n - 1 WHERE key = 'cost:' || OLD.link;
            UPDATE tally SET n = n - 1 WHERE key = 'cost:unseen' AND NOT OLD.seen_in_last_pull;
        END""",
    "tally_cost_update": """
        AFTER UPDATE OF link, seen_in_last_pull ON cost
        WHEN OLD.link IS NOT NEW.link OR OLD.seen_in_last_pull IS NOT NEW.seen_in_last_pull
        BEGIN
            UPDATE tally SET n = n - 1 WHERE key = 'cost:' || OLD.link;
            UPDATE tally SET n = n + 1 WHERE key = 'cost:' || NEW.link;
            UPDATE tally SET n = n - (NOT OLD.seen_in_last_pull) + (NOT NEW.seen_in_last_pull)
            WHERE key = 'cost:unseen';
        END""",
    "tally_trip_update": """
        AFTER UPDATE OF lifecycle ON trip WHEN OLD.lifecycle IS NOT NEW.lifecycle BEGIN
            UPDATE tally SET n = n + (NEW.lifecycle = 'active') - (OLD.lifecycle = 'active')
            WHERE key = 'trip:active';
        END""",
}


# PostgreSQL's counterparts: one plpgsql function per table moves the same counts (a row
# leaving its old key, then entering its new one); the update triggers fire only when a
# counted column changed, as SQLite's WHEN clauses do.
_PG_FUNCTIONS = {
    "tally_journal": """
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN
                UPDATE tally SET n = n - 1 WHERE key = 'journal:' || OLD.state;
                IF OLD.state IN ('pending', 'in_flight') AND coalesce(OLD.in_doubt, false) THEN
                    UPDATE tally SET n = n - 1 WHERE key = 'journal:in_doubt';
                END IF;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                UPDATE tally SET n = n + 1 WHERE key = 'journal:' || NEW.state;
                IF NEW.state IN ('pending', 'in_flight') AND coalesce(NEW.in_doubt, false) THEN
                    UPDATE tally SET n = n + 1 WHERE key = 'journal:in_doubt';
                END IF;
            END IF;
            RETURN NULL;
        END""",
    "tally_trip": """
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.lifecycle = 'active' THEN
                UPDATE tally SET n = n - 1 WHERE key = 'trip:active';
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.lifecycle = 'active' THEN
                UPDATE tally SET n = n + 1 WHERE key = 'trip:active';
            END IF;
            RETURN NULL;
        END""",
    "tally_cost": """
        BEGIN
            IF TG_OP IN ('DELETE', 'UPDATE') THEN
                UPDATE tally SET n = n - 1 WHERE key = 'cost:' || OLD.link;
                IF NOT OLD.seen_in_last_pull THEN
                    UPDATE tally SET n = n - 1 WHERE key = 'cost:unseen';
                END IF;
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                UPDATE tally SET n = n + 1 WHERE key = 'cost:' || NEW.link;
                IF NOT NEW.seen_in_last_pull THEN
                    UPDATE tally SET n = n + 1 WHERE key = 'cost:unseen';
                END IF;
            END IF;
            RETURN NULL;
        END""",
}
_PG_TRIGGERS = {
    # name: (function, events, WHEN of the update trigger or None)
    "tally_journal_insert_delete": ("tally_journal", "INSERT OR DELETE", None),
    "tally_journal_update": (
        "tally_journal",
        "UPDATE OF state, in_doubt",
        "OLD.state IS DISTINCT FROM NEW.state OR OLD.in_doubt IS DISTINCT FROM NEW.in_doubt",
    ),
    "tally_trip_insert_delete": ("tally_trip", "INSERT OR DELETE", None),
    "tally_trip_update": (
        "tally_trip",
        "UPDATE OF lifecycle",
        "OLD.lifecycle IS DISTINCT FROM NEW.lifecycle",
    ),
    "tally_cost_insert_delete": ("tally_cost", "INSERT OR DELETE", None),
    "tally_cost_update": (
        "tally_cost",
        "UPDATE OF link, seen_in_last_pull",
        "OLD.link IS DISTINCT FROM NEW.link "
        "OR OLD.seen_in_last_pull IS DISTINCT FROM NEW.seen_in_last_pull",
    ),
}
_PG_TABLES = {"tally_journal": "journal", "tally_trip": "trip", "tally_cost": "cost"}


def _create_pg_triggers() -> None:
    for name, body in _PG_FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$")
    for name, (function, events, when) in _PG_TRIGGERS.items():
        condition = f" WHEN ({when})" if when else ""
        op.execute(
            f"CREATE TRIGGER {name} AFTER {events} ON {_PG_TABLES[function]} "
            f"FOR EACH ROW{condition} EXECUTE FUNCTION {function}()"
        )


def upgrade() -> None:
    op.execute("CREATE TABLE tally (key VARCHAR NOT NULL PRIMARY KEY, n INTEGER NOT NULL)")
    # Filled from the store as it is, in the same transaction as the triggers' creation.
    op.execute(
        "INSERT INTO tally (key, n) VALUES ('journal:pending', 0), ('journal:in_flight', 0), "
        "('journal:synced', 0), ('journal:parked', 0), ('journal:dropped', 0), "
        "('journal:in_doubt', 0)"
    )
    op.execute(
        "UPDATE tally SET n = (SELECT count(*) FROM journal WHERE state = substr(tally.key, 9)) "
        "WHERE key LIKE 'journal:%' AND key != 'journal:in_doubt'"
    )
    op.execute(
        "UPDATE tally SET n = (SELECT count(*) FROM journal "
        "WHERE state IN ('pending', 'in_flight') AND in_doubt) WHERE key = 'journal:in_doubt'"
    )
    op.execute(
        "INSERT INTO tally (key, n) SELECT 'trip:active', count(*) FROM trip "
        "WHERE lifecycle = 'active'"
    )
    op.execute(
        "INSERT INTO tally (key, n) VALUES ('cost:trip_guid', 0), ('cost:time', 0), "
        "('cost:ambiguous', 0), ('cost:none', 0), ('cost:unseen', 0)"
    )
    op.execute(
        "UPDATE tally SET n = (SELECT count(*) FROM cost WHERE link = substr(tally.key, 6)) "
        "WHERE key LIKE 'cost:%' AND key != 'cost:unseen'"
    )
    op.execute(
        "UPDATE tally SET n = (SELECT count(*) FROM cost WHERE NOT seen_in_last_pull) "
        "WHERE key = 'cost:unseen'"
    )
    op.execute("CREATE INDEX ix_journal_error ON journal (updated_at) WHERE error_type IS NOT NULL")
    if op.get_bind().dialect.name == "postgresql":
        _create_pg_triggers()
        return
    for name, body in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    op.drop_index("ix_journal_error", table_name="journal")
    if op.get_bind().dialect.name == "postgresql":
        for name, (function, _events, _when) in _PG_TRIGGERS.items():
            op.execute(f"DROP TRIGGER {name} ON {_PG_TABLES[function]}")
        for function in _PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION {function}()")
        op.drop_table("tally")
        return
    for name in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
    op.drop_table("tally")
