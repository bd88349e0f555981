"""``tracker parked``, ``tracker sync explain``, ``tracker status`` sync facts, and settings
from a config file — against the sandbox over loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.sandbox import ItemRule, Sandbox
from sync.settings import Settings
from tests.helpers.cli import run

pytestmark = pytest.mark.usefixtures("point_at_sandbox")


@pytest.fixture
def sandbox() -> Sandbox:
    sb = Sandbox()
    sb.add_fault(ItemRule.description_contains("BAD"))
    return sb


def test_parked_list_show_retry_drop(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> None:
    for text in ("BAD one", "BAD two", "fine"):
        run(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01", "-d", text)
    code, _, _ = run(capsys, "sync")
    assert code == 65
    code, out, _ = run(capsys, "parked", "list", "--json")
    parked = json.loads(out)
    assert [p["error_type"] for p in parked] == ["INVALID_VALUE", "INVALID_VALUE"]
    first, second = parked[0]["seq"], parked[1]["seq"]
    code, out, _ = run(capsys, "parked", "show", str(first), "--json")
    shown = json.loads(out)
    assert shown["error_param"] == "description"
    assert shown["trip"]["description"] == "BAD one"
    code, out, _ = run(capsys, "parked", "list")
    assert "INVALID_VALUE" in out
    assert "retry/drop" in out
    sandbox.clear_faults()  # the server changed its mind: retry as is
    assert run(capsys, "parked", "retry", str(first))[0] == 0
    assert run(capsys, "parked", "drop", str(second))[0] == 0
    code, out, _ = run(capsys, "sync", "--json")
    assert code == 0
    assert json.loads(out)["push"]["synced"] == 1
    assert json.loads(run(capsys, "parked", "list", "--json")[1]) == []
    code, _, err = run(capsys, "parked", "show", str(first))
    assert code == 65
    assert "no parked" in err


def test_a_parked_change_is_named_by_its_number_or_its_trips_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = run(
        capsys, "trip", "add", "-q", "--distance", "1", "--date", "2026-03-01", "-d", "BAD"
    )
    trip_id = out.strip()
    assert run(capsys, "sync")[0] == 65
    (parked,) = json.loads(run(capsys, "parked", "list", "--json")[1])
    code, out, err = run(capsys, "parked", "show", trip_id[:6], "--json")
    assert code == 0, err
    assert json.loads(out)["seq"] == parked["seq"]
    code, _, err = run(capsys, "parked", "show", "ab")  # neither a change nor a 4+ prefix
    assert code == 65
    assert "no parked change 'ab': give its number or its trip's id" in err
    _, out, _ = run(capsys, "trip", "add", "-q", "--distance", "1", "--date", "2026-03-01")
    code, _, err = run(capsys, "parked", "drop", out.strip()[:8])  # a trip with nothing parked
    assert code == 65
    assert "no parked change" in err
    code, out, err = run(capsys, "parked", "retry", trip_id[:8])
    assert code == 0, err
    assert out.strip() == f"change {parked['seq']} (trip {trip_id}) queued again"
    assert json.loads(run(capsys, "parked", "list", "--json")[1]) == []


def test_explain_tells_the_story(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01", "-d", "BAD", "--json"
    )
    trip_id = json.loads(out)["id"]
    run(capsys, "sync")
    code, out, _ = run(capsys, "sync", "explain", trip_id[:8])
    assert code == 0
    assert "rejected by the server and waits for you" in out
    assert "was queued" in out
    assert "is parked: the server said INVALID_VALUE on description" in out
    _, out, _ = run(capsys, "sync", "explain", trip_id, "--json")
    story = json.loads(out)
    assert story["sync_state"] == "parked"
    assert [e["event"] for e in story["history"]] == ["queued save", "recorded", "parked"]


def test_status_reports_last_error_and_no_daemon(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "trip", "add", "--distance", "1", "--date", "2026-03-01", "-d", "BAD")
    run(capsys, "sync")
    code, out, _ = run(capsys, "status", "--json")
    assert code == 0
    status = json.loads(out)
    assert status["journal"]["parked"] == 1
    assert status["last_error"]["mileage"]["type"] == "INVALID_VALUE"
    assert status["daemon"] == {"running": False, "owner": None, "count": 0}
    assert status["sync_running"] is False


def test_settings_from_a_config_file_and_env_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'distance_unit = "mile"\n[mileage]\nbatch_size = 25\nurl = "https://file.example"\n'
    )
    monkeypatch.setenv("TRACKER_CONFIG", str(config))
    monkeypatch.setenv("TRACKER_MILEAGE_URL", "https://env.example")
    settings = Settings()
    assert settings.distance_unit == "mile"
    assert settings.mileage.batch_size == 25
    assert settings.mileage.url == "https://env.example"  # env beats the file
    assert Settings(distance_unit="km").distance_unit == "km"  # arguments beat both


def test_tls_verification_cannot_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_MILEAGE_VERIFY", "false")
    with pytest.raises(ValueError, match="TLS verification cannot be turned off"):
        Settings()
