"""Suggested groups: a bounded search for 2 to 4 unmatched processor records whose sum equals an unmatched
ledger entry, when no shared key says they belong together.

The search runs per currency and sign over the day's records missing in the ledger, only where there are at
most ``SUGGESTION_CANDIDATE_CAP`` of them, and only for exact sums. Entries are served in ledger-id order,
each taking the smallest fitting group (then the earliest in id order) of records no earlier entry took.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from recon_assets.domain.rules import SUGGESTION_CANDIDATE_CAP, SUGGESTION_SIZES


def suggest_groups(
    entry_amounts: np.ndarray,
    entry_currencies: np.ndarray,
    candidate_amounts: np.ndarray,
    candidate_currencies: np.ndarray,
) -> list[tuple[int, tuple[int, ...]]]:
    """(entry position, candidate positions) for each entry a group of candidates sums to exactly."""
    found = []
    candidate_sign = np.sign(candidate_amounts)
    for currency in np.unique(entry_currencies):
        for sign in (1, -1):
            pool = np.flatnonzero((candidate_currencies == currency) & (candidate_sign == sign))
            wanted = np.flatnonzero((entry_currencies == currency) & (np.sign(entry_amounts) == sign))
            if not len(wanted) or not SUGGESTION_SIZES[0] <= len(pool) <= SUGGESTION_CANDIDATE_CAP:
                continue
            groups = _groups_by_sum(candidate_amounts[pool].tolist())
            taken: set[int] = set()
            for entry in wanted:
                for group in groups.get(int(entry_amounts[entry]), ()):
                    if not taken.intersection(group):
                        taken.update(group)
                        found.append((int(entry), tuple(int(pool[i]) for i in group)))
                        break
    return sorted(found)


def _groups_by_sum(amounts: list[int]) -> dict[int, list[tuple[int, ...]]]:
    """Every group of 2 to 4 positions by its sum, smallest groups first."""
    low, high = SUGGESTION_SIZES
    groups: dict[int, list[tuple[int, ...]]] = {}
    for size in range(low, high + 1):
        for group in combinations(range(len(amounts)), size):
            groups.setdefault(sum(amounts[i] for i in group), []).append(group)
    return groups
