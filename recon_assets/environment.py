"""How resources read the environment: a field is bound to its variable only when that variable is set,
so an unset variable leaves the field's default (written once, in the domain) in force."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg


def from_environment(**fields: Any) -> dict[str, Any]:
    """``{field: dg.EnvVar(name)}`` for each ``field=name`` whose variable is set.

    A name may also be given as ``dg.EnvVar.int(name)`` for an integer field.
    """
    bound = {}
    for field, variable in fields.items():
        env = variable if hasattr(variable, "env_var_name") else dg.EnvVar(variable)
        if os.environ.get(env.env_var_name):
            bound[field] = env
    return bound


# the sandbox's account, the same for every source and the bank: each resource field's variable
SANDBOX_SETTINGS = {
    "sandbox_seed": dg.EnvVar.int("RECON_SANDBOX_SEED"),
    "sandbox_daily_volume": dg.EnvVar.int("RECON_SANDBOX_DAILY_VOLUME"),
    "sandbox_stripe_converts": "RECON_SANDBOX_STRIPE_CONVERTS",
}


def misconfigured(message: str) -> dg.Failure:
    """A configuration error as a step failure: one line naming the setting, and not retried."""
    return dg.Failure(description=message, allow_retries=False)
