"""From-scratch models the course teaches, small enough to train on a laptop CPU.

One file per model (``perceptron``, ``mlp``, ``cnn``, ``rnn``, ``lstm``, ``transformer``,
``gan``, ``vae``, ``ddpm``), each readable top to bottom with the mechanism written out;
:mod:`demos.base` holds what they share and :mod:`demos.registry` exposes them as tools.
"""
