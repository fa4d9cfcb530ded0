"""The second factor's secret is kept sealed in the database (examportal/models/sealed.py): what a
copy of the database shows is not the key an authenticator app could be set up with, the model
reads the plain secret back, a secret stored before sealing still works and is sealed at its next
use, and one that does not open under the configured key matches no code (a recovery code still
lets the person in) instead of breaking the login."""
from __future__ import annotations

import logging

import pyotp
import pytest
from sqlalchemy import text

from examportal.auth import two_factor
from examportal.extensions import db
from examportal.models import Role, User, sealed
from tests.factories import PASSWORD, client_as, make_institution, make_user

SECOND_STEP = "/auth/two-factor"


def stored(user_id: int) -> str:
    """The column as the database holds it (past the model's type)."""
    return db.session.execute(text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": user_id}).scalar_one()


def store(user_id: int, value: str) -> None:
    db.session.execute(text("UPDATE user_account SET totp_secret = :v, totp_last_step = NULL WHERE id = :id"),
                       {"v": value, "id": user_id})
    db.session.commit()
    db.session.expire_all()


def second_step(app, user: User, code: str):
    client = client_as(app)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith(SECOND_STEP)
    return client, client.post(SECOND_STEP, data={"code": code})


def passed(response) -> bool:
    """The second step let the person in (not back to the login or the code)."""
    return response.status_code == 302 and not response.headers["Location"].endswith(("/auth/login", SECOND_STEP))


@pytest.fixture
def staff(app):
    return make_user((Role.STAFF, make_institution("Fundacja Testowa")), email="personel@example.pl")


def test_the_database_holds_the_secret_sealed_and_the_model_reads_it_plain(app, staff):
    secret = staff.totp_secret
    raw = stored(staff.id)
    assert raw.startswith(sealed.PREFIX) and secret not in raw and len(raw) <= 255
    db.session.expire_all()
    assert db.session.get(User, staff.id).totp_secret == secret
    # Sealed afresh each time it is written: two copies of one secret do not look alike.
    assert sealed.seal(secret) != sealed.seal(secret)
    assert passed(second_step(app, staff, pyotp.TOTP(secret).now())[1])


def test_a_secret_stored_before_sealing_still_works_and_is_sealed_at_its_next_use(app, staff):
    secret = pyotp.random_base32()
    store(staff.id, secret)
    assert db.session.get(User, staff.id).totp_secret == secret
    assert passed(second_step(app, staff, pyotp.TOTP(secret).now())[1])
    raw = stored(staff.id)
    assert raw.startswith(sealed.PREFIX) and secret not in raw
    db.session.expire_all()
    assert db.session.get(User, staff.id).totp_secret == secret


def test_a_secret_sealed_under_another_key_matches_no_code_but_a_recovery_code_lets_the_person_in(
        app, staff, caplog, monkeypatch):
    monkeypatch.setattr(sealed, "_told", False)  # logged once per process
    secret = staff.totp_secret
    codes = two_factor.regenerate_recovery_codes(staff)
    configured = app.config["CREDENTIAL_KEY"]
    app.config["CREDENTIAL_KEY"] = "another-credential-key-0123456789abcdefghij"
    sealed_elsewhere = sealed.seal(secret)
    app.config["CREDENTIAL_KEY"] = configured
    store(staff.id, sealed_elsewhere)
    with caplog.at_level(logging.ERROR, logger="examportal.models.sealed"):
        _client, response = second_step(app, staff, pyotp.TOTP(secret).now())
    assert response.status_code == 200 and "This code is not valid" in response.get_data(as_text=True)
    assert any("does not open" in record.getMessage() for record in caplog.records)
    assert passed(second_step(app, staff, codes[0])[1])


def test_the_command_seals_every_secret_stored_before_sealing(app, staff, runner):
    others = [make_user((Role.STAFF, staff.roles[0].institution)) for _ in range(2)]
    plain = {user.id: pyotp.random_base32() for user in [staff, *others]}
    for user_id, secret in plain.items():
        store(user_id, secret)
    result = runner.invoke(args=["credentials", "seal-secrets"])
    assert result.exit_code == 0 and "sealed 3" in result.output
    for user_id, secret in plain.items():
        assert stored(user_id).startswith(sealed.PREFIX) and db.session.get(User, user_id).totp_secret == secret
    assert "sealed 0" in runner.invoke(args=["credentials", "seal-secrets"]).output


def test_a_secret_turned_off_meanwhile_is_not_written_back_when_sealing(app, staff):
    secret = pyotp.random_base32()
    store(staff.id, secret)
    user = db.session.get(User, staff.id)
    assert user.totp_secret == secret  # read at the start of a request
    # Reset by an administrator (a stolen phone) while that request checks a code.
    db.session.execute(text("UPDATE user_account SET totp_secret = NULL, totp_last_step = NULL WHERE id = :id"),
                       {"id": staff.id})
    assert two_factor.check_code(user, pyotp.TOTP(secret).now()) == two_factor.CodeCheck.TOTP
    db.session.commit()
    assert db.session.execute(text("SELECT totp_secret FROM user_account WHERE id = :id"),
                              {"id": staff.id}).scalar_one() is None


# --------------------------------------------------------------------------- replacing CREDENTIAL_KEY

NEW_KEY = "the-next-credential-key-0123456789abcdefghij"


def replace_the_key(app) -> str:
    """CREDENTIAL_KEY replaced, the old one moved to CREDENTIAL_KEY_PREVIOUS (as the README says); the old key."""
    old = app.config["CREDENTIAL_KEY"]
    app.config.update(CREDENTIAL_KEY=NEW_KEY, CREDENTIAL_KEY_PREVIOUS=f"some-older-key-abcdefghijklmnopqrstuvwxyz0123, {old}")
    return old


def test_after_the_key_is_replaced_a_secret_sealed_under_the_old_one_works_and_is_sealed_again(app, staff):
    secret = staff.totp_secret
    under_old = stored(staff.id)
    replace_the_key(app)
    db.session.expire_all()
    assert db.session.get(User, staff.id).totp_secret == secret
    assert passed(second_step(app, staff, pyotp.TOTP(secret).now())[1])
    assert stored(staff.id) != under_old  # sealed again at its use, under the new key
    app.config["CREDENTIAL_KEY_PREVIOUS"] = None  # the old key retired
    db.session.expire_all()
    assert db.session.get(User, staff.id).totp_secret == secret


def test_without_the_previous_key_a_secret_sealed_under_it_matches_no_code(app, staff):
    secret = staff.totp_secret
    app.config["CREDENTIAL_KEY"] = NEW_KEY  # replaced, the old key not kept
    db.session.expire_all()
    _client, response = second_step(app, staff, pyotp.TOTP(secret).now())
    assert response.status_code == 200 and "This code is not valid" in response.get_data(as_text=True)


def test_the_command_seals_under_the_new_key_what_the_old_one_sealed(app, staff, runner, qualification):
    from examportal.credentials import keys
    from examportal.models import AuditEntry, CredentialKey

    others = [make_user((Role.STAFF, staff.roles[0].institution)) for _ in range(2)]
    secrets = {user.id: user.totp_secret for user in [staff, *others]}
    institution = make_institution("Instytut Certyfikujący", qualifications=[qualification], short_name="IC")
    signing = keys.signing_key(institution)
    signature = signing.sign(b"signed before")
    db.session.commit()
    replace_the_key(app)
    result = runner.invoke(args=["credentials", "seal-secrets"])
    assert result.exit_code == 0, result.output
    assert "sealed 3 second-factor" in result.output and "sealed 1 signing key" in result.output
    assert "sealed 0 second-factor" in runner.invoke(args=["credentials", "seal-secrets"]).output  # nothing left
    app.config["CREDENTIAL_KEY_PREVIOUS"] = ""  # the old key retired: everything opens under the new one
    db.session.expire_all()
    for user_id, secret in secrets.items():
        assert db.session.get(User, user_id).totp_secret == secret
    key = db.session.get(CredentialKey, signing.row.id)
    keys.unseal(key).public_key().verify(signature, b"signed before")  # the same private key
    audited = db.session.query(AuditEntry).filter_by(action="credential_key.resealed").all()
    assert [entry.after["kid"] for entry in audited] == [key.kid]


def test_the_command_names_a_signing_key_no_configured_key_opens(app, staff, runner, qualification):
    from examportal.credentials import keys

    institution = make_institution("Instytut Certyfikujący", qualifications=[qualification], short_name="IC")
    kid = keys.signing_key(institution).row.kid
    db.session.commit()
    app.config["CREDENTIAL_KEY"] = NEW_KEY  # replaced without keeping the old one
    result = runner.invoke(args=["credentials", "seal-secrets"])
    assert result.exit_code == 1 and kid in result.output
    with pytest.raises(keys.CredentialKeyError, match="CREDENTIAL_KEY_PREVIOUS"):
        keys.signing_key(institution)
