"""The end-of-run and flow-control state machine on its own: no dora, no rclpy, a clock passed in."""
from __future__ import annotations

from collections import deque

import pytest

from lkbuild.graph.plan import settling
from lkbuild.runtime_stubs.lk_runtime import ending
from lkbuild.runtime_stubs.lk_runtime.ending import ACK_EVERY, LOSS_GRACE_S, STATUS_QUIET_S, WINDOW, Ending


def chain(*names, clocked=None, settles=False):
    """The run plan of a chain of Nodes a -> b -> c ..., each sending 'x.out' to the next one's 'y.in'.

    ``settles``: the Nodes that can settle do (as ``graph.plan.run_plan`` says); else none does, so that
    every Node ends by its quiet periods.
    """
    edges = [[src, f"{src}.out", dst, f"{dst}.in"] for src, dst in zip(names, names[1:])]
    clocked = list(clocked if clocked is not None else names[:1])
    return {"nodes": list(names), "leader": names[0], "clocked": clocked, "edges": edges,
            "settles": settling(list(names), edges, set(clocked)) if settles else []}


class Network:
    """Endings of every Node wired as the dora generator wires them: statuses to the leader and upstream."""

    def __init__(self, run, run_id="r1", warm_up=False):
        self.run = run
        self.endings = {n: Ending(n, run, run_id=run_id, warm_up=warm_up) for n in run["nodes"]}
        self.inbox = {n: deque() for n in run["nodes"]}
        self.control_messages = 0
        self.now = 0.0

    def audience(self, node):
        """The leader, the senders that hold (clocked), the receivers that settle: ``graph.plan.control_plane``."""
        e, settles = self.endings[node], set(self.run.get("settles", ()))
        receivers = {dst for src, _, dst, _ in self.run["edges"] if src == node and dst in settles}
        return sorted({u for u in e.upstream if u in e.clocked} | receivers | ({e.leader} - {node}))

    def publish(self, node, status):
        if status is None:
            return
        for peer in self.audience(node):
            self.inbox[peer].append(("status", ending.parse(ending.dumps(status))))
            self.control_messages += 1

    def broadcast(self, node, control):
        if control is None:
            return
        for peer in self.run["nodes"]:
            if peer != node:
                self.inbox[peer].append(("control", ending.parse(ending.dumps(control))))
                self.control_messages += 1

    def deliver(self):
        for node, box in self.inbox.items():
            while box:
                kind, message = box.popleft()
                (self.endings[node].on_status if kind == "status" else self.endings[node].on_control)(message, self.now)

    def step_all(self, idle):
        decisions = {}
        for node, e in self.endings.items():
            d = e.step(idle[node], self.now)
            self.publish(node, d.status)
            self.broadcast(node, d.control)
            decisions[node] = d
        self.deliver()
        return decisions

    def settle(self, idle, until=10.0, dt=0.01):
        """Step every Node until all are done (or ``until`` seconds of clock pass)."""
        while self.now < until:
            self.now += dt
            decisions = self.step_all(idle)
            if all(d.done for d in decisions.values()):
                return decisions
        return decisions


def send(net, src, dst, n=1):
    for _ in range(n):
        net.endings[src].sent(f"{src}.out")
        net.publish(dst, net.endings[dst].received(f"{dst}.in", net.now))
    net.deliver()


def test_a_chain_ends_when_every_node_is_idle_and_every_edge_count_matches():
    net = Network(chain("a", "b", "c"))
    send(net, "a", "b", 3)
    send(net, "b", "c", 3)
    decisions = net.settle({"a": True, "b": True, "c": True})
    assert all(d.done and not d.lost for d in decisions.values())


def test_nothing_ends_while_a_message_is_in_flight():
    net = Network(chain("a", "b"))
    net.endings["a"].sent("a.out")                  # sent, not yet received by b
    decisions = net.settle({"a": True, "b": True}, until=LOSS_GRACE_S / 2)
    assert not any(d.done for d in decisions.values())
    net.publish("b", net.endings["b"].received("b.in", net.now))   # it arrives
    decisions = net.settle({"a": True, "b": True}, until=LOSS_GRACE_S)
    assert all(d.done and not d.lost for d in decisions.values())


def test_nothing_ends_while_a_node_with_clocks_is_busy():
    net = Network(chain("a", "b"))
    decisions = net.settle({"a": False, "b": True}, until=1.0)
    assert not any(d.done for d in decisions.values())
    assert net.endings["a"].waiting_for(False) == ["a", "b"]   # b has not said idle: it waits for the drain


def test_a_node_without_clocks_reports_only_after_the_leader_says_drain():
    net = Network(chain("a", "b"))
    b = net.endings["b"]
    net.now = 1.0
    assert b.step(True, net.now).status is None                # idle between messages: says nothing
    net.step_all({"a": True, "b": True})                       # a idle: its clocks are done -> drain
    assert b.drained
    net.now += 1.0
    assert b.step(True, net.now).status["idle"] is True


def test_a_node_that_said_idle_says_busy_before_it_handles_another_message():
    net = Network(chain("a", "b"))
    b = net.endings["b"]
    b.drained = True
    net.now = 1.0
    assert b.step(True, net.now).status["idle"]
    status = b.received("b.in", net.now)
    assert status is not None and status["idle"] is False and status["received"] == {"b.in": 1}


def test_an_idle_status_waits_for_a_quiet_moment():
    e = Ending("a", chain("a", "b"))
    e.event(1.0)
    decision = e.step(True, 1.0 + STATUS_QUIET_S / 2)
    assert decision.status is None and 0 < decision.wait <= STATUS_QUIET_S
    assert e.step(True, 1.0 + 2 * STATUS_QUIET_S).status["idle"]


def test_messages_never_received_are_reported_lost_after_the_grace_period_and_the_run_ends():
    net = Network(chain("a", "b"))
    for _ in range(5):
        net.endings["a"].sent("a.out")
    send(net, "a", "b", 0)
    net.publish("b", net.endings["b"].received("b.in", net.now))
    decisions = net.settle({"a": True, "b": True}, until=LOSS_GRACE_S - 0.5)
    assert not any(d.done for d in decisions.values())
    decisions = net.settle({"a": True, "b": True}, until=LOSS_GRACE_S + 1.0)
    assert all(d.done for d in decisions.values())
    assert decisions["a"].lost == decisions["b"].lost == {"a/a.out -> b/b.in": 4}


def test_a_peer_that_never_reports_keeps_the_run_going_and_is_named():
    run = chain("a", "b", "c")
    net = Network(run)
    del net.endings["c"]                                      # c's process never says anything
    net.inbox.pop("c")
    net.run = {**run, "nodes": ["a", "b"]}
    for t in range(1, 200):
        net.now = t * 0.1
        decisions = {n: e.step(True, net.now) for n, e in net.endings.items()}
        for n, d in decisions.items():
            net.publish(n, d.status)
            net.broadcast(n, d.control)
        net.inbox.pop("c", None)
        net.inbox = {n: q for n, q in net.inbox.items() if n in net.endings}
        net.deliver()
    assert not any(d.done for d in decisions.values())
    assert net.endings["a"].waiting_for(True) == ["c"]


def test_a_peer_that_goes_away_ends_the_run_here():
    e = Ending("b", chain("a", "b"))
    e.on_closed("a")
    assert e.step(False, 0.0).done


def test_a_loop_between_nodes_ends_when_the_loop_is_quiet():
    run = {"nodes": ["agent", "env"], "leader": "agent", "clocked": ["agent"],
           "edges": [["agent", "agent.act", "env", "env.act"], ["env", "env.obs", "agent", "agent.obs"]]}
    net = Network(run)
    for _ in range(3):                                          # three round trips
        net.endings["agent"].sent("agent.act")
        net.publish("env", net.endings["env"].received("env.act", net.now))
        net.endings["env"].sent("env.obs")
        net.publish("agent", net.endings["agent"].received("agent.obs", net.now))
        net.deliver()
    decisions = net.settle({"agent": True, "env": True})
    assert all(d.done and not d.lost for d in decisions.values())


def test_a_sender_holds_its_sources_while_a_window_of_messages_is_unacknowledged_then_gives_up():
    net = Network(chain("a", "b"))
    a = net.endings["a"]
    for _ in range(WINDOW):
        a.sent("a.out")
    assert a.hold(1.0)
    for _ in range(ACK_EVERY):                                  # b reports progress
        net.publish("b", net.endings["b"].received("b.in", 1.0))
    net.deliver()
    assert not a.hold(1.1)
    for _ in range(ACK_EVERY):
        a.sent("a.out")
    assert a.hold(2.0) and a.hold(2.0 + LOSS_GRACE_S / 2)
    assert not a.hold(2.0 + LOSS_GRACE_S)                       # no word for long: lost, not a hang


def test_a_receiver_acknowledges_every_ack_every_messages():
    b = Ending("b", chain("a", "b"))
    said = [b.received("b.in", 0.0) for _ in range(2 * ACK_EVERY + 1)]
    progress = [s for s in said if s is not None]
    assert [p["received"]["b.in"] for p in progress] == [ACK_EVERY, 2 * ACK_EVERY]
    assert not any(p["idle"] for p in progress)


def test_without_iterations_only_flow_control_runs():
    e = Ending("a", chain("a", "b"), ending=False)
    assert not e.step(True, 100.0).done and e.step(True, 100.0).status is None


def test_statuses_and_decisions_of_another_run_or_an_unknown_node_are_ignored():
    e = Ending("b", chain("a", "b"), run_id="mine")
    e.on_control({"node": "a", "run": "other", "done": True}, 0.0)
    e.on_control({"node": "intruder", "run": "mine", "done": True}, 0.0)
    e.on_status({"node": "intruder", "run": "mine", "idle": True, "sent": {}, "received": {}}, 0.0)
    assert not e.done and e.statuses == {}
    e.on_control({"node": "a", "run": "mine", "done": True}, 0.0)
    assert e.step(False, 0.0).done


@pytest.mark.parametrize("raw", [b"", b"[]", b"{}", b'{"node": 3}', b"\xff",
                                 b'{"node": "a", "idle": "yes", "sent": {}, "received": {}}',
                                 b'{"node": "a", "idle": true, "sent": {"x": -1}, "received": {}}',
                                 b'{"node": "a", "idle": true, "sent": [], "received": {}}',
                                 b'{"node": "a", "done": true, "lost": {"e": "many"}}'])
def test_malformed_control_messages_are_dropped(raw):
    assert ending.parse(raw) is None


def test_one_node_alone_ends_when_it_is_idle():
    e = Ending("solo", {"nodes": ["solo"], "leader": "solo", "clocked": ["solo"], "edges": []})
    decisions = [e.step(True, t) for t in (1.0, 1.1, 1.2)]
    assert decisions[-1].done


@pytest.mark.parametrize("n", [2, 8, 32])
def test_control_traffic_grows_with_the_number_of_nodes_not_its_square(n):
    names = [f"n{i}" for i in range(n)]
    net = Network(chain(*names))
    per_edge = 100
    for src, dst in zip(names, names[1:]):
        send(net, src, dst, per_edge)
    decisions = net.settle({name: True for name in names})
    assert all(d.done and not d.lost for d in decisions.values())
    data = per_edge * (n - 1)
    assert net.control_messages / data <= 0.2


def test_a_failed_node_stops_every_other_node_through_the_leader():
    net = Network(chain("a", "b", "c"))
    status, control = net.endings["c"].failure()
    assert control is None and status["failed"] is True
    net.publish("c", status)          # to the leader and to b, which sends to c
    net.deliver()
    decisions = net.step_all({"a": False, "b": False, "c": False})
    assert decisions["a"].done and decisions["a"].control["failed"] == "c"
    net.deliver()
    assert all(e.step(False, 1.0).done for e in net.endings.values())


def test_a_failed_leader_tells_every_node_itself():
    net = Network(chain("a", "b", "c"))
    status, control = net.endings["a"].failure()
    net.broadcast("a", control)
    net.deliver()
    assert net.endings["b"].step(False, 0.0).done and net.endings["c"].step(False, 0.0).done


def test_a_node_that_keeps_turning_busy_again_waits_longer_before_it_says_idle():
    from lkbuild.runtime_stubs.lk_runtime.ending import MAX_QUIET_S

    b = Ending("b", chain("a", "b"))
    b.drained = True
    said, now = 0, 1.0
    for _ in range(40):                 # a message every 50 ms, idle in between
        now += 0.05
        if b.step(True, now).status is not None:
            said += 1
        b.received("b.in", now)
    assert said <= 8                    # not one idle (and one busy) status per message
    assert 0.05 < b.quiet <= MAX_QUIET_S   # it now waits longer than the gap between two messages


# -- the warm-up (dora) -----------------------------------------------------------------------------------------
def warm_step(net):
    for node, e in net.endings.items():
        if e.warming:
            d = e.warm_up(net.now)
            net.publish(node, d.status)
            net.broadcast(node, d.control)
    net.deliver()


def test_before_any_source_fires_every_node_receives_a_message_then_the_leader_says_go():
    net = Network(chain("a", "b", "c", clocked=["a", "c"]), warm_up=True)
    assert all(e.warming for e in net.endings.values())
    warm_step(net)  # a says hello
    assert all(e.warming for e in net.endings.values())
    warm_step(net)  # b and c answer
    assert net.endings["b"].warming is False  # no clocks: it only had to receive a message
    assert net.endings["a"].warming and net.endings["c"].warming
    warm_step(net)  # a has heard everyone: go
    assert not any(e.warming for e in net.endings.values())
    # hello to b and c; b's and c's answers to a (b has no clock: it holds nothing, c's status is not for
    # it); go to b and c
    assert net.control_messages == 2 + 2 + 2


def test_a_node_that_never_answers_delays_the_start_by_at_most_the_warm_up_time():
    net = Network(chain("a", "b"), warm_up=True)
    leader = net.endings["a"]
    net.endings["b"].heard_hello = True
    net.endings["b"].answered = True  # its answer was lost
    while leader.warming:
        d = leader.warm_up(net.now)
        assert d.wait is not None and d.wait > 0 or not leader.warming
        net.now += 0.1
    assert ending.WARM_UP_S <= net.now <= ending.WARM_UP_S + 0.2


def test_without_warm_up_or_alone_nothing_waits():
    assert not Ending("a", chain("a", "b"), warm_up=False).warming
    assert not Ending("a", chain("a"), warm_up=True).warming


# -- foreign endpoints: they speak no protocol; their feeds are watched ---------------------------------------
def foreign_run(kind, *more):
    """One Node 'a' with no sources of its own, fed on 'k.in' by a foreign node 'k' of this kind (and on each
    of ``more``, ``(key, foreign node)``, by a relay)."""
    clocked = ["a"] if kind == "source" else []
    feeds = [["a", "k.in", kind, "k"]] + [["a", key, "relay", name] for key, name in more]
    return {"nodes": ["a"], "leader": "a", "clocked": clocked, "edges": [], "feeds": feeds}


def ends_by(e, now, steps=5):
    """Whether the Node's run is over by ``now`` (a few decisions in a row, as the driver asks them)."""
    return any(e.step(True, now + i * 1e-6).done for i in range(steps))


def test_a_node_fed_by_a_foreign_source_ends_only_once_that_input_closed():
    e = Ending("a", foreign_run("source"), run_id="r")
    assert not ends_by(e, 1.0) and not ends_by(e, 100.0)  # idle, but the foreign node may still send
    e.received("k.in", 100.0)
    assert not ends_by(e, 101.0)
    e.on_feed_closed("k.in")
    assert ends_by(e, 102.0) and e.counts()["received"] == {"k.in": 1}


def test_a_node_fed_by_a_relay_ends_once_the_relay_was_quiet_after_the_drain():
    e = Ending("a", foreign_run("relay"), run_id="r")
    e.received("k.in", 10.0)
    assert not ends_by(e, 10.1)  # drained now: the relay gets RELAY_QUIET_S to send what it still holds
    e.received("k.in", 10.3)
    assert not ends_by(e, 10.3 + ending.RELAY_QUIET_S - 0.05)
    assert ends_by(e, 10.3 + ending.RELAY_QUIET_S + 0.01)


def test_a_node_that_said_idle_says_busy_while_a_relay_may_still_send():
    run = {"nodes": ["lead", "b"], "leader": "lead", "clocked": ["lead", "b"], "edges": [],
           "feeds": [["b", "k.in", "relay", "k"]]}
    b = Ending("b", run, run_id="r")
    b.received("k.in", 4.0)
    said = b.step(True, 5.0)
    assert said.status is not None and said.status["idle"] is True  # the relay has been quiet for a second
    b.on_control({"node": "lead", "run": "r", "drain": True}, 6.0)
    again = b.step(True, 6.1)
    assert again.status is not None and again.status["idle"] is False  # the drain restarts the relay's quiet
    assert b.step(True, 6.0 + ending.RELAY_QUIET_S + 0.01).status["idle"] is True


def test_a_relay_that_sent_nothing_yet_gets_longer_after_the_drain_than_one_that_did():
    # 'k' and 'm' are fed by lkbuild (relays); 'm' answered once, 'k' not yet: its first message may be late
    e = Ending("a", foreign_run("relay", ("m.in", "m")), run_id="r")
    e.received("m.in", 10.0)
    assert not ends_by(e, 10.1)  # drained now
    assert not ends_by(e, 10.1 + ending.RELAY_QUIET_S + 0.01)  # 'm' is settled, 'k' is not
    assert not ends_by(e, 10.1 + ending.RELAY_SILENT_S - 0.05)
    assert ends_by(e, 10.1 + ending.RELAY_SILENT_S + 0.01)


def test_a_relay_counts_as_heard_once_any_of_its_outputs_arrived():
    # two inputs fed by the same relay 'k': its first message on one says it is running, for both
    e = Ending("a", foreign_run("relay", ("k.other", "k")), run_id="r")
    e.received("k.in", 10.0)
    assert not ends_by(e, 10.1)
    assert ends_by(e, 10.1 + ending.RELAY_QUIET_S + 0.01)  # nothing came on k.other: no 3 s wait for it


# -- settling: a Node whose idleness follows from its senders' -------------------------------------------------
def test_along_a_chain_each_node_says_idle_once_its_senders_are_and_everything_arrived():
    net = Network(chain("a", "b", "c", "d", settles=True))
    assert [n for n in "abcd" if net.endings[n].settles] == ["b", "c", "d"]
    for src, dst in ("ab", "bc", "cd"):
        send(net, src, dst, 3)
    idle = dict.fromkeys("abcd", True)
    said, waits = [], []
    while net.now < 1.0 and not net.endings["d"].done:
        net.now += 0.001
        for node, d in net.step_all(idle).items():
            said += [node] if d.status is not None else []
            waits += [node] if node != "a" and d.wait is not None else []
    assert net.endings["d"].done and not net.endings["a"].lost
    assert said == ["a", "b", "c", "d"]  # one idle status each, in chain order, each as soon as it could
    assert waits == []  # and not one of b, c, d waited for a quiet period (a timed wait)


def test_a_settling_node_with_a_message_still_missing_falls_back_to_its_quiet_period():
    net = Network(chain("a", "b", settles=True))
    b = net.endings["b"]
    send(net, "a", "b", 2)
    net.endings["a"].sent("a.out")  # in flight, or lost
    decisions = net.settle({"a": True, "b": True}, until=1.0)
    assert b.published is not None and b.published[0] and not any(d.done for d in decisions.values())
    decisions = net.settle({"a": True, "b": True}, until=1.0 + 2 * LOSS_GRACE_S)
    assert decisions["a"].done and decisions["a"].lost == {"a/a.out -> b/b.in": 1}


def test_nodes_on_a_loop_or_with_clocks_do_not_settle():
    edges = [["a", "a.out", "b", "b.in"], ["b", "b.out", "c", "c.in"], ["c", "c.out", "b", "b.back"],
             ["c", "c.out", "d", "d.in"]]
    assert settling(["a", "b", "c", "d"], edges, {"a"}) == ["d"]


def test_a_status_that_never_arrived_does_not_hold_a_settling_node_forever():
    net = Network(chain("a", "b", "c", settles=True))
    send(net, "a", "b", 3)
    send(net, "b", "c", 3)
    publish, dropped = net.publish, []

    def lossy(node, status):  # the first idle word of b never reaches c
        if node == "b" and status is not None and status["idle"] and not dropped:
            dropped.append(status)
            net.inbox["a"].append(("status", ending.parse(ending.dumps(status))))
            return
        publish(node, status)
    net.publish = lossy
    decisions = net.settle(dict.fromkeys("abc", True), until=ending.RESYNC_S / 2)
    assert dropped and not any(d.done for d in decisions.values())  # c waits for b's word
    decisions = net.settle(dict.fromkeys("abc", True), until=2 * ending.RESYNC_S + 1)
    assert all(d.done and not d.lost for d in decisions.values())  # the leader asked again: b said it again


def test_a_node_fed_by_a_relay_ends_the_run_only_by_what_it_said_after_the_drain():
    # Before the drain its relay's input counts as settled, so it says idle; the leader must not end the
    # run on that word while the relay's quiet after the drain is still running (the run ended 1.7 s in,
    # before the relay's first answer, in 2 of 25 loaded runs)
    run = {"nodes": ["lead", "b"], "leader": "lead", "clocked": ["lead", "b"], "edges": [],
           "feeds": [["b", "k.in", "source", "k"], ["b", "r.in", "relay", "r"]]}
    net = Network(run)
    net.endings["b"].on_feed_closed("k.in")  # its foreign source ended; the relay has not answered yet
    decisions = net.settle({"lead": True, "b": True}, until=ending.RELAY_SILENT_S - 0.5)
    assert net.endings["lead"].drained and not any(d.done for d in decisions.values())
    net.publish("b", net.endings["b"].received("r.in", net.now))  # its first answer, late
    decisions = net.settle({"lead": True, "b": True}, until=net.now + ending.RELAY_SILENT_S)
    assert all(d.done for d in decisions.values()) and net.endings["b"].counts()["received"] == {"r.in": 1}


def test_a_status_whose_drained_mark_is_not_a_boolean_is_dropped():
    good = {"node": "b", "run": "r", "idle": True, "sent": {}, "received": {}, "drained": True}
    assert ending.parse(ending.dumps(good)) == good
    assert ending.parse(ending.dumps({**good, "drained": "yes"})) is None
