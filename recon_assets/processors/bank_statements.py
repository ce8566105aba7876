"""Bank statements in the three formats banks send, read into the same lines.

- BAI2 (US), read with the ``bai2`` package: a line is a type-16 transaction detail; its date is its
  group's as-of date, its amount is in minor units already, its bank reference the detail's own.
- ISO 20022 camt.053 (any version's namespace), read with ``lxml``: a line is an ``Ntry``; its date is
  ``BookgDt`` (else ``ValDt``; a date or a date-time), its bank reference ``AcctSvcrRef``, its trace the
  transaction's ``EndToEndId``, its counterparty the related party's name (``Pty/Nm`` from version 08, ``Nm``
  before).
- SWIFT MT940, read with the ``mt-940`` package: a line is a ``:61:``; its date is the entry date, else the
  value date; its bank reference follows ``//``; ``:86:`` is its description.

A line's id is the account, the date and its position among that account's lines of the date (five digits,
so ids sort in file order), so one day read from any of the formats gives the same lines. Credits are
positive, debits negative, in minor units.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from recon_assets.domain.money import to_minor
from recon_assets.domain.settlement import BankLine

NO_REFERENCE = "NONREF"  # MT940's word for "no customer reference"


class StatementError(ValueError):
    """A file that is not a statement of its format."""


def _words(text: str) -> str:
    """A line's text as every format can carry it: words, without the separators BAI2 and MT940 reserve."""
    return " ".join(text.replace(",", " ").replace("/", " ").split())


def _numbered(entries: list[tuple[str, date, int, str, str | None, str, str | None]]) -> list[BankLine]:
    """(account, date, amount, currency, bank reference, text, trace) in file order, as lines with their ids."""
    seen: dict[tuple[str, date], int] = {}
    lines = []
    for account, day, amount, currency, bank_reference, text, trace in entries:
        position = seen.get((account, day), 0)
        seen[(account, day)] = position + 1
        lines.append(BankLine(f"{account}/{day.isoformat()}/{position:05d}", bank_reference or None, day, amount,
                              currency, _words(text), trace or None, account))  # fmt: skip
    return lines


def read_bai2(text: str) -> list[BankLine]:
    from bai2 import bai2
    from bai2.constants import TypeCodeTransaction

    try:
        parsed = bai2.parse_from_string(text, check_integrity=True)
    except Exception as exc:  # the package raises its own and plain errors alike
        raise StatementError(f"not a BAI2 file: {exc}") from None
    entries = []
    for group in parsed.children:
        for account in group.children:
            currency = account.header.currency or group.header.currency or "USD"
            for detail in account.children:
                sign = -1 if detail.type_code.transaction == TypeCodeTransaction.debit else 1
                entries.append((account.header.customer_account_number, group.header.as_of_date,
                                sign * int(detail.amount), currency, detail.bank_reference, detail.text or "",
                                detail.customer_reference))  # fmt: skip
    return _numbered(entries)


def read_camt053(data: bytes) -> list[BankLine]:
    from lxml import etree

    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"not a camt.053 file: {exc}") from None

    def text_at(element, path: str) -> str | None:
        found = element.find(path)
        return found.text.strip() if found is not None and found.text else None

    entries = []
    for statement in root.iterfind(".//{*}BkToCstmrStmt/{*}Stmt"):
        account = text_at(statement, "{*}Acct/{*}Id/{*}IBAN") or text_at(statement, "{*}Acct/{*}Id/{*}Othr/{*}Id")
        for entry in statement.iterfind("{*}Ntry"):
            amount = entry.find("{*}Amt")
            currency = amount.get("Ccy")
            minor = to_minor(Decimal(amount.text.strip()), currency)
            sign = -1 if text_at(entry, "{*}CdtDbtInd") == "DBIT" else 1
            booked = next(filter(None, (text_at(entry, f"{{*}}{when}/{{*}}{kind}") for when in ("BookgDt", "ValDt")
                                        for kind in ("Dt", "DtTm"))), None)  # fmt: skip
            if booked is None:
                raise StatementError("an entry with neither a booking nor a value date")
            day = date.fromisoformat(booked[:10])
            details = entry.find("{*}NtryDtls/{*}TxDtls")
            role = "{*}RltdPties/{*}" + ("Dbtr" if sign > 0 else "Cdtr")
            words = []
            if details is not None:  # the counterparty: under Pty from version 08 on (Party40Choice), Nm before
                party = text_at(details, f"{role}/{{*}}Pty/{{*}}Nm") or text_at(details, f"{role}/{{*}}Nm")
                words = [party, text_at(details, "{*}RmtInf/{*}Ustrd")]
            words.append(text_at(entry, "{*}AddtlNtryInf"))
            trace = text_at(details, "{*}Refs/{*}EndToEndId") if details is not None else None
            entries.append((account, day, sign * minor, currency, text_at(entry, "{*}AcctSvcrRef"),
                            " ".join(w for w in words if w), None if trace == "NOTPROVIDED" else trace))  # fmt: skip
    return _numbered(entries)


def read_mt940(text: str) -> list[BankLine]:
    import mt940

    try:
        statements = mt940.parse(text)
    except Exception as exc:  # the package raises its own and plain errors alike
        raise StatementError(f"not an MT940 file: {exc}") from None
    account = statements.data.get("account_identification")
    entries = []
    for transaction in statements:
        data = transaction.data
        amount = data["amount"]
        day = data.get("entry_date") or data["date"]
        reference = data.get("customer_reference")
        entries.append((account, date(day.year, day.month, day.day), to_minor(amount.amount, amount.currency),
                        amount.currency, data.get("bank_reference"), data.get("transaction_details") or "",
                        None if reference in (None, "", NO_REFERENCE) else reference))  # fmt: skip
    return _numbered(entries)


_ENDINGS = {"bai2": (".bai2", ".bai"), "camt053": (".xml",), "mt940": (".mt940", ".sta")}


def is_statement(name: str) -> bool:
    return name.lower().endswith(tuple(e for endings in _ENDINGS.values() for e in endings))


def read_statement(name: str, data: bytes) -> list[BankLine]:
    """A statement file's lines, its format told by its name's ending (.bai2/.bai, .xml, .mt940/.sta)."""
    lowered = name.lower()
    if lowered.endswith(_ENDINGS["bai2"]):
        return read_bai2(data.decode("ascii"))
    if lowered.endswith(_ENDINGS["camt053"]):
        return read_camt053(data)
    if lowered.endswith(_ENDINGS["mt940"]):
        return read_mt940(data.decode("latin-1"))
    raise StatementError(f"{name}: not a statement file (.bai2, .xml or .mt940)")
