"""The explorer's Map in headless Chromium: seconds from the click on `Map` (once the overview has finished
drawing) to the Map's first chart drawn, on a run whose layout was never computed (the PCA is drawn first, then the t-SNE) and again from a new server once it is kept.

    .venv/bin/python benchmarks/map_first_draw.py --run runs/tickets

The embedding cache is the user's (what the run encoded); layouts go to a fresh folder, so the first open computes.
Screenshots at 1,440 px wide go to test-artifacts/.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.apps.test_browser import ARTIFACTS, chromium_page, served  # noqa: E402

CHART = '[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]'


def open_map(run: Path, shot: str) -> dict[str, float]:
    with served(run) as url, chromium_page() as page:
        page.set_viewport_size({"width": 1440, "height": 1000})
        page.goto(url, wait_until="networkidle")
        page.get_by_text("input rows").first.wait_for(timeout=120_000)
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=120_000)  # overview done
        start = time.perf_counter()
        page.get_by_role("link", name="Map", exact=True).click()
        page.get_by_text("placed by the").first.wait_for(timeout=300_000)  # the Map's caption, just before its chart
        page.locator(CHART).first.locator("canvas, svg").first.wait_for(state="visible", timeout=300_000)
        first = time.perf_counter() - start
        page.get_by_text("placed by the t-SNE").first.wait_for(timeout=300_000)
        page.locator(CHART).first.locator("canvas, svg").first.wait_for(state="visible", timeout=300_000)
        tsne = time.perf_counter() - start
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    return {"first_draw_s": round(first, 2), "tsne_drawn_s": round(tsne, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=ROOT / "runs/tickets")
    parser.add_argument("--repeats", type=int, default=3, help="reopenings once the layout is kept")
    args = parser.parse_args()
    user_cache = Path(os.environ.get("CURATE_CACHE_DIR", Path.home() / ".cache" / "curate"))
    with tempfile.TemporaryDirectory() as cache:
        (Path(cache) / "embeddings").symlink_to(user_cache / "embeddings")
        os.environ["CURATE_CACHE_DIR"] = cache
        result = {
            "layout never computed": open_map(args.run.resolve(), "explorer-map-first.png"),
            "layout kept, new server": [open_map(args.run.resolve(), "explorer-map.png") for _ in range(args.repeats)],
            "cores": os.cpu_count(),
            "load average": os.getloadavg()[0],
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
