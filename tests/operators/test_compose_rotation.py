"""trialop23: a compose site is given its settings only through compose.yaml's list, so the
rotation's settings (the previous secret key, the retired audit keys) must be in it, passed
from the machine's environment or .env file, and empty (no rotation) by default."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from opencall.settings import Settings
from tests.scale.test_deploy import ENV, ROOT, opencall_services, walk

ROTATION = {"OPENCALL_SECRET_KEY_PREVIOUS": "p" * 40, "OPENCALL_AUDIT_RETIRED_KEYS": "r" * 40}


@pytest.mark.parametrize("given", [{}, ROTATION])
def test_every_process_can_be_given_the_rotation_settings(given: dict[str, str]) -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    for name, svc in opencall_services(compose).items():
        values = walk(svc["environment"], {**ENV, **given})
        for var in ROTATION:
            assert values.get(var) == given.get(var, ""), (name, var)
        settings = Settings(**{k.removeprefix("OPENCALL_").lower(): v for k, v in values.items()})
        assert settings.secret_keys[-1] == ENV["OPENCALL_SECRET_KEY"]
