"""Clients for the processors' and the ledger's APIs (requests), with shared retry and paging machinery."""
