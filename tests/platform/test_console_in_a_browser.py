"""Staff walk the admin console in a real browser: Debian's headless Chromium, driven by Selenium
(``chromium`` and ``chromium-driver``; ``.ci/run`` installs them when missing), against a live
server on loopback. The walk logs in through the console's own login form, then opens the users,
books, deliveries and dead-letter lists and a user's and a book's page; it fails on a server
error, a missing column, or an error the browser itself reports (a blocked script or style)."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from django.apps import apps

from coko.devtools.testing.api import Api
from coko.domains.accounts.testing import phone_add_for_test
from coko.domains.catalog.testing import published_book

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=(
        "Debian's chromium and chromium-driver are not installed (apt-get install chromium "
        "chromium-driver; .ci/run installs them)")),
    pytest.mark.django_db(transaction=True, databases="__all__"),
]
STAFF_PASSWORD = "a long staff passphrase"
SCREENSHOTS = os.environ.get("COKO_CONSOLE_SCREENSHOTS")  # a directory: each page's screenshot there


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=en"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture
def catalogue():
    """A reader with a phone number, a published book, a failed delivery and a dead letter."""
    awa = Api()
    awa.register(email="awa@example.sn", display_name="Awa Ndiaye")
    phone_add_for_test(user_id=awa.user_id, phone="+221 77 123 45 67")
    book = published_book(title="Une si longue lettre", authors=["Mariama Bâ"])
    notification = apps.get_model("notifications", "Notification").objects.create(
        user_id=uuid.uuid4(), template="welcome", category="account", language="fr", idempotency_key="walk")
    apps.get_model("notifications", "Delivery").objects.create(
        notification=notification, channel="email", destination="awa@example.sn", status="failed",
        error="550 mailbox unavailable")
    apps.get_model("catalog", "DeadLetter").objects.create(
        handler="catalog.walk", event_id=uuid.uuid4(), event_type="review.created", producer="community",
        envelope={}, error="boom", attempts=5)
    User = apps.get_model("accounts", "User")
    User.objects.create_superuser("staff@coko.africa", STAFF_PASSWORD)
    return {"book": book, "user": User.objects.get(email="awa@example.sn")}


def page(browser, url: str, *, columns: tuple[str, ...] = (), shows: tuple[str, ...] = ()) -> str:
    """Open ``url``; fail on a server error, a column or a text that is not there, or an error in
    the browser's console."""
    from selenium.webdriver.common.by import By

    browser.get(url)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "Server Error" not in browser.title and "Traceback" not in text, (url, text[:500])
    assert browser.find_elements(By.ID, "content"), (url, browser.title, text[:500])
    headers = [th.get_attribute("class") for th in browser.find_elements(By.CSS_SELECTOR, "#result_list th")]
    for column in columns:
        assert any(f"column-{column}" in header.split() for header in headers), (url, column, headers)
    for words in shows:  # as shown: captions are upper-cased by the console's style sheet
        assert words.casefold() in text.casefold(), (url, words)
    if SCREENSHOTS:
        browser.save_screenshot(f"{SCREENSHOTS}/{url.split('/admin/', 1)[1].strip('/').replace('/', '_').replace('?', '_') or 'index'}.png")
    errors = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]
    assert errors == [], (url, errors)
    return text


def test_staff_walk_the_console_in_a_browser(browser, live_server, catalogue):
    from selenium.webdriver.common.by import By

    console = f"{live_server.url}/admin"
    browser.get(f"{console}/login/")
    browser.find_element(By.ID, "id_username").send_keys("staff@coko.africa")
    browser.find_element(By.ID, "id_password").send_keys(STAFF_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    index = page(browser, f"{console}/", shows=("Coko console", "Events", "Catalog · Dead letters", "Books"))
    assert "Django administration" not in index

    page(browser, f"{console}/accounts/user/", columns=("email", "phone_column", "display_name"),
         shows=("awa@example.sn", "+22177•••••67"))
    page(browser, f"{console}/accounts/user/?q=%2B221+77+123+45+67", columns=("email",), shows=("awa@example.sn",))
    page(browser, f"{console}/accounts/user/{catalogue['user'].id}/change/",
         shows=("Awa Ndiaye <awa@example.sn>", "+221 77 123 45 67"))
    page(browser, f"{console}/catalog/book/", columns=("title", "authors_column", "status", "language"),
         shows=("Une si longue lettre", "Mariama Bâ", "published"))
    page(browser, f"{console}/catalog/book/{catalogue['book']['id']}/change/",
         shows=("Translations", "Authors and other credits", "Mariama Bâ"))
    page(browser, f"{console}/notifications/delivery/", columns=("recipient_column", "error_column"),
         shows=("a•••@example.sn", "550 mailbox unavailable"))
    page(browser, f"{console}/events/", shows=("Catalog · Dead letters", "Notifications · Outbox events"))
    page(browser, f"{console}/catalog/deadletter/", columns=("handler", "event_type", "attempts"),
         shows=("catalog.walk",))
    page(browser, f"{console}/accounts/auditevent/", columns=("action", "account"), shows=("phone.revealed",))
