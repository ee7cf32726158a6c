"""``streampanel admin destination``: settings stored sealed, secrets never printed back."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from streampanel.cli import app
from streampanel.store import uploads as store
from streampanel.store.tables.uploads import upload_destinations
from tests.conftest import server_env
from tests.uploads.conftest import Env

ACCESS = "AKIAEXAMPLEACCESS"
SECRET = "wJalrXUtnFEMI-super-secret-key"
CLIENT_SECRET = "GOCSPX-client-secret"
REFRESH = "1//refresh-token-value"


def _run(env: Env, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=server_env(env.settings))
    return result.exit_code, result.output


def test_s3_and_youtube_destinations_are_sealed_and_never_printed(env: Env) -> None:
    code, output = _run(
        env,
        "admin",
        "destination",
        "s3",
        "--cdn",
        "158",
        "--bucket",
        "media-bucket",
        "--region",
        "eu-west-1",
        "--access-key",
        ACCESS,
        "--secret-key",
        SECRET,
        "--endpoint-url",
        "http://127.0.0.1:9000",
    )
    assert code == 0, output
    code, output = _run(
        env,
        "admin",
        "destination",
        "youtube",
        "--cdn",
        "158",
        "--client-id",
        "client.apps.googleusercontent.com",
        "--client-secret",
        CLIENT_SECRET,
        "--refresh-token",
        REFRESH,
    )
    assert code == 0, output

    code, output = _run(env, "admin", "destination", "show", "--cdn", "158")
    assert code == 0, output
    assert "media-bucket" in output and "eu-west-1" in output
    assert "client.apps.googleusercontent.com" in output
    for secret in (ACCESS, SECRET, CLIENT_SECRET, REFRESH):
        assert secret not in output

    with env.runtime.engine.connect() as conn:
        stored = " ".join(
            r.settings + r.secrets_sealed for r in conn.execute(select(upload_destinations))
        )
        s3 = store.get_destination(conn, env.runtime.box, 158, "aws")
        youtube = store.get_destination(conn, env.runtime.box, 158, "youtube")
    for secret in (ACCESS, SECRET, CLIENT_SECRET, REFRESH):
        assert secret not in stored
    assert s3 is not None and s3.secrets == {"access_key": ACCESS, "secret_key": SECRET}
    assert s3.settings == {
        "bucket": "media-bucket",
        "region": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:9000",
    }
    assert youtube is not None and youtube.secrets["refresh_token"] == REFRESH

    code, output = _run(env, "admin", "destination", "remove", "s3", "--cdn", "158")
    assert code == 0, output
    code, output = _run(env, "admin", "destination", "remove", "s3", "--cdn", "158")
    assert code == 1


def test_secrets_can_be_prompted_and_unknown_accounts_are_refused(env: Env) -> None:
    result = CliRunner().invoke(
        app,
        ["admin", "destination", "s3", "--cdn", "158", "--bucket", "b-bucket"],
        input=f"{ACCESS}\n{SECRET}\n",
        env=server_env(env.settings),
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and ACCESS not in result.output
    code, output = _run(
        env,
        "admin",
        "destination",
        "s3",
        "--cdn",
        "999",
        "--bucket",
        "bb-b",
        "--access-key",
        "a",
        "--secret-key",
        "b",
    )
    assert code == 1 and "no account" in output
