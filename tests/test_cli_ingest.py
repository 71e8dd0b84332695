"""The `clearfield` command with field forms and their submissions, on each store:
`forms`, `ingest key`, `import` of KoboToolbox and ODK Central exports, `ingest list`."""

from __future__ import annotations

import json

from openpyxl import load_workbook

from common import base_programme
from test_cli import cf
from test_ingest import daily, ts


def test_forms_are_written_for_a_server(cli_env, tmp_path) -> None:
    written = cf(cli_env, "forms", tmp_path / "forms").stdout.split()
    assert len(written) == 6
    survey = load_workbook(tmp_path / "forms" / "clearfield_ts.xlsx")["survey"]
    assert "clearfield_form" in [row[1].value for row in survey.iter_rows()]


def test_a_kobo_export_is_ingested_and_kept(cli_env, tmp_path) -> None:
    programme = tmp_path / "programme.geojson"
    programme.write_text(json.dumps({"type": "FeatureCollection", "features": base_programme()}))
    cf(cli_env, "import", programme)
    key = cf(cli_env, "ingest", "key", "ORG-1").stdout.strip()
    assert len(key) >= 40
    assert cf(cli_env, "ingest", "key", "NOBODY", ok=False).returncode != 0
    good, unsafe = ts(), ts(location_safe="no", location_description="by the mill")
    del unsafe["geometry"]
    export = tmp_path / "kobo.json"  # a page of KoboToolbox's data API
    export.write_text(json.dumps({"count": 3, "next": None, "previous": None,
                                  "results": [good, unsafe, daily()]}))  # fmt: skip
    done = cf(cli_env, "import", export, "--json")
    report = json.loads(done.stdout)
    assert len(report["mapped"]) == 2 and list(report["unmapped"]) == [unsafe["meta/instanceID"]]
    again = json.loads(cf(cli_env, "import", export, "--json").stdout)
    assert len(again["duplicates"]) == 2 and not again["mapped"]  # the mapped ones
    assert list(again["unmapped"]) == [unsafe["meta/instanceID"]]  # tried again, in vain
    listed = json.loads(cf(cli_env, "ingest", "list", "--unmapped", "--json").stdout)
    assert [r["instance_id"] for r in listed] == [unsafe["meta/instanceID"]]
    assert "by the mill" in listed[0]["reason"]
    pending = cf(cli_env, "review", "list").stdout
    assert good["meta/instanceID"] in pending
    text = cf(cli_env, "ingest", "list").stdout
    assert "unmapped" in text and "mapped" in text
    # the officer takes the submission as received, fixes it, and sends it again
    raw = json.loads(cf(cli_env, "ingest", "show", unsafe["meta/instanceID"]).stdout)
    assert raw == unsafe
    fixed = tmp_path / "fixed.json"
    fixed.write_text(json.dumps([dict(raw, location_safe="yes", geometry=good["geometry"])]))
    report = json.loads(cf(cli_env, "import", fixed, "--json").stdout)
    assert report["mapped"] == [unsafe["meta/instanceID"]]
    assert not json.loads(cf(cli_env, "ingest", "list", "--unmapped", "--json").stdout)
    assert cf(cli_env, "ingest", "show", "uuid:nope", ok=False).returncode != 0
