"""Every asset key, written once: the assets, the CLI, the sensors and the tests read them from here."""

from __future__ import annotations

import dagster as dg

from recon_assets.processors.registry import LEDGER

LEDGER_TRANSACTIONS = dg.AssetKey([LEDGER.name, "transactions"])
OPEN_DISCREPANCIES = dg.AssetKey(["reconciliation", "open_discrepancies"])
EXCEPTION_AGING = dg.AssetKey(["reconciliation", "exception_aging"])
DAILY_SUMMARY = dg.AssetKey(["reporting", "daily_summary"])
BANK_STATEMENT_FILES = dg.AssetKey(["bank", "statement_files"])
BANK_STATEMENT_LINES = dg.AssetKey(["bank", "statement_lines"])
PAYOUT_MATCHES = dg.AssetKey(["settlement", "payout_matches"])
CASH_POSITION = dg.AssetKey(["settlement", "cash_position"])


def raw_transactions(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "raw_transactions"])


def landed(source: str) -> dg.AssetKey:
    """The day as landed from a source: a processor's raw transactions, or the ledger's entries."""
    return LEDGER_TRANSACTIONS if source == LEDGER.name else raw_transactions(source)


def discrepancies(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "discrepancies"])


def reconciliation_summary(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "reconciliation_summary"])


def reconciliation_report(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "reconciliation_report"])


def payouts(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "payouts"])


def payout_items(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "payout_items"])


def disputes(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "disputes"])
