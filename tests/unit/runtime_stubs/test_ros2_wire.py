"""How a RosTopic publisher that is about to end makes sure its subscribers have what it sent."""
from __future__ import annotations

from lkbuild.runtime_stubs.lk_runtime import ros2_wire


class Publisher:
    """Acknowledged after ``after`` checks (never, with None); each check is asked without a wait."""

    def __init__(self, after):
        self.after, self.checks = after, 0

    def wait_for_all_acked(self, timeout):
        assert timeout.nanoseconds == 0  # never Fast DDS's own wait: it can block past its timeout
        self.checks += 1
        return self.after is not None and self.checks > self.after


def test_a_publisher_waits_until_its_subscribers_acknowledged_spinning_in_between():
    pub, spins = Publisher(after=3), []
    assert ros2_wire.wait_for_acks(pub, lambda: spins.append(1), timeout=5.0)
    assert pub.checks == 4 and len(spins) == 3


def test_a_subscriber_that_never_acknowledges_holds_the_end_only_until_the_timeout():
    pub, spins = Publisher(after=None), []
    assert not ros2_wire.wait_for_acks(pub, lambda: spins.append(1), timeout=0.05)
    assert spins  # it kept the process's callbacks running while it waited
