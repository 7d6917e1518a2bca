"""``contracts run`` in one process, twice: each run brings its own state and leaves none behind."""

from __future__ import annotations

import sys

from contracts.core.redact import current_redactor, redact_text
from contracts.run.runner import RunOptions, run


def test_two_runs_in_one_process_share_nothing(tmp_path, monkeypatch, capsys):
    (tmp_path / "twice_mock.py").write_text(
        "from mockserver import MockConfig, create_app\n"
        "def make():\n    return create_app(MockConfig(strict=True, store='memory', processing_ratio=0.0))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import hypothesis.configuration as configuration
    from hypothesis import settings

    before = current_redactor()
    profile, home = settings.get_current_profile_name(), getattr(configuration, "__hypothesis_home_directory")
    reports = []
    for n, key in enumerate(("first-run-key-1111", "second-run-key-2222")):
        report = tmp_path / f"run{n}.xml"
        code = run(RunOptions(target="wsgi:twice_mock:make()", key=key, max_examples=2, junit_xml=str(report),
                              keyword="docs_example or error_answers"))
        assert code == 0, capsys.readouterr().out[-3000:]
        reports.append(report.read_text())
        assert current_redactor() is before, "the run's redactor is gone when it ends"
        assert redact_text(key) == key, "and so are its secrets"
        assert settings.get_current_profile_name() == profile, "Hypothesis's profile is put back"
        assert getattr(configuration, "__hypothesis_home_directory") == home, "and its storage folder"
    assert "test_docs_example_body" in reports[0] and reports[0].count("<testcase") == reports[1].count("<testcase")
    assert not any(name.startswith("contracts.run.suite.test_contract") for name in sys.modules)



PETS = """\
openapi: 3.1.0
info: {title: pets, version: "1"}
servers: [{url: /v1}]
paths:
  /pets/{id}:
    get:
      operationId: getPet
      parameters: [{name: id, in: path, required: true, schema: {type: integer, minimum: 1}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [id, name],
                properties: {id: {type: integer}, name: {type: string}}}}}}
        "404": {description: missing, content: {application/json: {schema: {type: object}}}}
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content: {application/json: {schema: {type: object, additionalProperties: false, required: [name],
                  properties: {name: {type: string, minLength: 1}, age: {type: integer, minimum: 0}}}}}
      responses:
        "201": {description: made, content: {application/json: {schema: {type: object}}}}
        "422": {description: bad, content: {application/json: {schema: {type: object}}}}
"""
PET_APP = '''\
import json


def app(environ, start_response):
    path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]

    def reply(status, body):
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    if path.startswith("/v1/pets/") and method == "GET":
        tail = path.rsplit("/", 1)[1]
        if not tail.isdigit() or int(tail) < 1:
            return reply("404 Not Found", {"message": "not found"})
        return reply("200 OK", {"id": int(tail), "name": "Rex"})
    if path == "/v1/pets" and method == "POST":
        try:
            body = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) or b"null")
        except ValueError:
            return reply("422 Unprocessable Entity", {"message": "bad json"})
        age = body.get("age", 0) if isinstance(body, dict) else None
        if (not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]
                or set(body) - {"name", "age"} or isinstance(age, bool) or not isinstance(age, (int, float))
                or age != int(age) or age < 0):
            return reply("422 Unprocessable Entity", {"message": "invalid"})
        return reply("201 Created", {"id": 2, "name": body["name"]})
    return reply("404 Not Found", {"message": "no route"})
'''


def test_a_foreign_spec_gets_the_generic_checks_only_and_does_not_crash(tmp_path, monkeypatch, capsys):
    (tmp_path / "pets.yaml").write_text(PETS)
    (tmp_path / "pet_app.py").write_text(PET_APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    report = tmp_path / "pets.xml"
    code = run(RunOptions(target="wsgi:pet_app:app", spec=str(tmp_path / "pets.yaml"), max_examples=10,
                          junit_xml=str(report)))
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    xml = report.read_text()
    assert 'name="test_operation_conforms[POST /pets positive]"' in xml
    assert 'name="test_operation_conforms[GET /pets/{id} negative]"' in xml
    assert "MLC" not in xml and "no generate/fetch operation" in xml


def test_a_foreign_spec_still_gets_schemathesis_checks(tmp_path, monkeypatch, capsys):
    (tmp_path / "pets.yaml").write_text(PETS)
    (tmp_path / "bad_pet_app.py").write_text(PET_APP.replace('"201 Created", {"id": 2,', '"201 Created", {"id": "two",')
                                             .replace('"200 OK", {"id": int(tail)', '"200 OK", {"id": "x"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    code = run(RunOptions(target="wsgi:bad_pet_app:app", spec=str(tmp_path / "pets.yaml"), max_examples=10,
                          keyword="GET"))
    assert code == 1 and "Response violates schema" in capsys.readouterr().out


def test_every_generate_and_fetch_operation_of_the_family_spec_is_exercised(tmp_path, monkeypatch, capsys):
    from contracts.core.behaviours import spec_behaviours

    (tmp_path / "family_mock.py").write_text(
        "from mockserver import MockConfig, create_app\n"
        "def make():\n    return create_app(MockConfig(spec='modelslab.yaml', strict=True, store='memory',"
        " processing_ratio=0.0, models=('*',)))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    report = tmp_path / "family.xml"
    code = run(RunOptions(target="wsgi:family_mock:make()", spec="modelslab.yaml", max_examples=3,
                          stateful_steps=3, junit_xml=str(report), keyword="lifecycle or failed or invalid_bodies"))
    assert code == 0, capsys.readouterr().out[-3000:]
    xml = report.read_text()
    index = spec_behaviours("modelslab.yaml")
    for operation in index.generate:
        assert f'name="test_job_lifecycle[{operation}]"' in xml
        assert f'name="test_invalid_bodies_are_rejected[{operation}]"' in xml
    assert xml.count('name="test_failed_job_stays_failed[') == 3, "one per family"
    assert "<skipped" not in xml and "<failure" not in xml


def test_a_spec_that_cannot_be_used_is_one_line(tmp_path, capsys):
    from contracts.cli import main

    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: [unclosed\n")
    assert main(["run", "--target", "wsgi:x:y", "--spec", str(broken)]) == 2
    assert main(["run", "--target", "wsgi:x:y", "--spec", str(tmp_path / "missing.yaml")]) == 2
    (tmp_path / "list.yaml").write_text("- 1\n")
    assert main(["run", "--target", "wsgi:x:y", "--spec", str(tmp_path / "list.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("contracts run: spec ") for line in err), err
