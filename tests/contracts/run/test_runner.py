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

