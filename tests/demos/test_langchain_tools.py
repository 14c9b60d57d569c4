from pathlib import Path

from langchain_core.messages import ToolCall

from demos.langchain_tools import demo_tools
from demos.registry import DemoRunner
from tests.demos.test_registry import PERCEPTRON


def test_each_demo_is_a_structured_tool_with_its_parameter_schema(tmp_path):
    [tool] = demo_tools(DemoRunner(tmp_path, tools={"perceptron": PERCEPTRON}))
    assert tool.name == "demo_perceptron"
    assert tool.args["epochs"]["maximum"] == 1000 and "gate" in tool.args


def test_an_agent_tool_call_runs_the_demo_and_returns_the_run_as_artifact(tmp_path):
    [tool] = demo_tools(DemoRunner(tmp_path, tools={"perceptron": PERCEPTRON}))
    message = tool.invoke(ToolCall(name=tool.name, args={"gate": "or"}, id="call-1",
                                   type="tool_call"))
    assert "learned OR" in message.content and "accuracy 1" in message.content
    assert message.artifact["metrics"]["accuracy"] == 1.0
    figure = Path(message.artifact["figures"][0]["path"])
    assert figure.read_bytes().startswith(b"\x89PNG")


def test_bad_parameters_come_back_as_a_tool_error_the_agent_can_read(tmp_path):
    [tool] = demo_tools(DemoRunner(tmp_path, tools={"perceptron": PERCEPTRON}))
    message = tool.invoke(ToolCall(name=tool.name, args={"epochs": 0}, id="call-2",
                                   type="tool_call"))
    assert message.status == "error"
    assert "epochs must be between 1 and 1000, got 0" in message.content
