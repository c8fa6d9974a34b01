"""KOReader's progress sync (kosync v1) at /kosync, as KOReader's own client expects it
(koreader plugins/kosync.koplugin and its spec: create, duplicate, auth, update, get,
unauthorised, bad document, empty username), signed in with Coko accounts."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.test import Client

from coko.devtools.testing.api import PASSWORD, client_address
from coko.domains.accounts.testing import user_with_roles
from coko.domains.catalog.testing import published_book
from coko.domains.files.testing import epub_attached, epub_bytes
from coko.domains.payments.testing import sellable_books_sync

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

ACCEPT = "application/vnd.koreader.v1+json"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def koreader_partial_md5(data: bytes) -> str:
    """KOReader's ``partial md5`` (frontend/util.lua), written from its definition: 1 KiB at
    offsets 0 and 1024 << 2i for i = 0..10, stopping at the end of the file."""
    digest = hashlib.md5()
    for offset in [0] + [1024 << (2 * i) for i in range(11)]:
        chunk = data[offset:offset + 1024]
        if not chunk:
            break
        digest.update(chunk)
    return digest.hexdigest()


class KOSync:
    """KOReader's sync client: its requests, headers and body shapes."""

    def __init__(self, *, username: str = "", password: str = PASSWORD) -> None:
        self.client = Client(REMOTE_ADDR=client_address())
        self.username, self.key = username, md5(password)

    def _headers(self, auth: bool) -> dict:
        headers = {"HTTP_ACCEPT": ACCEPT}
        if auth:
            headers.update(HTTP_X_AUTH_USER=self.username, HTTP_X_AUTH_KEY=self.key)
        return headers

    def _answer(self, response):
        assert response["Content-Type"] == "application/json"
        response.data = json.loads(response.content)
        return response

    def register(self, username=None, password_md5=None):
        body = {"username": self.username if username is None else username,
                "password": self.key if password_md5 is None else password_md5}
        return self._answer(self.client.post("/kosync/users/create", json.dumps(body),
                                             content_type="application/json", **self._headers(False)))

    def authorize(self):
        return self._answer(self.client.get("/kosync/users/auth", **self._headers(True)))

    def update(self, document, progress="/body/DocFragment[20]/body/p[22]/text().0", percentage=0.3,
               device="Kobo Clara", device_id="kobo-7", **extra):
        body = {"document": document, "progress": progress, "percentage": percentage, "device": device,
                "device_id": device_id, **extra}
        body = {k: v for k, v in body.items() if v is not None}
        return self._answer(self.client.put("/kosync/syncs/progress", json.dumps(body),
                                            content_type="application/json", **self._headers(True)))

    def get(self, document):
        return self._answer(self.client.get(f"/kosync/syncs/progress/{document}", **self._headers(True)))


@pytest.fixture
def reader():
    return user_with_roles()


@pytest.fixture
def kosync(reader):
    return KOSync(username=reader.email)


DOC = "41cce710f34e5ec21315e19c99821415"


# --- KOReader's own expectations -------------------------------------------------------------------
def test_create_registers_a_coko_reader_who_then_authorizes():
    client = KOSync(username="nouvelle@example.sn", password="mot de passe de liseuse")
    created = client.register()
    assert (created.status_code, created.data) == (201, {"username": "nouvelle@example.sn"})
    authorized = client.authorize()
    assert (authorized.status_code, authorized.data) == (200, {"authorized": "OK"})


def test_create_a_duplicate_is_402_code_2002(kosync):
    duplicate = kosync.register()
    assert (duplicate.status_code, duplicate.data) == (402, {"code": 2002, "message": "Username is already registered."})


def test_create_with_an_empty_username_or_a_colon_or_no_password_is_403_code_2003():
    client = KOSync()
    for username, key in (("", md5("x")), ("a:b@example.sn", md5("x")), ("c@example.sn", "")):
        refused = client.register(username=username, password_md5=key)
        assert (refused.status_code, refused.data) == (403, {"code": 2003, "message": "Invalid request"})


def test_create_while_registration_is_closed_is_402_code_2005(settings):
    settings.COKO_READING = {**settings.COKO_READING, "KOSYNC_REGISTRATION": False}
    refused = KOSync(username="fermee@example.sn").register()
    assert (refused.status_code, refused.data["code"]) == (402, 2005)


def test_auth_with_the_coko_password_md5(kosync):
    assert (kosync.authorize().status_code, kosync.authorize().data) == (200, {"authorized": "OK"})


def test_unauthorised_a_wrong_or_empty_key_or_an_unknown_user_is_401_code_2001(kosync):
    expected = (401, {"code": 2001, "message": "Unauthorized"})
    for username, key in ((kosync.username, md5("wrong")), (kosync.username, ""), ("", kosync.key),
                          ("nobody@example.sn", kosync.key), (kosync.username, PASSWORD)):
        client = KOSync(username=username)
        client.key = key
        for response in (client.authorize(), client.update(DOC), client.get(DOC)):
            assert (response.status_code, response.data) == expected


def test_update_then_get_answers_what_was_sent_with_the_servers_time(kosync, clock):
    updated = kosync.update(DOC, percentage=0.42)
    assert updated.status_code == 200
    assert updated.data == {"document": DOC, "timestamp": int(clock.now().timestamp())}
    got = kosync.get(DOC)
    assert got.status_code == 200
    assert got.data == {"document": DOC, "percentage": 0.42, "progress": "/body/DocFragment[20]/body/p[22]/text().0",
                        "device": "Kobo Clara", "device_id": "kobo-7", "timestamp": int(clock.now().timestamp())}


def test_get_an_unknown_document_is_200_and_an_empty_object(kosync):
    got = kosync.get("ffffffffffffffffffffffffffffffff")
    assert (got.status_code, got.data) == (200, {})


def test_the_last_write_is_kept_even_behind(kosync):
    kosync.update(DOC, percentage=0.8, device="phone", device_id="phone-1")
    kosync.update(DOC, percentage=0.2, progress="12")
    got = kosync.get(DOC).data
    assert (got["percentage"], got["progress"], got["device_id"]) == (0.2, "12", "kobo-7")


def test_bad_document_is_403_code_2004_and_other_missing_fields_403_code_2003(kosync):
    for document in (None, "", "a:b"):
        refused = kosync.update(document)
        assert (refused.status_code, refused.data) == (403, {"code": 2004, "message": "Field 'document' not provided."})
    for fields in ({"progress": None}, {"percentage": None}, {"device": None}, {"percentage": 1.5},
                   {"percentage": "half"}):
        refused = kosync.update(DOC, **fields)
        assert (refused.status_code, refused.data) == (403, {"code": 2003, "message": "Invalid request"}), fields
    assert kosync.get(DOC).data == {}


def test_documents_are_per_reader(kosync):
    kosync.update(DOC)
    other = user_with_roles()
    assert KOSync(username=other.email).get(DOC).data == {}


# --- Coko accounts behind the protocol -----------------------------------------------------------
def test_a_changed_password_changes_the_key(reader, kosync):
    changed = reader.post("/auth/password/change", {"current_password": PASSWORD, "new_password": "Un-autre-mot-2026"})
    assert changed.status_code in (200, 204), changed.data
    assert kosync.authorize().status_code == 401
    assert KOSync(username=reader.email, password="Un-autre-mot-2026").authorize().status_code == 200


def test_wrong_keys_count_toward_the_login_lockout(reader, kosync, settings):
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 3, "WINDOW_S": 900}
    wrong = KOSync(username=reader.email, password="guess")
    for _ in range(3):
        assert wrong.authorize().status_code == 401
    assert kosync.authorize().status_code == 401  # locked: even the right key waits
    assert reader.post("/auth/login", {"identifier": reader.email, "password": PASSWORD}).status_code == 429


# --- one position, two protocols -----------------------------------------------------------------
@pytest.fixture
def book_file(reader):
    author = user_with_roles("author")
    book = published_book(author)
    data = epub_bytes(chapter_text="Aminata, ma chère amie… " * 400)
    epub_attached(author, book_id=book["id"], data=data)
    sellable_books_sync()
    return book, koreader_partial_md5(data)


def test_a_position_written_by_koreader_is_read_by_the_coko_api_and_back(reader, kosync, book_file):
    book, document = book_file
    assert kosync.update(document, percentage=0.37).status_code == 200
    got = reader.get(f"/reading/progress/{book['id']}")
    assert got.status_code == 200, got.data
    assert (got.data["progression"], got.data["authority"], got.data["device"]) == (0.37, "koreader", "Kobo Clara")
    assert got.data["koreader"]["progress"] == "/body/DocFragment[20]/body/p[22]/text().0"
    web = {"href": "OEBPS/chapter.xhtml", "type": "application/xhtml+xml",
           "locations": {"progression": 0.5, "totalProgression": 0.55}}
    assert reader.post(f"/reading/progress/{book['id']}", {"locator": web, "device": "web",
                                                           "device_id": "web-1"}).data["accepted"]
    back = kosync.get(document).data
    assert (back["percentage"], back["device"], back["device_id"]) == (0.55, "web", "web-1")


def test_a_book_file_the_reader_may_not_read_stays_their_own_document(reader, kosync):
    author = user_with_roles("author")
    book = published_book(author, access_model="subscription")
    data = epub_bytes(chapter_text="Une autre histoire. " * 300)
    epub_attached(author, book_id=book["id"], data=data)
    sellable_books_sync()
    document = koreader_partial_md5(data)
    assert kosync.update(document, percentage=0.2).status_code == 200
    assert kosync.get(document).data["percentage"] == 0.2
    assert reader.get(f"/reading/progress/{book['id']}").status_code == 404
