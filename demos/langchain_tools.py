"""The demos as LangChain ``StructuredTool`` s, so a LangChain agent can run them.

    tools = demo_tools(build_runner(Settings()))
    result = tools[0].invoke({"gate": "xor"})  # the perceptron

Each tool's arguments are the demo's parameters (the registry's JSON Schema). The tool's
content is the explanation and the final numbers; its artifact is the whole run (metrics,
figure URLs, history). Bad parameters come back as the tool's error message naming the
field and its range, for the agent to correct.
"""

from __future__ import annotations

from langchain_core.tools import StructuredTool, ToolException

from demos.chat import demo_text, figure_url
from demos.registry import DemoRunner, InvalidParameters


def demo_tool(runner: DemoRunner, name: str) -> StructuredTool:
    tool = runner.tool(name)

    def run(**params) -> tuple[str, dict]:
        try:
            result = runner.run(name, params)
        except InvalidParameters as exc:
            raise ToolException(str(exc)) from None
        return demo_text(result, cited=False), result.to_dict(figure_url)

    return StructuredTool.from_function(
        run, name=f"demo_{name}", args_schema=tool.schema(),
        description=f"{tool.description} Trains from scratch on the CPU and returns its "
                    f"numbers and figures (lesson: {tool.lesson}).",
        response_format="content_and_artifact", handle_tool_error=True,
    )


def demo_tools(runner: DemoRunner) -> list[StructuredTool]:
    return [demo_tool(runner, name) for name in runner.tools]
