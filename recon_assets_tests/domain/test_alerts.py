from recon_assets.domain.alerts import Alert, AlertKind, redact
from recon_assets.domain.incidents import Action, IncidentBook


def test_redact_masks_cards_and_credentials():
    text = (
        "card 4242 4242 4242 4242 failed; Authorization: Bearer sk_live_abc123XYZ; "
        "url postgresql://recon:hunter2@db/recon?password=hunter2; key sk_test_51Hx"
    )
    cleaned = redact(text)
    assert "4242 4242 4242 4242" not in cleaned and "****4242" in cleaned
    for secret in ("sk_live_abc123XYZ", "hunter2", "sk_test_51Hx"):
        assert secret not in cleaned


def test_every_rendering_carries_the_facts_and_no_secret():
    alert = Alert(
        kind=AlertKind.FAILURE,
        severity="ERROR",
        title="risk_threshold risk level CRITICAL",
        processor="stripe",
        business_date="2026-11-20",
        facts={"missing count": "61", "error": "token=abc123 for card 5555555555554444"},
        links={"Dagster run": "http://ui/runs/1"},
    )
    assert alert.subject == "[recon] ERROR stripe 2026-11-20: risk_threshold risk level CRITICAL"
    slack = str(alert.slack_payload())
    for rendered in (alert.text(), alert.html(), slack):
        assert "61" in rendered and "http://ui/runs/1" in rendered
        assert "abc123" not in rendered and "5555555555554444" not in rendered


def test_one_alert_per_incident_and_severity_then_one_recovery():
    book = IncidentBook()
    key = "stripe/reconciliation_summary|risk_threshold|2026-11-20"
    assert book.observe(key, 1, passed=False, severity="WARN") == Action.ALERT
    assert book.observe(key, 2, passed=False, severity="WARN") is None
    assert book.observe(key, 3, passed=False, severity="ERROR") == Action.ALERT
    assert book.observe(key, 3, passed=True, severity="ERROR") is None  # re-read: ignored
    assert book.observe(key, 4, passed=True, severity="ERROR") == Action.RECOVER
    assert book.observe(key, 5, passed=True, severity="ERROR") is None
    restored = IncidentBook.from_cursor(book.to_cursor())
    assert restored == book


def test_watermark_waits_for_pending_evaluations_and_forgets_closed_incidents():
    book = IncidentBook()
    book.observe("a", 5, passed=False, severity="ERROR")
    book.observe("b", 6, passed=True, severity="ERROR")
    book.advance(highest_seen=9, oldest_pending=7)
    assert book.watermark == 6 and set(book.last_seen) == {"a"}
    book.advance(highest_seen=9, oldest_pending=None)
    assert book.watermark == 9


def test_a_listed_item_is_alerted_once_while_listed_and_again_once_listed_anew():
    book = IncidentBook()
    check = "paypal/disputes|dispute_response_due"
    assert book.observe_items(check, ["A", "B"], 1, "WARN") == ["A", "B"]
    assert book.observe_items(check, ["B", "A", "C"], 2, "WARN") == ["C"]
    assert book.observe_items(check, ["A", "C"], 2, "WARN") == []  # an evaluation read again
    assert book.observe_items(check, [], 3, "WARN") == []  # none due: every item closed, silently
    assert book.observe_items(check, ["A"], 4, "WARN") == ["A"]
    assert IncidentBook.from_cursor(book.to_cursor()).observe_items(check, ["A"], 5, "WARN") == []
