"""One bank day written in BAI2, camt.053 and MT940 reads back as the same lines, by the packages made for
each format; a file that is not a valid statement is refused whole, in one line saying why."""

import re
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
    lines = read_statement(name, FILES[name]).lines
    assert [(x.line_id, x.booking_date, x.amount_minor, x.currency, x.bank_reference, x.reference) for x in lines] == [
        (f"{ACCOUNT}/2026-11-20/{i:05d}", DAY, e.amount_minor, "USD", e.bank_reference, e.trace)
        for i, e in enumerate(ENTRIES)
    ]
    assert [x.text for x in lines] == [f"{e.counterparty} {e.description}" for e in ENTRIES]


def test_the_three_formats_agree_and_a_wrong_file_is_refused():
    first, *others = (read_statement(name, data).lines for name, data in FILES.items())
    assert all(lines == first for lines in others)
    with pytest.raises(StatementError, match="not a BAI2 file"):
        read_statement("broken.bai2", b"01,garbage")
    with pytest.raises(StatementError, match="not a statement file"):
        read_statement("notes.txt", b"hello")


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


CAMT = FILES["statement.xml"].decode()
MT940 = FILES["statement.mt940"].decode()
BAI2 = FILES["statement.bai2"].decode()
BALANCES = """<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
  <Dt><Dt>2026-11-20</Dt></Dt></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="USD">{closing}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
  <Dt><Dt>2026-11-20</Dt></Dt></Bal>
<Ntry>"""


def with_balances(closing: str) -> bytes:
    return CAMT.replace("<Ntry>", BALANCES.format(closing=closing), 1).encode()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.mt940", b"", "an empty file"),
        ("blank.bai2", b"\n\n  \n", "an empty file"),
        ("binary.mt940", bytes(range(256)) * 4, "binary content"),
        ("garbage.mt940", b"hello, this is not a statement", "no statement message"),
        ("invoice.xml", b"<?xml version='1.0'?><Invoice><Total>12.00</Total></Invoice>", "its document is"),
        ("report.xml", CAMT.replace("camt.053.001.08", "camt.052.001.08").encode(), "its document is"),
        (
            "unknown.xml",
            CAMT.replace("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", "urn:example:camt").encode(),
            "its document is",
        ),
        ("lowercase.bai2", BAI2.replace("03,000123456789,USD", "03,000123456789,usd").encode(), "upper-case"),
        ("xyz.bai2", BAI2.replace("03,000123456789,USD", "03,000123456789,XYZ").encode(), "unknown currency 'XYZ'"),
        ("xyz.xml", CAMT.replace('Ccy="USD"', 'Ccy="XYZ"', 1).encode(), "unknown currency 'XYZ'"),
        ("no-amount.xml", CAMT.replace('<Amt Ccy="USD">299.85</Amt>', "").encode(), "amount '' is not"),
        ("abc.xml", CAMT.replace(">299.85<", ">12abc<", 1).encode(), "amount '12abc' is not"),
        ("negative.xml", CAMT.replace(">299.85<", ">-299.85<", 1).encode(), "amount '-299.85' is not"),
        ("cents.xml", CAMT.replace(">299.85<", ">299.855<", 1).encode(), "more decimals than USD"),
        (
            "indicator.xml",
            CAMT.replace("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>CRED</CdtDbtInd>", 1).encode(),
            "'CRED' is neither CRDT nor DBIT",
        ),
        ("status.xml", CAMT.replace("<Cd>BOOK</Cd>", "<Cd>FUTR</Cd>", 1).encode(), "status 'FUTR'"),
        ("balances.xml", with_balances("100.00"), "is not the closing balance"),
        ("totals.bai2", BAI2.replace("49,", "49,1", 1).encode(), "not a BAI2 file"),
        ("mt940-balance.mt940", MT940.replace(":62F:C", ":62F:D").encode(), "is not :62F:"),
        ("mt940-currency.mt940", MT940.replace("USD", "XYZ").encode(), "unknown currency 'XYZ'"),
        ("long.mt940", MT940.replace(":86:STRIPE", ":86:" + "X" * 5000).encode(), "at most 1,000"),
        ("notes.txt", b"hello", "not a statement file"),
    ],
)
def test_a_file_that_is_not_a_valid_statement_is_refused_whole_saying_why(name, data, reason):
    with pytest.raises(StatementError, match=re.escape(reason)):
        read_statement(name, data)


def test_balances_that_tie_are_accepted_and_pending_entries_are_listed_not_booked():
    booked = sum(e.amount_minor for e in ENTRIES)
    closing = f"{(10_000 + booked) / 100:.2f}"
    assert len(read_statement("balanced.xml", with_balances(closing)).lines) == len(ENTRIES)
    pending = CAMT.replace("<Cd>BOOK</Cd>", "<Cd>PDNG</Cd>", 1).encode()
    statement = read_statement("pending.xml", pending)
    assert [x.bank_reference for x in statement.lines] == [e.bank_reference for e in ENTRIES[1:]]
    assert statement.pending == ("000123456789 29985 USD BR0001",)


def test_one_mt940_file_with_two_accounts_files_each_statement_under_its_own_account():
    second = write_mt940("000999888777", DAY, [ENTRIES[3]])
    statement = read_statement("two.mt940", (MT940 + second).encode())
    assert [x.account for x in statement.lines] == [ACCOUNT] * len(ENTRIES) + ["000999888777"]
    assert statement.account_days == {(ACCOUNT, DAY), ("000999888777", DAY)}


def test_a_file_beyond_its_size_is_refused_before_it_is_read():
    with pytest.raises(StatementError, match="at most"):
        read_statement("huge.mt940", b":20:" + b"X" * (20 * 1024 * 1024))
