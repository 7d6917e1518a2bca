"""Settings come from flags, environment, file, profile and defaults, in that order."""

from __future__ import annotations

import pytest

from mockserver.config import ConfigError, KeyRule, MockConfig, load_config


def write(tmp_path, text):
    path = tmp_path / "mock.toml"
    path.write_text(text)
    return str(path)


def test_defaults_are_pleasant_for_local_work():
    config = load_config(environ={})
    assert (config.host, config.port, config.strict, config.http_errors) == ("127.0.0.1", 4010, False, False)
    assert config.processing_ratio == 0.2 and (config.eta_min, config.eta_max) == (1.0, 5.0)
    assert config.error_ratio == 0.0 and config.failed_ratio == 0.0
    assert config.accept_any_key and config.model_allowed("pony-realism") and config.model_allowed("pony_realism")


def test_flags_beat_environment_beat_file_beat_profile(tmp_path):
    path = write(tmp_path, 'port = 5000\nseed = 1\nprofile = "realistic"\neta_max = 99.0\n')
    env = {"MOCKSERVER_PORT": "6000", "MOCKSERVER_SEED": "2", "MOCKSERVER_STRICT": "yes"}
    config = load_config(cli={"port": 7000}, environ=env, config_file=path)
    assert config.port == 7000  # flag
    assert config.seed == 2 and config.strict is True  # environment
    assert config.eta_max == 99.0  # file
    assert config.eta_min == 6.0 and config.error_ratio == 0.02  # realistic profile
    assert config.profile == "realistic"


def test_config_file_from_environment_and_key_table(tmp_path):
    path = write(tmp_path, '[keys.sdk-queued]\nvariant = "processing"\neta = 2.5\n[keys.revoked]\nvalid = false\n')
    config = load_config(environ={"MOCKSERVER_CONFIG": path})
    assert config.key_rule("sdk-queued") == KeyRule(variant="processing", eta=2.5)
    assert config.key_rule("revoked").valid is False


def test_models_from_environment_as_a_list():
    config = load_config(environ={"MOCKSERVER_MODELS": "a, b"})
    assert config.models == ("a", "b") and not config.model_allowed("pony-realism")
    assert load_config(environ={"MOCKSERVER_MODELS": "*"}).model_allowed("anything")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cli": {"procesing_ratio": 0.1}}, "unknown setting"),
        ({"cli": {"procesing_ratio": 0.1}}, "did you mean processing_ratio"),
        ({"environ": {"MOCKSERVER_PORT": "http"}}, "MOCKSERVER_PORT: port must be a whole number, not 'http'"),
        ({"environ": {"MOCKSERVER_STRICT": "perhaps"}}, "MOCKSERVER_STRICT: strict must be true or false"),
        ({"cli": {"eta_max": "soon"}}, "--eta-max: eta_max must be a number, not 'soon'"),
        ({"cli": {"log_format": "xml"}}, "log_format must be text or json"),
        ({"cli": {"processing_ratio": 1.5}}, "processing_ratio must be between 0 and 1"),
        ({"cli": {"profile": "fast"}}, "profile must be one of"),
        ({"cli": {"eta_min": 9.0, "eta_max": 1.0}}, "eta_min <= eta_max"),
    ],
)
def test_bad_settings_name_the_setting(kwargs, message):
    kwargs.setdefault("environ", {})
    with pytest.raises(ConfigError, match=message):
        load_config(**kwargs)


def test_bad_file_is_reported_with_its_path(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(environ={}, config_file=write(tmp_path, "port = = 1"))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(environ={}, config_file=str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="variant must be one of"):
        load_config(environ={}, config_file=write(tmp_path, '[keys.k]\nvariant = "maybe"\n'))
    with pytest.raises(ConfigError, match=r"mock.toml: workers: workers must be a whole number, not 'two'"):
        load_config(environ={}, config_file=write(tmp_path, 'workers = "two"\n'))


def test_config_is_immutable():
    with pytest.raises(Exception):
        MockConfig().port = 1  # type: ignore[misc]
