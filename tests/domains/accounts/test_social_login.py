"""Social login end to end: a verified Google or Facebook identity creates or links an account."""

from __future__ import annotations

import pytest
from django.apps import apps

from coko.devtools.testing.api import Api
from coko.devtools.testing.events import last_event
from coko.domains.accounts.contracts import USER_REGISTERED, UserRegistered

from .conftest import payloads
from .test_social import APP_ID, FakeGoogle, FakeGraph, FakeServer  # noqa: F401 - the fakes, reused
from .test_social import graph, keys  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"),
              pytest.mark.usefixtures("outbound_loopback")]  # the fake providers listen on loopback
User = apps.get_model("accounts", "User")
SocialAccount = apps.get_model("accounts", "SocialAccount")


@pytest.fixture
def google(keys, settings):  # noqa: F811 - one certificate form is enough here
    from .test_social import ANDROID, IOS, WEB

    server = FakeServer()
    fake = FakeGoogle(server, keys["google"], "jwks")
    settings.GOOGLE_CERTS_URL = fake.certs_url
    settings.GOOGLE_CLIENT_IDS = [WEB, ANDROID, IOS]
    yield fake
    server.close()


def test_a_first_google_login_creates_an_account_with_the_verified_email(google):
    response = Api().post("/auth/social/google", {"id_token": google.token()})
    assert response.status_code == 200 and response.data["access_token"]
    user = User.objects.get()
    assert (user.email, user.display_name) == ("ada@example.com", "Ada Lovelace")
    assert user.email_verified_at is not None and not user.has_usable_password()
    assert [e.via for e in payloads(USER_REGISTERED)] == ["google"]
    again = Api().post("/auth/social/google", {"id_token": google.token()})
    assert again.status_code == 200 and User.objects.count() == 1 and SocialAccount.objects.count() == 1


def test_google_links_to_an_existing_account_with_the_same_verified_email(google):
    Api().register(email="ada@example.com")
    response = Api().post("/auth/social/google", {"id_token": google.token()})
    assert response.status_code == 200
    assert User.objects.count() == 1
    assert SocialAccount.objects.get().user == User.objects.get()


def test_an_unverified_google_email_never_links_to_an_existing_account(google):
    Api().register(email="ada@example.com")
    Api().post("/auth/social/google", {"id_token": google.token(email_verified=False)})
    assert User.objects.count() == 2


def test_a_refused_google_token_is_a_401_envelope_and_creates_nothing(google):
    response = Api().post("/auth/social/google", {"id_token": google.token(aud="someone-else")})
    assert response.status_code == 401
    assert response.data["error"]["code"] == "social_token_invalid"
    assert User.objects.count() == 0


def test_facebook_login_creates_an_account_without_trusting_its_email(graph):  # noqa: F811
    token = graph.issue("EAAG-token-1")
    response = Api().post("/auth/social/facebook", {"access_token": token})
    assert response.status_code == 200
    user = User.objects.get()
    assert user.email is None  # Facebook does not say the address was verified
    assert SocialAccount.objects.get().provider == "facebook"


def test_password_and_social_registration_announce_the_same_payload(google):
    """One function builds ``user.registered``: the same fields, filled from the new account the
    same way, whichever door the reader came in by."""
    by_password = Api().register(email="awa@example.sn", display_name="Awa", preferred_language="wo")
    assert by_password.status_code == 201
    password_event = last_event("accounts", USER_REGISTERED)
    assert Api().post("/auth/social/google", {"id_token": google.token()}).status_code == 200
    social_event = last_event("accounts", USER_REGISTERED)
    assert social_event.id != password_event.id
    assert set(social_event.payload) == set(password_event.payload)
    assert social_event.version == password_event.version == UserRegistered.VERSION

    ada = User.objects.get(email="ada@example.com")
    assert social_event.payload_as(UserRegistered) == UserRegistered(
        user_id=str(ada.id), display_name="Ada Lovelace", preferred_language=ada.preferred_language,
        country="", has_email=True, has_phone=False, marketing_consent=False, via="google")
    assert password_event.payload_as(UserRegistered) == UserRegistered(
        user_id=by_password.data["user"]["id"], display_name="Awa", preferred_language="wo",
        country="", has_email=True, has_phone=False, marketing_consent=False, via="password")


# --- a provider this deployment has not configured -----------------------------------------------
@pytest.mark.parametrize("provider, body", [("google", {"id_token": "x.y.z"}),
                                            ("facebook", {"access_token": "EAAB-token"})])
def test_a_provider_not_configured_is_a_404_envelope_and_rate_limited(settings, provider, body):
    """Attack: hammering an unconfigured sign-in route costs nothing and was never counted
    (the limit was applied after the provider check), and answered 503, which tells clients
    to retry and monitoring that the platform is failing. It is a 404, counted like the rest."""
    settings.GOOGLE_CLIENT_IDS = []
    settings.FACEBOOK_APP_ID = ""
    settings.ACCOUNTS_RATE_LIMITS = {**settings.ACCOUNTS_RATE_LIMITS, "social_ip": (3, 60)}
    client = Api(ip="41.82.215.9")
    answers = [client.post(f"/auth/social/{provider}", body) for _ in range(4)]
    for response in answers[:3]:
        assert response.status_code == 404
        assert response.data["error"]["code"] == "social_provider_not_configured"
        assert response.data["error"]["details"] == {"provider": provider}
    assert answers[3].status_code == 429
    assert answers[3].data["error"]["code"] == "rate_limited"
    assert "Retry-After" in answers[3]
    assert not User.objects.exists()


def test_refused_social_tokens_count_against_the_rate_limit(google, settings):
    """Attack: trying forged or stolen Google tokens without limit (each refusal was free)."""
    settings.ACCOUNTS_RATE_LIMITS = {**settings.ACCOUNTS_RATE_LIMITS, "social_ip": (2, 60)}
    client = Api(ip="41.82.215.10")
    statuses = [client.post("/auth/social/google", {"id_token": "forged.token.here"}).status_code
                for _ in range(3)]
    assert statuses == [401, 401, 429]
