import pytest
from django.core.exceptions import ImproperlyConfigured

from riskplatform.env import env_bool, env_int, env_list, env_required


def test_booleans(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "0")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG", True)
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", True) is True


def test_required_and_typed_values(monkeypatch):
    monkeypatch.delenv("SOMETHING", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SOMETHING is not set"):
        env_required("SOMETHING", "hint")
    monkeypatch.setenv("N", "x")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("N", 1)
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
