"""Bank statements in the three formats banks send, checked whole and read into the same lines.

- BAI2 (US), read with the ``bai2`` package (record structure and control totals checked): a line is a
  type-16 transaction detail; its date is its group's as-of date, its amount is in minor units already, its
  bank reference the detail's own; an account without a currency is in USD, as the format says.
- ISO 20022 camt.053 (any version's namespace, and only camt.053), read with ``lxml``: a line is a booked
  ``Ntry`` (``Sts`` ``BOOK``; a pending or informational one is listed, not booked); its date is ``BookgDt``
  (else ``ValDt``; a date or a date-time), its bank reference ``AcctSvcrRef``, its trace the transaction's
  ``EndToEndId``, its counterparty the related party's name (``Pty/Nm`` from version 08, ``Nm`` before).
  Opening and closing booked balances, where given, must differ by the booked lines.
- SWIFT MT940, read with the ``mt-940`` package, one message (``:20:``) at a time: a line is a ``:61:``; its
  date is the entry date, else the value date; its bank reference follows ``//``; ``:86:`` is its
  description. ``:60F:`` plus the lines must be ``:62F:``.

A file is refused whole (``StatementError``, one line) when any of it is wrong: an unknown format, an account
missing, a currency that is not an upper-case ISO 4217 code, an amount not exact for its currency or signed
where the format has an indicator, balances that do not tie, a field or a file beyond its bound.

A line's id is the account, the date and its position among that account's lines of the date (five digits,
so ids sort in file order), so one day read from any of the formats gives the same lines. Credits are
positive, debits negative, in minor units.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from recon_assets.domain.money import MoneyError, exponent, to_minor
from recon_assets.domain.settlement import BankLine

NO_REFERENCE = "NONREF"  # MT940's word for "no customer reference"
MAX_FILE_BYTES = 20 * 1024 * 1024  # a month of a busy account's statements is a few megabytes
MAX_FIELD_CHARS = 1_000  # an account, a reference or a line's text
CAMT053_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d{2}$")
CAMT_AMOUNT = re.compile(r"^\d{1,18}(\.\d{1,5})?$")  # ActiveOrHistoricCurrencyAndAmount: unsigned
BOOKED, LISTED_ONLY = "BOOK", ("PDNG", "INFO")


class StatementError(ValueError):
    """A file that is not a valid statement of its format: the reason, in one line."""


@dataclass(frozen=True)
class Entry:
    """A statement entry as read, before it is numbered into a line."""

    account: str
    day: date
    amount_minor: int
    currency: str
    bank_reference: str | None
    text: str
    trace: str | None


@dataclass(frozen=True)
class Statement:
    """What one file states: its booked lines, the account-days it covers (a day without lines included),
    and the entries it lists without booking them."""

    format: str
    lines: tuple[BankLine, ...]
    account_days: frozenset[tuple[str, date]]
    pending: tuple[str, ...] = field(default=())  # "<account> <amount> <currency> <reference>" of each


def _words(text: str) -> str:
    """A line's text as every format can carry it: words, without the separators BAI2 and MT940 reserve."""
    return " ".join(text.replace(",", " ").replace("/", " ").split())


def _currency(code: str | None, where: str) -> str:
    if not code or code != code.upper():
        raise StatementError(f"{where}: currency {code!r} is not an upper-case ISO 4217 code")
    try:
        exponent(code)
    except MoneyError:
        raise StatementError(f"{where}: unknown currency {code!r}") from None
    return code


def _bounded(value: str | None, what: str) -> str | None:
    if value is not None and len(value) > MAX_FIELD_CHARS:
        raise StatementError(f"{what} of {len(value):,} characters (at most {MAX_FIELD_CHARS:,})")
    return value


def _statement(fmt: str, entries: Iterable[Entry], stated: Iterable[tuple[str, date]], pending=()) -> Statement:
    """Entries in file order, as numbered lines with the account-days they and ``stated`` cover."""
    seen: dict[tuple[str, date], int] = {}
    lines = []
    for e in entries:
        if not e.account:
            raise StatementError("a statement without an account")
        _bounded(e.account, "an account")
        _bounded(e.bank_reference, "a bank reference")
        _bounded(e.trace, "a reference")
        text = _bounded(_words(e.text), "a line's text")
        position = seen.get((e.account, e.day), 0)
        seen[(e.account, e.day)] = position + 1
        lines.append(BankLine(f"{e.account}/{e.day.isoformat()}/{position:05d}", e.bank_reference or None, e.day,
                              e.amount_minor, e.currency, text, e.trace or None, e.account))  # fmt: skip
    days = frozenset(seen) | frozenset(stated)
    if not days:
        raise StatementError("states no account-day: no lines and no statement period")
    return Statement(fmt, tuple(lines), days, tuple(pending))


def _text(data: bytes, fmt: str) -> str:
    """The file as text; a binary file (any control character but line ends and tabs) or an overlong line is
    refused."""
    try:
        text = data.decode("ascii" if fmt == "BAI2" else "utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1") if fmt == "MT940" else None
    if text is None or re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise StatementError(f"not a {fmt} file: binary content")
    longest = max(map(len, text.splitlines()), default=0)
    if longest > MAX_FIELD_CHARS:  # a record of either format is a line; no real one comes near this
        raise StatementError(f"a line of {longest:,} characters (at most {MAX_FIELD_CHARS:,})")
    return text


def read_bai2(data: bytes) -> Statement:
    from bai2 import bai2
    from bai2.constants import TypeCodeTransaction

    text = _text(data, "BAI2")
    if not text.lstrip().startswith("01,"):
        raise StatementError("not a BAI2 file: it does not begin with a file header (01)")
    try:
        parsed = bai2.parse_from_string(text, check_integrity=True)
    except Exception as exc:  # the package raises its own and plain errors alike
        raise StatementError(f"not a BAI2 file: {' '.join(str(exc).split())}") from None
    entries, stated = [], []
    for group in parsed.children:
        for account in group.children:
            number = account.header.customer_account_number
            currency = _currency(account.header.currency or group.header.currency or "USD", f"account {number}")
            stated.append((number, group.header.as_of_date))
            for detail in account.children:
                kind = detail.type_code.transaction
                if kind not in (TypeCodeTransaction.credit, TypeCodeTransaction.debit):
                    raise StatementError(f"account {number}: type code {detail.type_code.code} is neither a "
                                         "credit nor a debit")  # fmt: skip
                sign = -1 if kind == TypeCodeTransaction.debit else 1
                entries.append(Entry(number, group.header.as_of_date, sign * int(detail.amount), currency,
                                     detail.bank_reference, detail.text or "", detail.customer_reference))  # fmt: skip
    return _statement("BAI2", entries, stated)


def read_camt053(data: bytes) -> Statement:
    from lxml import etree

    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"not a camt.053 file: {exc}") from None
    namespace = etree.QName(root).namespace or ""
    if etree.QName(root).localname != "Document" or not CAMT053_NAMESPACE.match(namespace):
        raise StatementError(f"not a camt.053 file: its document is {root.tag!r}")
    statements = root.findall(f"{{{namespace}}}BkToCstmrStmt/{{{namespace}}}Stmt")
    if root.find(f"{{{namespace}}}BkToCstmrStmt") is None:
        raise StatementError("not a camt.053 file: no BkToCstmrStmt")

    def text_at(element, path: str) -> str | None:
        found = element.find(path)
        return found.text.strip() if found is not None and found.text and found.text.strip() else None

    def day_at(element, path: str) -> date | None:
        found = text_at(element, f"{path}/{{*}}Dt") or text_at(element, f"{path}/{{*}}DtTm") or text_at(element, path)
        try:
            return date.fromisoformat(found[:10]) if found else None
        except ValueError:
            raise StatementError(f"{path.replace('{*}', '')}: {found!r} is not a date") from None

    entries, stated, pending = [], [], []
    for statement in statements:
        account = text_at(statement, "{*}Acct/{*}Id/{*}IBAN") or text_at(statement, "{*}Acct/{*}Id/{*}Othr/{*}Id")
        if not account:
            raise StatementError("a camt.053 statement without an account (Acct/Id)")
        first, last = day_at(statement, "{*}FrToDt/{*}FrDtTm"), day_at(statement, "{*}FrToDt/{*}ToDtTm")
        if first and last:
            if (last - first).days > 31:
                raise StatementError(f"account {account}: a statement period of {(last - first).days} days")
            stated += [(account, first + timedelta(days=n)) for n in range((last - first).days + 1)]
        booked: dict[str, int] = {}
        for number, entry in enumerate(statement.iterfind("{*}Ntry"), start=1):
            where = f"account {account} entry {number}"
            amount = entry.find("{*}Amt")
            value = amount.text.strip() if amount is not None and amount.text else ""
            if not CAMT_AMOUNT.match(value):
                raise StatementError(f"{where}: amount {value!r} is not an unsigned decimal")
            currency = _currency(amount.get("Ccy"), where)
            try:
                minor = to_minor(Decimal(value), currency)
            except MoneyError as exc:
                raise StatementError(f"{where}: {exc}") from None
            indicator = text_at(entry, "{*}CdtDbtInd")
            if indicator not in ("CRDT", "DBIT"):
                raise StatementError(f"{where}: credit/debit indicator {indicator!r} is neither CRDT nor DBIT")
            sign = -1 if indicator == "DBIT" else 1
            status = text_at(entry, "{*}Sts/{*}Cd") or text_at(entry, "{*}Sts/{*}Prtry") or text_at(entry, "{*}Sts")
            if status in LISTED_ONLY:
                pending.append(f"{account} {sign * minor} {currency} {text_at(entry, '{*}AcctSvcrRef') or ''}".strip())
                continue
            if status != BOOKED:
                raise StatementError(f"{where}: status {status!r} is not BOOK, PDNG or INFO")
            day = day_at(entry, "{*}BookgDt") or day_at(entry, "{*}ValDt")
            if day is None:
                raise StatementError(f"{where}: neither a booking nor a value date")
            details = entry.find("{*}NtryDtls/{*}TxDtls")
            role = "{*}RltdPties/{*}" + ("Dbtr" if sign > 0 else "Cdtr")
            words = []
            if details is not None:  # the counterparty: under Pty from version 08 on (Party40Choice), Nm before
                party = text_at(details, f"{role}/{{*}}Pty/{{*}}Nm") or text_at(details, f"{role}/{{*}}Nm")
                words = [party, text_at(details, "{*}RmtInf/{*}Ustrd")]
            words.append(text_at(entry, "{*}AddtlNtryInf"))
            trace = text_at(details, "{*}Refs/{*}EndToEndId") if details is not None else None
            booked[currency] = booked.get(currency, 0) + sign * minor
            text = " ".join(w for w in words if w)
            entries.append(Entry(account, day, sign * minor, currency, text_at(entry, "{*}AcctSvcrRef"), text,
                                 None if trace == "NOTPROVIDED" else trace))  # fmt: skip
        _camt_balances_tie(statement, account, booked, text_at)
    return _statement("camt.053", entries, stated, pending)


def _camt_balances_tie(statement, account: str, booked: dict[str, int], text_at) -> None:
    """Opening booked (OPBD) plus the booked lines must be the closing booked balance (CLBD), where both are given."""
    balances = {}
    for balance in statement.iterfind("{*}Bal"):
        kind = text_at(balance, "{*}Tp/{*}CdOrPrtry/{*}Cd")
        amount = balance.find("{*}Amt")
        if kind not in ("OPBD", "CLBD") or amount is None or not CAMT_AMOUNT.match((amount.text or "").strip()):
            continue
        currency = _currency(amount.get("Ccy"), f"account {account} balance {kind}")
        sign = -1 if text_at(balance, "{*}CdtDbtInd") == "DBIT" else 1
        balances[kind] = (currency, sign * to_minor(Decimal(amount.text.strip()), currency))
    if "OPBD" in balances and "CLBD" in balances:
        (currency, opening), (_, closing) = balances["OPBD"], balances["CLBD"]
        if opening + booked.get(currency, 0) != closing:
            raise StatementError(f"account {account}: opening {opening} + lines {booked.get(currency, 0)} is not "
                                 f"the closing balance {closing} (minor units of {currency})")  # fmt: skip


def read_mt940(data: bytes) -> Statement:
    import mt940

    text = _text(data, "MT940").replace("\r\n", "\n")
    messages = [m for m in re.split(r"(?m)^(?=:20:)", text) if m.lstrip().startswith(":20:")]
    if not messages:
        raise StatementError("not an MT940 file: no statement message (:20:)")
    entries, stated = [], []
    for message in messages:
        try:
            parsed = mt940.parse(message)
        except Exception as exc:  # the package raises its own and plain errors alike
            raise StatementError(f"not an MT940 file: {' '.join(str(exc).split())}") from None
        account = parsed.data.get("account_identification")
        opening = parsed.data.get("final_opening_balance") or parsed.data.get("intermediate_opening_balance")
        closing = parsed.data.get("final_closing_balance") or parsed.data.get("intermediate_closing_balance")
        if not account or opening is None or closing is None:
            raise StatementError("an MT940 statement without its account (:25:), opening (:60F:) or closing (:62F:)")
        if len(parsed) != len(re.findall(r"(?m)^:61:", message)):
            raise StatementError(f"account {account}: a :61: line the format does not allow")
        currency = _currency(closing.amount.currency, f"account {account}")
        if opening.amount.currency != currency:
            raise StatementError(f"account {account}: opening and closing balances in different currencies")
        total = 0
        for transaction in parsed:
            fields = transaction.data
            amount = fields["amount"]
            day = fields.get("entry_date") or fields["date"]
            reference = fields.get("customer_reference")
            try:
                minor = to_minor(amount.amount, _currency(amount.currency, f"account {account}"))
            except MoneyError as exc:
                raise StatementError(f"account {account}: {exc}") from None
            total += minor
            entries.append(Entry(account, date(day.year, day.month, day.day), minor, amount.currency,
                                 fields.get("bank_reference"), fields.get("transaction_details") or "",
                                 None if reference in (None, "", NO_REFERENCE) else reference))  # fmt: skip
        opened, closed = to_minor(opening.amount.amount, currency), to_minor(closing.amount.amount, currency)
        if opened + total != closed:
            raise StatementError(f"account {account}: :60F: {opened} + lines {total} is not :62F: {closed} "
                                 f"(minor units of {currency})")  # fmt: skip
        stated.append((account, date(closing.date.year, closing.date.month, closing.date.day)))
    return _statement("MT940", entries, stated)


_READERS = {(".bai2", ".bai"): read_bai2, (".xml",): read_camt053, (".mt940", ".sta"): read_mt940}


def is_statement(name: str) -> bool:
    return name.lower().endswith(tuple(e for endings in _READERS for e in endings))


def read_statement(name: str, data: bytes) -> Statement:
    """A statement file checked whole, its format told by its name's ending (.bai2/.bai, .xml, .mt940/.sta)."""
    if not data.strip():
        raise StatementError("an empty file")
    if len(data) > MAX_FILE_BYTES:
        raise StatementError(f"a file of {len(data):,} bytes (at most {MAX_FILE_BYTES:,})")
    for endings, read in _READERS.items():
        if name.lower().endswith(endings):
            return read(data)
    raise StatementError("not a statement file (.bai2, .xml or .mt940)")
