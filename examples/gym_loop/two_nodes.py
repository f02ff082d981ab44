"""The cart-pole loop of gym_loop.py with the environment and the agent on Nodes of their own.

Two processes on dora or ROS 2, the same steps as in one: the environment's loop steps carry logical
time, so the loop runs the same however it is split.

Run it:
    lkbuild launch two_nodes.py -e dora -n 200
"""
from gym_loop import Agent, CartPole

from lkbuild import Node, System

environment = CartPole("cartpole", node=Node("env", machine="sim"))
agent = Agent(node=Node("agent", machine="robot"))
system = System(components=[environment, agent], name="gym_loop_two_nodes")
system.connect(environment.outputs.observation, agent.inputs.observation)
system.connect(agent.out, environment.inputs.action)
