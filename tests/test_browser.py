"""A real browser on the real app: start `streamlit run app/Home.py` on a free localhost port, open Home
and Live text in Debian's Chromium through Playwright, type a review, wait for the per-layer view,
and save screenshots (to $LENS_SCREENSHOTS, default artifacts/screenshots).

The app runs as a newcomer's would on a fresh clone: an empty artifacts folder, so Live text uses the
packaged MiniLM-L6. Skips only on a developer machine without Chromium; in CI (CI=true) it fails instead.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update"]
REVIEW = "The acting was superb and the soundtrack was wonderful, but the ending felt rushed."


def _require_browser():
    missing = [what for what, ok in (("Chromium at /usr/bin/chromium", Path(CHROMIUM).exists()),
                                     ("the playwright package", _has_playwright())) if not ok]
    if missing:
        reason = f"browser test needs {' and '.join(missing)} (apt-get install chromium; pip install playwright)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the browser test, but it {reason}")
        pytest.skip(reason)


def _has_playwright() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout:.0f} s")


@contextmanager
def _serve(artifacts: Path, log_file: Path):
    """`streamlit run app/Home.py` on a free port over the given artifacts folder; yields its URL."""
    port = _free_port()
    env = {**os.environ, "LENS_ARTIFACTS": str(artifacts)}
    log = open(log_file, "wb")
    # The README's command, `streamlit run app/Home.py`, so the app must find pruning_core on its own.
    streamlit = Path(sys.executable).parent / "streamlit"
    process = subprocess.Popen(
        [str(streamlit), "run", str(ROOT / "app" / "Home.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def app_url(tmp_path):
    _require_browser()
    with _serve(tmp_path / "artifacts", tmp_path / "streamlit.log") as url:
        yield url


@pytest.fixture
def screenshots() -> Path:
    folder = Path(os.environ.get("LENS_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _assert_no_exception(page) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    assert exceptions.count() == 0, exceptions.first.inner_text()


def test_home_and_live_text_in_a_real_browser(app_url, screenshots):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(app_url, wait_until="domcontentloaded")
            page.get_by_text("Where to go").wait_for(timeout=60_000)
            _assert_no_exception(page)
            page.screenshot(path=str(screenshots / "home.png"), full_page=True)

            page.goto(f"{app_url}/Live_text", wait_until="domcontentloaded")
            page.locator(".tpl-view").wait_for(timeout=120_000)      # the example sentence, classified
            box = page.get_by_role("textbox", name="Your text")
            box.fill(REVIEW)
            box.press("Control+Enter")
            page.locator(".tpl-view", has_text="soundtrack").wait_for(timeout=60_000)
            page.get_by_text("Tokens alive after each layer").first.wait_for(timeout=30_000)
            _assert_no_exception(page)
            assert page.locator(".tpl-row").count() == 6                 # MiniLM-L6: one row per layer
            assert "score" in page.locator(".tpl-row .tpl-kept").first.get_attribute("title")   # survived sanitizing
            page.set_viewport_size({"width": 1400, "height": 2300})       # the page scrolls inside its own box
            page.get_by_text("Token scores against each layer's threshold").first.wait_for(timeout=30_000)
            page.screenshot(path=str(screenshots / "live_text.png"), full_page=True)
            assert "soundtrack" in page.url                               # the address bar holds the view

            page.get_by_role("link", name="Home").first.click()            # to another page and back
            page.get_by_text("Where to go").wait_for(timeout=60_000)
            page.get_by_role("link", name="Live text").first.click()
            page.locator(".tpl-view", has_text="soundtrack").wait_for(timeout=60_000)   # the text is kept
            page.goto(f"{app_url}/Live_text?text=a+dull+zebra+film&method=topk&keep=0.25&unit=subwords",
                      wait_until="domcontentloaded")
            page.locator(".tpl-view", has_text="zebra").wait_for(timeout=60_000)   # a link opens its text
            _assert_no_exception(page)
        finally:
            browser.close()
    assert (screenshots / "home.png").stat().st_size > 10_000
    assert (screenshots / "live_text.png").stat().st_size > 10_000


def test_kv_cache_in_a_real_browser(app_url, screenshots):
    """The KV cache page (on the tiny Llama conftest names in LENS_LANGUAGE_MODEL): a link's press and budget, both
    answers, the coloured context, and the layer slider's view."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(f"{app_url}/KV_cache?press=snapkv&budget=0.5", wait_until="domcontentloaded")
            page.locator(".kv-context").wait_for(timeout=120_000)
            _assert_no_exception(page)
            assert page.locator(".kv-answer").count() == 2                  # the full and the pressed cache
            assert "press=snapkv" in page.url and "budget=0.5" in page.url  # the link's settings were used
            page.get_by_text("Every press, measured").wait_for(timeout=30_000)
            page.screenshot(path=str(screenshots / "kv_cache.png"), full_page=True)
        finally:
            browser.close()
    assert (screenshots / "kv_cache.png").stat().st_size > 10_000


PROJECTOR = {"width": 1920, "height": 1080}


def test_classroom_on_a_projector_in_a_real_browser(app_url, screenshots):
    """The Classroom page at projector size: the arrow keys and Next step through MiniLM-L6's six layers, Play runs
    to the last one, the share link reopens the same view, and a round of the guessing game is scored."""
    from playwright.sync_api import sync_playwright

    def step_is(page, label: str) -> None:
        page.locator(".tpc-step", has_text=label).wait_for(timeout=60_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=PROJECTOR)
            page.goto(f"{app_url}/Classroom?text={REVIEW}&method=topk&keep=0.3", wait_until="domcontentloaded")
            step_is(page, "Input")
            _assert_no_exception(page)
            page.screenshot(path=str(screenshots / "classroom_input.png"))
            page.keyboard.press("ArrowRight")                           # the buttons' shortcuts
            step_is(page, "Layer 1 of 6")
            page.keyboard.press("ArrowRight")
            step_is(page, "Layer 2 of 6")
            page.get_by_role("button", name="Next").click()
            step_is(page, "Layer 3 of 6")
            page.keyboard.press("ArrowLeft")
            step_is(page, "Layer 2 of 6")
            assert page.locator(".tpc-words .tpc-gone").count() > 0      # earlier drops are faint
            page.screenshot(path=str(screenshots / "classroom_layer.png"))
            page.get_by_role("button", name="Play").click()              # autoplay runs to the last layer
            step_is(page, "Layer 6 of 6")
            page.get_by_role("button", name="Play").wait_for(timeout=30_000)   # and stops there
            assert "layer=6" in page.url
            words = page.locator(".tpc-words").inner_html()
            page.screenshot(path=str(screenshots / "classroom_last.png"))

            page.get_by_text("Share this view").click()
            link = page.locator('[data-testid="stCode"] code').inner_text().strip()
            assert link.startswith(f"{app_url}/Classroom?") and "layer=6" in link
            page.get_by_role("img", name="Scan with a phone").or_(
                page.locator('[data-testid="stImage"] img')).first.wait_for(timeout=30_000)   # the QR code
            other = browser.new_page(viewport=PROJECTOR)
            other.goto(link, wait_until="domcontentloaded")
            step_is(other, "Layer 6 of 6")
            assert other.locator(".tpc-words").inner_html() == words       # the link opens the same view
            other.close()

            page.get_by_text("Guessing game: pick the words").click()
            pills = page.locator('[data-testid="stButtonGroup"] button')
            pills.first.wait_for(timeout=60_000)
            page.locator(".tpc-head").first.wait_for(state="detached", timeout=30_000)   # layers wait for the reveal
            for word in ("acting", "soundtrack", "rushed"):
                pills.filter(has_text=word).first.click()
                page.wait_for_timeout(300)
            page.screenshot(path=str(screenshots / "classroom_guess.png"))
            page.get_by_role("button", name="Reveal the layers").click()
            page.locator(".tpc-score", has_text="Overlap").wait_for(timeout=60_000)
            page.get_by_text("1 round played").wait_for(timeout=30_000)
            _assert_no_exception(page)
            page.screenshot(path=str(screenshots / "classroom_score.png"))
        finally:
            browser.close()
    for name in ("input", "layer", "last", "guess", "score"):
        assert (screenshots / f"classroom_{name}.png").stat().st_size > 10_000


# Each dataset page, the text that shows it has drawn, and a view to click first (Compare's second view).
DATASET_PAGES = [("Token_patterns", "Words most often kept to the classifier", None),
                 ("Embeddings", "One text, layer by layer", None),
                 ("Domain_keywords", "Your own keywords", None),
                 ("Accuracy_vs_speed", "Every setting", None),
                 ("Class_report", "Texts of one cell", None),
                 ("Compare", "Share of tokens alive after each layer", None),
                 ("Compare", "Overlap of the kept tokens", "Methods on one text"),
                 ("Findings", "Every claim in one table", None)]


def test_dataset_pages_in_a_real_browser(tmp_path, screenshots):
    """Every dataset page over a tiny traced, analysed and benchmarked artifacts folder (tests/app_data.py)."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    from app_data import build_lens

    artifacts = build_lens(tmp_path / "lens")
    with _serve(artifacts, tmp_path / "streamlit.log") as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            for path, drawn, view in DATASET_PAGES:
                page.goto(f"{url}/{path}", wait_until="domcontentloaded")
                if view:
                    page.get_by_text(view, exact=True).first.click(timeout=60_000)
                page.get_by_text(drawn).first.wait_for(timeout=60_000)
                page.wait_for_timeout(1500)                    # let Plotly finish drawing
                _assert_no_exception(page)
                name = path.lower() + ("_methods" if view else "")
                page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
                assert (screenshots / f"{name}.png").stat().st_size > 10_000
        finally:
            browser.close()
