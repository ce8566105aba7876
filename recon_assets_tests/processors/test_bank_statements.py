"""One bank day written in BAI2, camt.053 and MT940 reads back as the same lines, by the packages made for
each format; a file that is not a statement is refused with its format's name."""

from datetime import date

import pytest

from recon_assets.processors.bank_statements import StatementError, read_statement
from recon_assets.sandbox.bank_files import StatementEntry, write_bai2, write_camt053, write_mt940

DAY = date(2026, 11, 20)
ACCOUNT = "000123456789"
ENTRIES = [
    StatementEntry(29_985, "USD", "STRIPE", "Payout po_1Q2w3e", "BR0001", trace="101000019283746"),
    StatementEntry(60_000, "USD", "Square Inc", "SQ DEP 7XQ2", "BR0002"),
    StatementEntry(60_000, "USD", "Square Inc", "SQ DEP 7XQ2", "BR0003"),  # the same credit twice
    StatementEntry(-12_50, "USD", "Acme Office Supply", "Invoice 4411", "BR0004"),
    StatementEntry(1_234_567, "USD", "PAYPAL", "Transfer to bank", "BR0005"),
]
FILES = {
    "statement.bai2": write_bai2(ACCOUNT, DAY, ENTRIES).encode(),
    "statement.xml": write_camt053(ACCOUNT, DAY, ENTRIES),
    "statement.mt940": write_mt940(ACCOUNT, DAY, ENTRIES).encode(),
}


@pytest.mark.parametrize("name", FILES)
def test_each_format_reads_as_the_day_s_lines(name):
    lines = read_statement(name, FILES[name])
    assert [(x.line_id, x.booking_date, x.amount_minor, x.currency, x.bank_reference, x.reference) for x in lines] == [
        (f"{ACCOUNT}/2026-11-20/{i:05d}", DAY, e.amount_minor, "USD", e.bank_reference, e.trace)
        for i, e in enumerate(ENTRIES)
    ]
    assert [x.text for x in lines] == [f"{e.counterparty} {e.description}" for e in ENTRIES]


def test_the_three_formats_agree_and_a_wrong_file_is_refused():
    first, *others = (read_statement(name, data) for name, data in FILES.items())
    assert all(lines == first for lines in others)
    with pytest.raises(StatementError, match="not a BAI2 file"):
        read_statement("broken.bai2", b"01,garbage")
    with pytest.raises(StatementError, match="not a statement file"):
        read_statement("notes.txt", b"")


def test_an_older_camt053_with_date_times_and_names_without_a_party_reads_the_same():
    older = (
        FILES["statement.xml"].decode()
        .replace("camt.053.001.08", "camt.053.001.02")
        .replace("<Pty>", "").replace("</Pty>", "")
        .replace("<BookgDt>\n          <Dt>2026-11-20</Dt>", "<BookgDt>\n          <DtTm>2026-11-20T23:59:00Z</DtTm>")
        .replace("<Dt>2026-11-20</Dt>\n        </BookgDt>", "<DtTm>2026-11-20T23:59:00Z</DtTm>\n        </BookgDt>")
    )  # fmt: skip
    assert "<Pty>" not in older and "DtTm" in older
    assert read_statement("older.xml", older.encode()) == read_statement("statement.xml", FILES["statement.xml"])
