"""The sandbox bank's statement of one account and day, written in each format banks send: BAI2,
ISO 20022 camt.053 (version 001.08) and SWIFT MT940, each in its published structure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from recon_assets.domain.money import exponent, format_major

CAMT053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
BANK = "RECONSANDBOXBANK"
_BAI2_CREDIT, _BAI2_DEBIT = "165", "455"  # preauthorised ACH credit and debit


@dataclass(frozen=True)
class StatementEntry:
    amount_minor: int  # credits positive
    currency: str
    counterparty: str
    description: str
    bank_reference: str
    trace: str | None = None  # the payer's end-to-end (trace) id, when it sends one


def _plain(text: str) -> str:
    """Text as the fixed formats carry it: no field or record separators."""
    return " ".join(text.replace(",", " ").replace("/", " ").split())


def write_bai2(account: str, day: date, entries: Sequence[StatementEntry]) -> str:
    currency = entries[0].currency if entries else "USD"
    details = []
    for e in entries:
        code = _BAI2_CREDIT if e.amount_minor > 0 else _BAI2_DEBIT
        details += [f"16,{code},{abs(e.amount_minor)},Z,{_plain(e.bank_reference)},{_plain(e.trace or '')}/",
                    f"88,{_plain(e.counterparty)} {_plain(e.description)}"]  # fmt: skip
    total = sum(abs(e.amount_minor) for e in entries)
    account_records = [f"03,{account},{currency},,,,/", *details]
    account_records.append(f"49,{total},{len(account_records) + 1}/")
    group = [f"02,RECON,{BANK},1,{day:%y%m%d},0600,{currency},2/", *account_records]
    group.append(f"98,{total},1,{len(group) + 1}/")
    records = [f"01,{BANK},RECON,{day:%y%m%d},0600,{day:%Y%m%d},,,2/", *group]
    records.append(f"99,{total},1,{len(records) + 1}/")
    return "\n".join(records) + "\n"


def _mt940_amount(minor: int, currency: str) -> str:
    text = format_major(abs(minor), currency)
    return text.replace(".", ",") if exponent(currency) else text + ","


def write_mt940(account: str, day: date, entries: Sequence[StatementEntry]) -> str:
    currency = entries[0].currency if entries else "USD"
    closing = sum(e.amount_minor for e in entries)
    lines = [f":20:{day:%Y%m%d}{account[-8:]}", f":25:{account}", ":28C:1/1",
             f":60F:C{day:%y%m%d}{currency}{_mt940_amount(0, currency)}"]  # fmt: skip
    for e in entries:
        mark = "C" if e.amount_minor > 0 else "D"
        lines += [f":61:{day:%y%m%d}{day:%m%d}{mark}{_mt940_amount(e.amount_minor, currency)}NTRF"
                  f"{_plain(e.trace or 'NONREF')[:16]}//{_plain(e.bank_reference)[:16]}",
                  f":86:{_plain(e.counterparty)} {_plain(e.description)}"]  # fmt: skip
    lines.append(f":62F:{'C' if closing >= 0 else 'D'}{day:%y%m%d}{currency}{_mt940_amount(closing, currency)}")
    return "\n".join(lines) + "\n"


def write_camt053(account: str, day: date, entries: Sequence[StatementEntry]) -> bytes:
    from lxml import etree

    ns = f"{{{CAMT053}}}"

    def child(parent, tag: str, text: str | None = None, **attributes):
        element = etree.SubElement(parent, ns + tag, **attributes)
        element.text = text
        return element

    document = etree.Element(ns + "Document", nsmap={None: CAMT053})
    statement_root = child(document, "BkToCstmrStmt")
    header = child(statement_root, "GrpHdr")
    child(header, "MsgId", f"{day:%Y%m%d}-{account}")
    child(header, "CreDtTm", f"{day.isoformat()}T06:00:00Z")
    statement = child(statement_root, "Stmt")
    child(statement, "Id", f"{day:%Y%m%d}-{account}")
    child(statement, "CreDtTm", f"{day.isoformat()}T06:00:00Z")
    child(child(child(child(statement, "Acct"), "Id"), "Othr"), "Id", account)
    for e in entries:
        entry = child(statement, "Ntry")
        child(entry, "Amt", format_major(abs(e.amount_minor), e.currency), Ccy=e.currency)
        credit = e.amount_minor > 0
        child(entry, "CdtDbtInd", "CRDT" if credit else "DBIT")
        child(child(entry, "Sts"), "Cd", "BOOK")
        child(child(entry, "BookgDt"), "Dt", day.isoformat())
        child(child(entry, "ValDt"), "Dt", day.isoformat())
        child(entry, "AcctSvcrRef", e.bank_reference)
        transaction = child(child(entry, "NtryDtls"), "TxDtls")
        child(child(transaction, "Refs"), "EndToEndId", e.trace or "NOTPROVIDED")
        party = child(child(child(transaction, "RltdPties"), "Dbtr" if credit else "Cdtr"), "Pty")  # Party40Choice
        child(party, "Nm", e.counterparty)
        child(child(transaction, "RmtInf"), "Ustrd", e.description)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)
