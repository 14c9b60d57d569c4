"""The demos as LangChain ``StructuredTool`` s, so a LangChain agent can run them.

    tools = demo_tools(build_runner(Settings()))
    result = tools[0].invoke({"gate": "xor"})  # the perceptron

Each tool's arguments are the demo's parameters (the registry's JSON Schema). The tool's
content is the explanation and the final numbers; its artifact is the whole run (metrics,
history, and each figure with the path of its PNG file). Bad parameters come back as the
tool's error message naming the field and its range, for the agent to correct.
"""

from __future__ import annotations

from langchain_core.tools import StructuredTool, ToolException

from demos.registry import DemoRunner, InvalidParameters


def demo_tool(runner: DemoRunner, name: str) -> StructuredTool:
    tool = runner.tool(name)

    def run(**params) -> tuple[str, dict]:
        try:
            result = runner.run(name, params)
        except InvalidParameters as exc:
            raise ToolException(str(exc)) from None
        artifact = result.to_dict()
        for figure in artifact["figures"]:
            figure["path"] = str(runner.figure_path(result.run_id, figure["name"]))
        return result.text(cited=False), artifact

    return StructuredTool.from_function(
        run, name=f"demo_{name}", args_schema=tool.schema(),
        description=f"{tool.description} Trains from scratch on the CPU and returns its "
                    f"numbers and figures (lesson: {tool.lesson}).",
        response_format="content_and_artifact", handle_tool_error=True,
    )


def demo_tools(runner: DemoRunner) -> list[StructuredTool]:
    return [demo_tool(runner, name) for name in runner.tools]
