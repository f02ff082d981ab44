"""A closed loop: a cart-pole environment and a balancing agent, wired explicitly.

The environment is a cart-pole in plain numpy (the classic equations, Euler steps of 20 ms). It starts
the loop by sending the first observation from ``initial_outputs()``; every action it receives moves
the simulation one step and sends the next observation. When the pole falls, the cart leaves the track
or ``max_steps`` is reached, it sends that last observation and then answers the next action with None:
nothing more is sent and the loop ends. The agent is a
linear state-feedback policy (a PD controller on the pole's angle and the cart's position).

Run it:
    lkbuild launch gym_loop.py              # one episode, until it ends
    lkbuild launch gym_loop.py -n 200       # at most 200 steps
"""
from dataclasses import dataclass

import numpy as np

from lkbuild import Component, System


class CartPole(Component):
    """The environment. Observation: [cart position (m), cart velocity, pole angle (rad), angular velocity]."""

    @dataclass
    class Config:
        seed: int = 0
        max_steps: int = 500
        dt: float = 0.02
        gravity: float = 9.8
        cart_mass: float = 1.0
        pole_mass: float = 0.1
        pole_half_length: float = 0.5
        max_force: float = 10.0
        max_angle_deg: float = 12.0     # the episode ends when the pole leans further
        track_half_width: float = 2.4   # ... or when the cart leaves the track

    outputs = ("observation",)

    def setup(self):
        # Seeded here so every run (and every engine) starts the episode in the same state.
        self.rng = np.random.default_rng(self.config.seed)
        self.state = np.zeros(4)
        self.steps = 0
        self.worst_angle = 0.0
        self.ended = None

    def initial_outputs(self):
        self.state = self.rng.uniform(-0.05, 0.05, size=4)
        return self.state.copy()

    def forward(self, action):
        if self.ended:
            return None                 # the episode is over: send nothing, and the loop stops
        self.state = self.step(self.state, float(action))
        self.steps += 1
        x, _, theta, _ = self.state
        self.worst_angle = max(self.worst_angle, abs(float(theta)))
        if abs(theta) > np.radians(self.config.max_angle_deg):
            self.ended = "the pole fell"
        elif abs(x) > self.config.track_half_width:
            self.ended = "the cart left the track"
        elif self.steps >= self.config.max_steps:
            self.ended = "max_steps reached"
        return self.state.copy()        # the last observation is sent too, as gym's step() does

    def step(self, state, force):
        """One Euler step of the cart-pole equations of motion."""
        cfg = self.config
        x, x_dot, theta, theta_dot = state
        force = float(np.clip(force, -cfg.max_force, cfg.max_force))
        total_mass = cfg.cart_mass + cfg.pole_mass
        pole_moment = cfg.pole_mass * cfg.pole_half_length
        cos, sin = np.cos(theta), np.sin(theta)
        temp = (force + pole_moment * theta_dot ** 2 * sin) / total_mass
        theta_acc = (cfg.gravity * sin - cos * temp) / (
            cfg.pole_half_length * (4.0 / 3.0 - cfg.pole_mass * cos ** 2 / total_mass))
        x_acc = temp - pole_moment * theta_acc * cos / total_mass
        return np.array([x + cfg.dt * x_dot, x_dot + cfg.dt * x_acc,
                         theta + cfg.dt * theta_dot, theta_dot + cfg.dt * theta_acc])

    def teardown(self):
        verdict = self.ended or "stopped"
        print(f"cartpole: {self.steps} steps ({verdict}), largest pole angle "
              f"{np.degrees(self.worst_angle):.2f} deg")


class Agent(Component):
    """Linear state feedback: push the cart under the pole, and gently back toward the centre."""

    @dataclass
    class Config:
        k_position: float = 1.0
        k_velocity: float = 1.8
        k_angle: float = 25.0
        k_angular_velocity: float = 4.0

    def forward(self, observation):
        x, x_dot, theta, theta_dot = observation
        cfg = self.config
        # Positive force pushes the cart right; a pole leaning right (theta > 0) needs the cart under it.
        return float(cfg.k_position * x + cfg.k_velocity * x_dot
                     + cfg.k_angle * theta + cfg.k_angular_velocity * theta_dot)


environment = CartPole("cartpole")
agent = Agent()
system = System(components=[environment, agent], name="gym_loop")
system.connect(environment.outputs.observation, agent.inputs.observation)
system.connect(agent.out, environment.inputs.action)

if __name__ == "__main__":
    system.launch(iterations=200)
