"""Dashboard first paint: how long until a map of 50,000 hazards is drawn in Chromium.

The reference scenario at scale 10 (about 50,000 hazards) in a new SQLite file (or
``--database`` an existing one), `clearfield serve` in its own process on 127.0.0.1,
and Debian's Chromium driven by the pip ``playwright`` package. A planner's session
cookie is set first; then the clock runs from navigating to ``/`` until the map has
loaded every tile of its view with hazards drawn. Prints the time of each of
``--runs`` cold page loads and the peer: the same page's time until its KPI tiles are
filled (no map).

Target (issue 4): first paint of 50,000 hazards under 2 s.

    python bench/map.py [--scale 10] [--database sqlite:///existing.db] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))  # the tests' server helpers

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PAINTED = """() => {
  const m = window.clearfieldMap;
  if (!m || !m.loaded() || !m.areTilesLoaded()) return false;
  return m.queryRenderedFeatures({layers: ["hazards-fill", "hazards-point"]}).length > 0;
}"""


def main(argv: list[str] | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    from clearfield import services
    from clearfield.scenario import generate
    from clearfield.users import add_user
    from server import serving_process

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--database")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'map.db'}"
        store = services.open_store(url)
        if store.is_empty():
            scen = generate(scale=args.scale, seed=1)
            services.import_features(store, scen.features, source="bench", actor="bench")
            store.set_programme(scen.metadata, actor="bench")
        hazards = int(store.count("SELECT COUNT(*) FROM entity WHERE record_type = 'hazard'"))
        if store.user("bench-planner") is None:
            add_user(store, "bench-planner", "planner", None, "bench-password-1", actor="bench")
        store.close()
        with serving_process(url) as base:
            paint, kpis = [], []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)  # fmt: skip
                for _ in range(args.runs):
                    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                    r = ctx.request.post(f"{base}/api/auth/session", form={"username": "bench-planner", "password": "bench-password-1"})  # fmt: skip
                    assert r.ok, r.text()
                    page = ctx.new_page()
                    t0 = time.perf_counter()
                    page.goto(f"{base}/")
                    page.wait_for_function("() => document.querySelector('#kpi-remaining')?.dataset.value !== undefined", timeout=60_000)  # fmt: skip
                    kpis.append(time.perf_counter() - t0)
                    page.wait_for_function(PAINTED, timeout=120_000, polling=50)
                    paint.append(time.perf_counter() - t0)
                    drawn = page.evaluate("() => window.clearfieldMap.queryRenderedFeatures({layers: ['hazards-fill', 'hazards-point']}).length")  # fmt: skip
                    ctx.close()
                browser.close()
    result = {
        "hazards": hazards,
        "first_paint_s": [round(x, 2) for x in paint],
        "kpi_tiles_s": [round(x, 2) for x in kpis],
        "hazard_features_drawn": drawn,
    }
    print(json.dumps(result))
    print(
        f"{hazards:,} hazards: first paint {min(paint):.2f}-{max(paint):.2f} s (target < 2 s); "
        f"KPI tiles {min(kpis):.2f}-{max(kpis):.2f} s; {drawn:,} hazard features drawn"
    )
    return result


if __name__ == "__main__":
    main()
