"""From-scratch models the course teaches, small enough to train on a laptop CPU.

One file per model (``perceptron``, ``mlp``, ``cnn``, ``rnn``, ``lstm``, ``transformer``,
``gan``, ``vae``, ``ddpm``), each readable top to bottom with the mechanism written out;
:mod:`demos.base` holds what they share and :mod:`demos.registry` exposes them as tools;
:mod:`demos.routing` tells a chat message that asks to see one, and
:mod:`demos.langchain_tools` offers them to LangChain agents. The chat turn that runs a
demo is :class:`generator.turns.DemoTurn`, in the layer above.
"""
