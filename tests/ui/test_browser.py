"""In a real browser: two annotators label at once with mouse and keyboard, correct, compare; HTML stays text."""

from __future__ import annotations

import re

import pytest

from tests.ui.conftest import LiveApp, login, save_screenshot

HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=1">'


def wait_for_prompt(page, text: str) -> None:
    # 60 s: on a loaded 2-core CI machine the first submit after login once took longer than 30 s
    page.wait_for_function(
        "t => document.querySelector('#label-prompt textarea')?.value === t", arg=text, timeout=60_000
    )


def test_two_annotators_label_with_mouse_and_keyboard(browser, live_app: LiveApp) -> None:
    store = live_app.store
    store.add_prompt(HOSTILE, tags=["hostile"])
    alice, bob = login(browser, live_app, "alice"), login(browser, live_app, "bob")
    wait_for_prompt(alice, "The dog says")
    wait_for_prompt(bob, "The dog says")

    alice.get_by_label("Good (1)").check()  # mouse
    alice.locator("#label-note textarea").fill(HOSTILE)
    alice.locator("#label-submit").click()
    wait_for_prompt(alice, "The dog eats")

    bob.locator("#label-progress").click()
    bob.keyboard.press("2")  # keyboard: bad
    bob.keyboard.press("e")  # focus the correction box
    bob.keyboard.type("The dog says meow.")
    bob.keyboard.press("Control+Enter")
    wait_for_prompt(bob, "The dog eats")
    bob.locator("#label-progress").click()
    bob.keyboard.press("s")  # skip
    wait_for_prompt(bob, "The dog lives in a")

    judgments = {j.annotator: j for j in store.judgments_for()}
    assert (judgments["alice"].verdict, judgments["alice"].note) == ("up", HOSTILE)
    assert (judgments["bob"].kind, judgments["bob"].verdict) == ("correction", "down")
    assert judgments["bob"].correction == "The dog says meow."
    assert len(store.judgments_for(status=None)) == 2

    alice.locator("#label-submit").dblclick()  # no verdict yet: a clear message, nothing written
    alice.get_by_text("Pick Good or Bad").first.wait_for()
    assert len(store.judgments_for(status=None)) == 2
    save_screenshot(alice, "label.png")

    # the hostile prompt comes up as text, and nothing in it runs
    hostile_id = next(p.id for p in store.prompts() if p.text == HOSTILE)
    for _ in range(3):
        store.next_item_for("bob")  # warm the queue; the page walks it with Skip
    for _ in range(len(store.prompts())):
        if bob.locator("#label-prompt textarea").input_value() == HOSTILE:
            break
        shown = re.search(r"Output (\d+)", bob.locator("#label-status").inner_text())
        bob.locator("#label-skip").click()
        bob.wait_for_function(  # the next output is on screen (a loaded machine can take seconds)
            "n => (document.querySelector('#label-status')?.innerText.match(/Output (\\d+)/) || [])[1] !== n",
            arg=shown and shown.group(1),
            timeout=30_000,
        )
    else:
        pytest.fail(f"prompt {hostile_id} never came up")
    assert bob.evaluate("window.pwned") is None
    assert bob.locator("img[src=x]").count() == 0


def test_compare_hides_the_sides_until_submit(browser, live_app: LiveApp) -> None:
    page = login(browser, live_app, "alice")
    page.get_by_role("tab", name="Compare").click()
    page.wait_for_function("() => document.querySelector('#compare-a textarea')?.value.length > 0", timeout=60_000)
    assert "version" not in page.locator("#compare-status").inner_text()
    page.get_by_label("B is better").check()
    page.locator("#compare-reason textarea").fill("reads better")
    page.locator("#compare-submit").click()
    page.get_by_text("In that pair, A was model version").wait_for()
    (preference,) = live_app.store.judgments_for(kinds=["preference"])
    assert (preference.annotator, preference.verdict, preference.note) == ("alice", "b", "reads better")
    save_screenshot(page, "compare.png")


def test_wrong_password_is_refused_and_admin_sees_the_team(browser, live_app: LiveApp) -> None:
    page = login(browser, live_app, "alice", "wrong-password-1")
    page.get_by_text("Incorrect").first.wait_for()
    assert live_app.store.failed_logins("alice") == 1  # the failed try is recorded
    session = f"{live_app.url}gradio_api/token"  # the logged-in user behind this browser's cookie
    assert page.request.get(session).json() == {"token": None, "user": None}  # no session was made
    assert page.request.get(f"{live_app.url}config").status == 401
    admin = login(browser, live_app, "admin")
    admin.get_by_role("tab", name="Team").click()
    admin.locator("#team-people").get_by_text("alice").first.wait_for()
    assert admin.request.get(session).json()["user"] == "admin"
    save_screenshot(admin, "team.png")
