"""The life of an exception against PostgreSQL: detected, assigned (Dagster job), resolved with a reason
(terminal), found again and reopened; bulk resolution with a dry run; an SLA breach announced once; the
audit chain catching a superuser's edit."""

import json
import re
import threading
from datetime import date

import dagster as dg
import psycopg
import pytest

from recon_assets import asset_keys, cli
from recon_assets.definitions import build_definitions
from recon_assets.defs.alerting.resources import AlertChannels, SesEmailResource, SlackWebhookResource
from recon_assets.defs.casework.sensors import exception_sla_alerts
from recon_assets.domain.money import display
from recon_assets.warehouse import matches, store
from recon_assets.warehouse.database import prepared_url
from recon_assets_tests.defs.graph import materialize
from recon_assets_tests.services import SlackListener

DAY = date(2026, 11, 20)
STRIPE_DAY = [
    dg.AssetKey(["ledger", "transactions"]),
    *(dg.AssetKey(["stripe", n]) for n in ("raw_transactions", "discrepancies", "reconciliation_summary")),
]


@pytest.fixture
def recon(warehouse_url, monkeypatch, capsys):
    """``recon ...`` in process against the test warehouse; returns (exit code, stdout)."""
    monkeypatch.setenv("RECON_DATABASE_URL", warehouse_url.libpq)
    prepared_url.cache_clear()

    def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        run.err = captured.err
        return code, captured.out

    yield run
    prepared_url.cache_clear()


@pytest.fixture
def reconciled_day(resources, warehouse_url):
    assert materialize(resources, DAY, STRIPE_DAY).success
    return resources


def rows(url, query, *params):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(query, params).fetchall()


def test_assign_resolve_reappear_reopen(reconciled_day, warehouse_url, recon):
    ((ident,),) = rows(
        warehouse_url,
        """SELECT id FROM discrepancies WHERE processor_name = 'stripe' AND discrepancy_type = 'missing_in_ledger'
           ORDER BY id LIMIT 1""",
    )
    # assigned from the Dagster UI's launchpad: the job's typed run config
    job = build_definitions().resolve_job_def("assign_discrepancies")
    config = {"ops": {"assign_selected": {"config": {"ids": [ident], "assignee": "team:ledger-ops",
                                                     "note": "ledger team to book it", "actor": "alice"}}}}  # fmt: skip
    resources = {k: reconciled_day[k] for k in ("warehouse", "exception_policy")}
    assert job.execute_in_process(run_config=config, resources=resources).success
    assert rows(warehouse_url, "SELECT state, assigned_to FROM discrepancies WHERE id = %s", ident) == [
        ("assigned", "team:ledger-ops")
    ]
    # resolved from the terminal with a reason
    code, out = recon("exceptions", "resolve", str(ident), "--resolution", "ledger_adjusted",
                      "--note", "booked as LJ-1042", "--actor", "bob")  # fmt: skip
    assert code == 0 and "recon: 1 exception(s) resolved by bob" in out
    assert rows(warehouse_url, "SELECT state, resolution, resolved_by, resolution_note FROM discrepancies "
                "WHERE id = %s", ident) == [("resolved", "ledger_adjusted", "bob", "booked as LJ-1042")]  # fmt: skip
    # the ledger was not in fact fixed: the next run finds it again and reopens the same row
    assert materialize(reconciled_day, DAY, STRIPE_DAY).success
    assert rows(warehouse_url, "SELECT state, resolution FROM discrepancies WHERE id = %s", ident) == [("open", None)]
    history = [action for (action,) in rows(
        warehouse_url, "SELECT action FROM audit_logs WHERE entity = 'discrepancies' AND entity_id = %s ORDER BY id",
        str(ident))]  # fmt: skip
    assert history == ["exception_assigned", "exception_resolved", "discrepancy_reopened"]
    code, out = recon("exceptions", "show", str(ident))
    assert code == 0 and "discrepancy_reopened" in out and "bob" in out
    ((minor, currency, at_risk, reporting),) = rows(
        warehouse_url, "SELECT processor_amount_minor, processor_currency, amount_at_risk, reporting_currency "
        "FROM discrepancies WHERE id = %s", ident)  # fmt: skip
    shown = {
        line.split(": ", 1)[0].strip(): line.split(": ", 1)[1]
        for line in out.split("history:")[0].splitlines()
        if ": " in line
    }
    assert shown["processor amount"] == display(minor, currency.strip(), minor=True)  # e.g. 12,979.05 EUR
    assert shown["type"] == "missing_in_ledger" and shown["state"] == "open" and "ledger amount" not in shown
    assert shown["at risk"].endswith(display(at_risk, reporting.strip()) + (")" if currency.strip() != "USD" else ""))


def test_a_finding_s_records_are_shown_as_received(reconciled_day, warehouse_url, recon):
    ((txn_id, ledger_id),) = rows(
        warehouse_url,
        """SELECT processor_txn_id, ledger_id FROM discrepancies
           WHERE processor_name = 'stripe' AND discrepancy_type = 'amount_mismatch' AND kind = 'charge'
           ORDER BY id LIMIT 1""",
    )  # a charge: Stripe's object carries the charge's id (a dispute's movement is a balance transaction)
    ((reference,),) = rows(
        warehouse_url, "SELECT processor_reference FROM ledger_transactions WHERE ledger_id = %s", ledger_id
    )
    code, out = recon("record", txn_id, ledger_id)
    assert code == 0, out
    header, stripe_json, ledger_header, ledger_json = re.split(r"^(# .*)$", out, flags=re.M)[1:]
    assert header == f"# {txn_id}: stripe, business day {DAY}, as received"
    assert json.loads(stripe_json)["id"] == txn_id  # Stripe's own object, every field it sent
    assert ledger_header.startswith(f"# {ledger_id}: ledger, business day ")
    assert json.loads(ledger_json)["processor_reference"] == reference == txn_id
    code, _ = recon("record", "ch_never_landed")
    assert code == 1


def test_bulk_resolve_with_dry_run_and_accepted_items_stay_resolved(reconciled_day, warehouse_url, recon):
    query = """SELECT count(*) FROM discrepancies
               WHERE processor_name = 'stripe' AND discrepancy_type = 'amount_mismatch' AND state = %s"""
    ((open_before,),) = rows(warehouse_url, query, "open")
    assert open_before > 0
    bulk = ("exceptions", "resolve", "--processor", "stripe", "--type", "amount_mismatch", "--resolution",
            "written_off", "--note", "below materiality, approved by controller", "--actor", "carol")  # fmt: skip
    code, out = recon(*bulk, "--dry-run")
    assert code == 0 and f"{open_before} exception(s) would be resolved" in out
    assert rows(warehouse_url, query, "open") == [(open_before,)]  # nothing changed
    code, out = recon(*bulk)
    assert code == 0 and rows(warehouse_url, query, "resolved") == [(open_before,)]
    # written off: known and accepted, so a re-run leaves them resolved
    assert materialize(reconciled_day, DAY, STRIPE_DAY).success
    assert rows(warehouse_url, query, "resolved") == [(open_before,)]
    code, out = recon("exceptions", "list", "--state", "resolved", "--type", "amount_mismatch", "--output", "csv")
    assert code == 0 and out.count("written_off") == open_before
    # a bulk change with no ids and no filter is refused
    code, _ = recon("exceptions", "resolve", "--resolution", "written_off", "--note", "all", "--actor", "x")
    assert code == 2


def test_sla_breach_is_announced_once(reconciled_day, warehouse_url, tmp_path):
    resources = {k: reconciled_day[k] for k in ("warehouse", "exception_policy")}
    with SlackListener() as slack, dg.instance_for_test() as instance:
        resources["alert_channels"] = AlertChannels(
            email=SesEmailResource(), slack=SlackWebhookResource(webhook_url=slack.url)
        )
        for _ in range(2):
            with dg.build_sensor_context(instance=instance, resources=resources) as context:
                exception_sla_alerts(context)
        assert len(slack.messages) == 1  # the day is 6+ days old: every open item is past its SLA
        ((breached,),) = rows(
            warehouse_url,
            "SELECT count(*) FROM discrepancies WHERE state <> 'resolved' AND processor_name = 'stripe'",
        )
        assert f"{breached} exception(s) past their SLA" in slack.messages[0]["text"]
    ((announced,),) = rows(warehouse_url, "SELECT count(*) FROM audit_logs WHERE action = 'sla_breach_alerted'")
    assert announced == breached


def test_audit_verify_names_the_first_tampered_row(reconciled_day, warehouse_url, recon):
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        for n in range(5):
            store.audit(conn, "test", "noted", "thing", str(n), {"n": n})
    code, out = recon("audit", "verify")
    assert code == 0 and "intact" in out
    head = re.search(r"head ([0-9a-f]{64})", out).group(1)
    ((edited,), (deleted,)) = rows(warehouse_url, "SELECT id FROM audit_logs ORDER BY id OFFSET 2 LIMIT 2")
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:  # a superuser, around the trigger
        conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete")
        conn.execute("""UPDATE audit_logs SET details = details || '{"findings": 0}' WHERE id = %s""", (edited,))
        conn.execute("ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update_delete")
    code, out = recon("audit", "verify")
    assert code == 1 and f"BROKEN at row {edited}" in out and "edited" in out
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete")
        conn.execute("UPDATE audit_logs SET row_hash = recon_audit_hash(id, created_at, actor, action, entity, "
                     "entity_id, details, prev_hash) WHERE id = %s", (edited,))  # fmt: skip
        conn.execute("DELETE FROM audit_logs WHERE id = %s", (deleted,))
        conn.execute("ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update_delete")
    code, out = recon("audit", "verify")
    ((after_edit,),) = rows(warehouse_url, "SELECT min(id) FROM audit_logs WHERE id > %s", edited)
    assert code == 1 and f"BROKEN at row {after_edit}" in out  # re-hashing the edit breaks the next link
    # cutting rows from the end leaves a shorter intact chain: the published head catches it
    ((last,),) = rows(warehouse_url, "SELECT max(id) FROM audit_logs")
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        conn.execute("ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_no_update_delete")
        conn.execute("DELETE FROM audit_logs WHERE id >= %s", (after_edit,))
        conn.execute("ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_no_update_delete")
    assert last > after_edit
    code, out = recon("audit", "verify", "--published-head", head)
    assert code == 1 and "no longer in the log" in out


def test_aging_asset_counts_the_open_backlog(reconciled_day, warehouse_url):
    result = materialize(reconciled_day, DAY, [dg.AssetKey(["reconciliation", "exception_aging"])])
    (materialization,) = result.get_asset_materialization_events()
    metadata = materialization.materialization.metadata
    ((open_count,),) = rows(warehouse_url, "SELECT count(*) FROM discrepancies WHERE resolved_on IS NULL")
    assert metadata["open_count"].value == open_count > 0
    assert metadata["open_0_1_days"].value == open_count  # all found on the day itself
    assert metadata["open_stripe"].value == open_count and metadata["open_paypal"].value == 0


REWRITE_FROM = """
SET session_replication_role = replica;  -- a superuser: the append-only trigger does not fire
UPDATE audit_logs SET details = details || '{"findings": 0}' WHERE id = %(first)s;
DO $$
DECLARE r record; previous text;
BEGIN
    SELECT row_hash INTO previous FROM audit_logs WHERE id < %(first)s ORDER BY id DESC LIMIT 1;
    FOR r IN SELECT * FROM audit_logs WHERE id >= %(first)s ORDER BY id LOOP
        UPDATE audit_logs SET prev_hash = previous, row_hash = recon_audit_hash(r.id, r.created_at, r.actor,
            r.action, r.entity, r.entity_id, r.details, previous)
        WHERE id = r.id RETURNING row_hash INTO previous;
    END LOOP;
END $$;
"""
CUT_FROM = "SET session_replication_role = replica; DELETE FROM audit_logs WHERE id >= %(first)s;"


@pytest.mark.parametrize(
    ("tamper", "found"),
    [(REWRITE_FROM, "no longer has the hash published with the daily summary of 2026-11-20"),
     (CUT_FROM, "is no longer in the log (rows were removed from its end)")],
    ids=["rewritten with every hash recomputed", "cut at its end"],
)  # fmt: skip
def test_audit_verify_holds_the_log_against_the_heads_published_with_each_summary(
    reconciled_day, warehouse_url, recon, tmp_path, monkeypatch, tamper, found
):
    monkeypatch.setenv("RECON_REPORTS_DIR", str(tmp_path / "reports"))  # where the resources write reports
    reporting = [asset_keys.reconciliation_report("stripe"), asset_keys.EXCEPTION_AGING, asset_keys.DAILY_SUMMARY]
    assert materialize(reconciled_day, DAY, reporting).success
    ((published,),) = rows(warehouse_url, "SELECT max(id) FROM audit_logs")
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        for n in range(3):  # the log goes on after the head was published
            store.audit(conn, "test", "noted", "thing", str(n), {"n": n})
    code, out = recon("audit", "verify")
    assert code == 0 and "intact" in out
    assert f"checked against 1 published head(s), the latest row {published} of the daily summary of 2026-11-20" in out
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        conn.execute(tamper.replace("%(first)s", str(published - 2)))
    code, out = recon("audit", "verify")
    assert code == 1 and f"BROKEN at row {published}" in out and found in out, out


def test_a_manual_match_survives_a_re_run_and_an_unmatch_reopens_what_it_resolved(reconciled_day, warehouse_url, recon):
    ((entry, members),) = rows(
        warehouse_url,
        """SELECT ledger_id, group_members FROM discrepancies
           WHERE processor_name = 'stripe' AND business_date = %s AND discrepancy_type = 'suggested_match'""",
        DAY,
    )
    explained = sorted(
        ident for (ident,) in rows(
            warehouse_url,
            """SELECT id FROM discrepancies WHERE processor_name = 'stripe' AND state <> 'resolved'
                 AND (processor_txn_id = ANY(%s) OR ledger_id = %s)""",
            members, entry,
        )
    )  # fmt: skip
    assert len(explained) == len(members) + 2  # each record missing in the ledger, the entry, the suggestion

    def states():
        return set(rows(warehouse_url, "SELECT state, resolution FROM discrepancies WHERE id = ANY(%s)", explained))

    note = "one order paid with two cards; confirmed with the customer"
    code, out = recon("match", "link", "--processor", "stripe", "--transactions", ",".join(members),
                      "--ledger", entry, "--note", note, "--actor", "ana")  # fmt: skip
    assert code == 0 and f"{len(explained)} finding(s) resolved" in out, out
    link = int(re.search(r"manual match (\d+)", out).group(1))
    assert states() == {("resolved", "manual_match")}

    assert materialize(reconciled_day, DAY, STRIPE_DAY).success  # the link survives a re-run
    assert states() == {("resolved", "manual_match")}
    outcomes = rows(
        warehouse_url, "SELECT outcome, ledger_id FROM transaction_outcomes WHERE processor_txn_id = ANY(%s)", members
    )
    assert outcomes == [("manual_match", entry)] * len(members)
    code, out = recon("match", "list", "--processor", "stripe")
    assert code == 0 and entry in out and note in out

    # broken from the Dagster UI's launchpad (the job recon match unlink also is)
    job = build_definitions().resolve_job_def("manual_match")
    config = {"ops": {"apply_manual_match": {"config": {"unlink": link, "note": "wrong customer after all",
                                                        "actor": "ana"}}}}  # fmt: skip
    result = job.execute_in_process(run_config=config, resources={"warehouse": reconciled_day["warehouse"]})
    assert result.success and result.output_for_node("apply_manual_match") == len(explained)
    assert states() == {("open", None)}
    assert materialize(reconciled_day, DAY, STRIPE_DAY).success  # and the next run finds them again
    assert states() == {("open", None)}
    audit = rows(
        warehouse_url, "SELECT action, actor, details->>'note' FROM audit_logs WHERE entity = 'manual_matches'"
    )
    assert audit == [("manual_match", "ana", note), ("manual_unmatch", "ana", "wrong customer after all")]
    code, _ = recon("audit", "verify")
    assert code == 0

    # an exception's history and the audit log name the matches that resolved and reopened it
    code, out = recon("exceptions", "show", str(explained[0]))
    history = out.split("history:")[1]
    assert code == 0 and [a for a in ("manual_match", "manual_unmatch") if a in history] == [
        "manual_match",
        "manual_unmatch",
    ]
    code, out = recon("audit", "log", "--item", str(explained[0]))
    actions = [line.split()[4] for line in out.splitlines()]
    assert code == 0 and actions[:2] == ["manual_match", "manual_unmatch"], out
    assert all(line.split()[5] == f"discrepancies/{explained[0]}" for line in out.splitlines())
    code, out = recon("audit", "log", "--since", date.today().isoformat(), "--limit", "3")
    assert code == 0 and len(out.splitlines()) == 3
    with pytest.raises(SystemExit) as refused:  # argparse's own exit: one line, status 2
        recon("audit", "log", "--limit", "0")
    assert refused.value.code == 2


def test_a_manual_match_of_records_never_landed_is_refused(reconciled_day, warehouse_url, recon):
    code, _ = recon("match", "link", "--processor", "stripe", "--transactions", "ch_nope", "--ledger", "led_nope",
                    "--note", "typo")  # fmt: skip
    assert code == 1 and "no landed stripe record or ledger entry ch_nope, led_nope" in recon.err
    assert rows(warehouse_url, "SELECT count(*) FROM manual_matches") == [(0,)]


def heads_published(reports) -> dict[str, bytes]:
    folder = reports / "audit" / "heads"
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.json"))} if folder.exists() else {}


def test_a_re_run_never_launders_a_rewritten_log_and_every_head_is_kept(
    reconciled_day, warehouse_url, recon, tmp_path, monkeypatch
):
    """After an administrator rewrites the log with every hash recomputed, a routine re-run of the day refuses to
    publish a head over it (the run fails, naming the row), and verify still finds it; heads are never replaced."""
    monkeypatch.setenv("RECON_REPORTS_DIR", str(tmp_path / "reports"))
    reports = tmp_path / "reports"
    summary = [asset_keys.reconciliation_report("stripe"), asset_keys.EXCEPTION_AGING, asset_keys.DAILY_SUMMARY]
    assert materialize(reconciled_day, DAY, summary).success
    first = heads_published(reports)
    assert materialize(reconciled_day, DAY, summary).success  # the log did not move: its head is kept as it was
    assert heads_published(reports) == first
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        for n in range(3):  # the log goes on
            store.audit(conn, "test", "noted", "thing", str(n), {"n": n})
    assert materialize(reconciled_day, DAY, summary).success
    second = heads_published(reports)
    assert len(second) == 2 and {k: second[k] for k in first} == first  # the first kept as it was
    ((published,),) = rows(warehouse_url, "SELECT max(id) FROM audit_logs")
    with psycopg.connect(warehouse_url.libpq, autocommit=True) as conn:
        conn.execute(REWRITE_FROM.replace("%(first)s", str(published - 2)))
    result = materialize(reconciled_day, DAY, [asset_keys.DAILY_SUMMARY], raise_on_error=False)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert (
        failure.step_failure_data.error.message.splitlines()[0].endswith(
            f"the audit log is broken at row {published}: row {published} no longer has the hash published with the "
            "daily summary of 2026-11-20 (…): the log was rewritten at or before it; no head was published over it"
        )
        or f"broken at row {published}" in failure.step_failure_data.error.message
    )
    assert heads_published(reports) == second  # nothing published over the rewritten log
    code, out = recon("audit", "verify")
    assert code == 1 and f"BROKEN at row {published}" in out


def missing_records(url, kind: str, column: str, count: int) -> list[str]:
    return [r[0] for r in rows(
        url, f"SELECT {column} FROM discrepancies WHERE processor_name = 'stripe' AND discrepancy_type = %s "
             f"AND state <> 'resolved' ORDER BY id LIMIT %s", kind, count,
    )]  # fmt: skip


def test_two_links_over_one_record_made_at_once_one_wins(reconciled_day, warehouse_url):
    """The second link waits for the first in the database and is refused when it commits, however close the two
    are; not a read that both pass before either writes."""
    txn, other = missing_records(warehouse_url, "missing_in_ledger", "processor_txn_id", 2)
    (entry,) = missing_records(warehouse_url, "missing_at_processor", "ledger_id", 1)
    first = psycopg.connect(warehouse_url.libpq)
    first.execute("SELECT 1")  # the first link's transaction is open: made, not committed yet
    matches.match(first, "stripe", [txn], [entry], "first", "ana")
    outcome = {}

    def second_link():
        with psycopg.connect(warehouse_url.libpq) as conn:
            try:
                outcome["link"] = matches.match(conn, "stripe", [other], [entry], "second", "bob")
            except matches.LinkRefused as exc:
                outcome["refused"] = str(exc)

    racing = threading.Thread(target=second_link)
    racing.start()
    racing.join(timeout=1.5)
    assert racing.is_alive()  # it waits for the first, in the database
    first.commit()
    first.close()
    racing.join(timeout=30)
    assert "link" not in outcome and outcome["refused"].startswith("already linked by manual match")
    assert rows(warehouse_url, "SELECT count(*) FROM manual_matches WHERE unmatched_at IS NULL") == [(1,)]


def test_an_unmatch_reopens_only_what_no_other_link_explains(reconciled_day, warehouse_url):
    """A finding that names records of two links (here a processor record of one and a ledger entry of the other,
    as a currency mismatch does) stays resolved while either link stands."""
    a, b = missing_records(warehouse_url, "missing_in_ledger", "processor_txn_id", 2)
    x, y = missing_records(warehouse_url, "missing_at_processor", "ledger_id", 2)
    with psycopg.connect(warehouse_url.libpq) as conn:
        conn.execute(
            """INSERT INTO discrepancies (business_date, processor_name, discrepancy_type, kind, processor_txn_id,
                   ledger_id, at_risk_minor, at_risk_currency, amount_at_risk, reporting_currency, first_detected_on,
                   last_detected_on)
               VALUES (%s, 'stripe', 'currency_mismatch', 'charge', %s, %s, 1, 'USD', 0.01, 'USD', %s, %s)""",
            (DAY, a, y, DAY, DAY),
        )  # a finding naming a record of each link
        conn.commit()
        one, _ = matches.match(conn, "stripe", [a], [x], "one", "ana")
        two, _ = matches.match(conn, "stripe", [b], [y], "two", "ana")
        matches.unmatch(conn, two, "wrong", "ana")

    def state(kind, column, ident):
        return rows(warehouse_url, f"SELECT state FROM discrepancies WHERE discrepancy_type = %s AND {column} = %s",
                    kind, ident)  # fmt: skip

    assert state("currency_mismatch", "ledger_id", y) == [("resolved",)]  # link one still explains its record a
    assert state("missing_in_ledger", "processor_txn_id", b) == [("open",)]  # link two's own: open again
    assert state("missing_at_processor", "ledger_id", y) == [("open",)]
    assert state("missing_in_ledger", "processor_txn_id", a) == [("resolved",)]
    assert state("missing_at_processor", "ledger_id", x) == [("resolved",)]


def test_exceptions_list_prints_each_amount_with_its_currency_s_decimals(reconciled_day, warehouse_url, recon):
    ((first, last),) = rows(warehouse_url, "SELECT min(id), max(id) FROM discrepancies")
    with psycopg.connect(warehouse_url.libpq) as conn:  # amounts a table of floats would shorten: 12979 and 9399.3
        for ident, amount in ((first, "12979.05"), (last, "9399.30")):
            conn.execute("UPDATE discrepancies SET amount_at_risk = %s WHERE id = %s", (amount, ident))
    code, out = recon("exceptions", "list", str(first), str(last))
    assert code == 0
    lines = out.splitlines()
    assert lines[2].startswith(f"| {first} ") and re.search(r"\| 12,979\.05 USD +\|", lines[2])  # largest first
    assert lines[3].startswith(f"| {last} ") and re.search(r"\| 9,399\.30 USD +\|", lines[3])
    code, out = recon("exceptions", "list", str(first), str(last), "--output", "csv")
    assert [line.split(",")[4] for line in out.splitlines()[1:]] == ["12979.05", "9399.30"]  # exact, for programs
