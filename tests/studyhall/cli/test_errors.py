"""The command line's error handling (fast: no model is loaded on these paths)."""

import json

import pytest
from typer.testing import CliRunner

from studyhall.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("STUDYHALL_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_courses_on_an_empty_data_dir_says_how_to_start(env):
    result = runner.invoke(app, ["courses"])
    assert result.exit_code == 0
    assert "studyhall ingest PATH --course ID" in result.output
    assert json.loads(runner.invoke(app, ["courses", "--json"]).output) == []


def test_search_on_an_unknown_course_exits_2_with_one_line(env):
    result = runner.invoke(app, ["search", "what is a GAN", "--course", "nope"])
    assert result.exit_code == 2
    assert "error: unknown course 'nope'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [(["  "], "query must not be empty"), (["gan", "-k", "0"], "k must be between 1 and 50")],
)
def test_search_bad_input_exits_2_naming_the_problem(env, args, message):
    result = runner.invoke(app, ["search", *args, "--course", "x"])
    assert result.exit_code == 2
    assert message in result.output


def test_ingest_of_a_missing_path_exits_1(env):
    result = runner.invoke(app, ["ingest", str(env / "nope"), "--course", "x"])
    assert result.exit_code == 1
    assert "no such file or folder" in result.output


def test_invalid_settings_are_reported(env, monkeypatch):
    monkeypatch.setenv("STUDYHALL_RETRIEVAL__MAX_K", "0")
    result = runner.invoke(app, ["courses"])
    assert result.exit_code == 2
    assert "invalid settings" in result.output and "max_k" in result.output


def test_demos_lists_every_demo_with_its_parameters(env):
    listed = json.loads(runner.invoke(app, ["demos", "--json"]).output)
    assert [d["name"] for d in listed] == ["perceptron", "mlp", "cnn", "rnn", "lstm",
                                           "transformer", "gan", "vae", "ddpm"]
    assert all(d["parameters"]["properties"]["seed"] for d in listed)


def test_demo_runs_with_set_parameters_and_writes_its_figures(env):
    out = env / "figures"
    result = runner.invoke(app, ["demo", "perceptron", "--set", "gate=or", "--set", "epochs=30",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "learned OR" in result.output and "accuracy: 1" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["decision_boundary.png", "errors.png"]
    again = json.loads(runner.invoke(app, ["demo", "perceptron", "--set", "gate=or",
                                           "--set", "epochs=30", "--json"]).output)
    assert again["cached"] and again["metrics"]["accuracy"] == 1.0


@pytest.mark.parametrize("args, message", [
    (["demo", "perceptron", "--set", "epochs=0"], "epochs must be between 1 and 1000, got 0"),
    (["demo", "perceptron", "--set", "epochs"], "--set takes key=value"),
    (["demo", "resnet"], "no demo called 'resnet'"),
])
def test_demo_bad_input_exits_2_naming_the_problem(env, args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in result.output


def test_lti_add_platform_then_list(env):
    result = runner.invoke(app, [
        "lti", "add-platform", "--issuer", "https://lms.example.edu", "--client-id", "abc",
        "--deployment-id", "d1", "--auth-login-url", "https://lms.example.edu/auth",
        "--jwks-url", "https://lms.example.edu/jwks", "--course", "ctx-1=genai-basics"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, ["lti", "list"]).output
    assert "https://lms.example.edu  client=abc  deployments=d1" in listed


def test_lti_add_platform_with_a_bad_mapping_exits_2(env):
    result = runner.invoke(app, [
        "lti", "add-platform", "--issuer", "https://lms.example.edu", "--client-id", "abc",
        "--deployment-id", "d1", "--auth-login-url", "https://lms.example.edu/auth",
        "--jwks-url", "https://lms.example.edu/jwks", "--course", "genai-basics"])
    assert result.exit_code == 2 and "CONTEXT_ID=COURSE" in result.output
