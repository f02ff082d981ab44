"""How a run spread over several Nodes ends, and its flow control: one pure state machine per Node.

Every engine adapter (dora, ROS 2) tells its ``Ending`` what happens — a message sent or received on an
edge between Nodes, a status or a decision from another Node — and does what it answers: publish this
status, broadcast this decision, hold the next source firing, end the run. It does no I/O and reads no
clock (``now`` is passed in), so it is tested on its own, with no engine.

The protocol. Control traffic is O(N): a Node's status goes to the leader (the first Node of the
system), to the clocked Nodes that send to it and to the settling Nodes it sends to, never to every
Node; decisions go from the leader to each Node.

* Every Node counts the messages it sent on each output and received on each input between Nodes. A
  status is ``{"node", "idle", "sent", "received"}``; idle means all its clocks (sources, loop
  starters) have fired their iterations and nothing is queued.
* Flow control: a receiver reports its counts after every ``ACK_EVERY`` messages from a clocked Node
  (only sources are held; a relay is paced by what it receives); a sender holds its next source firing while ``WINDOW`` or more of its messages on an edge are not reported received — for
  at most ``LOSS_GRACE_S`` without word from that receiver (then they are lost; reported at the end).
* Ending (only with ``iterations``): a Node with clocks reports idle once it is, after ``STATUS_QUIET_S``
  without events, a quiet period that doubles (up to ``MAX_QUIET_S``) each time the Node turns out busy
  again right after, so a stream of messages does not make it send two statuses per message. Once every Node with clocks has
  said idle, the leader broadcasts ``drain``; from then on every Node reports when it is idle. A Node
  that said idle says busy before it handles another message. When every Node's latest status says
  idle and every edge's sent count equals its received count, nothing is in flight and nothing can
  fire again (per-edge FIFO delivery makes this a safe snapshot): the leader broadcasts ``done`` and
  every Node ends. If every Node says idle, the counts differ and nothing changes for ``LOSS_GRACE_S``,
  those messages were lost: ``done`` names them per edge.
* Settling (``run["settles"]``): a Node without clocks and foreign feeds, on no loop between Nodes,
  hears the statuses of the Nodes that send to it. Once each of them said idle and every message they
  said they sent has arrived, nothing more can come: it says idle at once, with no quiet period (and no
  timed wait, which costs a dora node a fraction of a millisecond of CPU per call). While a sender has
  not said idle it waits for that word; when messages a sender counted are missing, the quiet period
  decides, as for any other Node (they may be lost). So along a chain each Node says idle once, right
  after its last message, instead of turning idle and busy again while the messages still flow. While
  the run has not ended, the leader asks every ``RESYNC_S`` after the drain that every Node says its
  status again (``resync``), so that a status that never arrived cannot hold the run.
* A Node that fails says so (``failure``); the Nodes that hear it stop, the leader tells every other one.
  A control-plane peer that goes away (its process ended or failed) ends the run here too.
* Statuses and decisions carry the run's id: a message of another run (or any other process) is ignored.
* Warm-up (``warm_up``, on dora): dora delivers the first message a node receives a few hundred
  milliseconds late, later ones in well under one. So before any source fires, the leader broadcasts
  ``hello`` (again every ``HELLO_EVERY_S``), every Node answers with a status marked ``warm``, and once
  every Node has answered the leader broadcasts ``go``: every Node has then received a message, and the
  Nodes with clocks start. Never for long: after ``WARM_UP_S`` every Node starts anyway.
* Foreign endpoints (``DoraNode``) do not speak this protocol; what they send is seen only as it arrives
  (``run["feeds"]``). An input fed by a *foreign source* (a foreign node no component feeds) counts as a
  clock of its Node until it closes: the foreign node ended. An input fed by a *relay* (a foreign node
  that components feed) is settled once nothing arrived on it for ``RELAY_QUIET_S`` since the later of its
  last message and the ``drain`` decision (a Node that said idle before the drain says busy again until
  then); for ``RELAY_SILENT_S`` while that relay has sent this Node nothing at all (a node's first message
  can come late: the relay may still be on its way to its first output). A Node is idle only when its
  foreign inputs are settled. Before the drain a relay's inputs count as settled (so that a Node with
  clocks can say idle), so the leader ends the run only on a status such a Node gave after the drain
  (``"drained": true``).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

WINDOW = 200          # messages per edge a sender may have in flight, not yet reported received
ACK_EVERY = 50        # a receiver reports its counts after this many messages
STATUS_QUIET_S = 0.005  # a Node reports idle after this long without events ...
MAX_QUIET_S = 0.2       # ... doubled each time it turns out busy again right after, up to this
LOSS_GRACE_S = 3.0    # all idle, counts unequal, nothing changing this long: the messages were lost
HELLO_EVERY_S = 1.0   # the leader repeats its warm-up hello this often (if an answer is missing) ...
WARM_UP_S = 3.0       # ... and every Node starts after this long, warm or not
RESYNC_S = 2.0        # after the drain, the leader asks every Node to say its status again this often while
#                       the run has not ended (a status that never arrived must not hold the run forever)
RELAY_QUIET_S = 0.5   # a foreign relay that sent nothing this long after the drain has nothing more to send
RELAY_SILENT_S = 3.0  # ... and one that has sent this Node nothing yet gets this long (dora delivers a node's
#                       first message late, by over half a second on a loaded machine)


class Decision:
    """What an adapter does now. ``wait``: ask again within this many seconds even if nothing happens."""

    __slots__ = ("status", "control", "done", "lost", "wait")

    def __init__(self, status=None, control=None, done=False, lost=None, wait=None):
        self.status: Optional[Dict[str, Any]] = status
        self.control: Optional[Dict[str, Any]] = control
        self.done: bool = done
        self.lost: Dict[str, int] = lost or {}
        self.wait: Optional[float] = wait


class Ending:
    """The control plane of one Node.

    Args:
        node: this Node's name.
        run: the plan's ``run`` section (``lkbuild.graph.plan.run_plan``): nodes, leader, clocked, edges.
        ending: whether the run ends by itself (``iterations`` given); False: only flow control.
        run_id: the run's id, carried by every status and decision.
    """

    def __init__(self, node: str, run: Dict[str, Any], ending: bool = True, run_id: str = "",
                 warm_up: bool = False):
        self.node = node
        self.nodes: List[str] = list(run["nodes"])
        self.leader = run["leader"]
        self.is_leader = node == self.leader
        self.clocked = set(run["clocked"])
        self.edges = [tuple(e) for e in run["edges"]]
        self.ending = ending
        self.run_id = run_id
        self.out_edges = [(out, dst, inp) for src, out, dst, inp in self.edges if src == node]
        self.upstream = sorted({src for src, _, dst, _ in self.edges if dst == node and src != node})
        # a sender holds its sources on this Node's counts (flow control); one without sources never holds
        self.acks = any(src in self.clocked for src in self.upstream)
        self.settles = node in run.get("settles", ())  # see "Settling"
        self.in_edges = [(src, key, inp) for src, key, dst, inp in self.edges if dst == node and src != node]
        self.downstream = sorted({dst for _, dst, _ in self.out_edges})
        self.sent_counts: Dict[str, int] = {out: 0 for src, out, _, _ in self.edges if src == node}
        self.received_counts: Dict[str, int] = {inp: 0 for _, _, dst, inp in self.edges if dst == node}
        self.statuses: Dict[str, Dict[str, Any]] = {}  # the latest word of every other Node
        self.heard_at: Dict[str, float] = {}
        self.published: Optional[tuple] = None  # (idle, changes) as last published
        self.changes = 0  # messages sent and received so far: what a status's counts sum up
        self.unreported = 0
        self.last_event = 0.0
        self.drained = False
        self.done = False
        self.lost: Dict[str, int] = {}
        self.held_since: Optional[float] = None
        self.windowed = True
        self.stable: Optional[tuple] = None  # (snapshot, since) while all are idle with counts unequal
        self.failed_peer: Optional[str] = None
        self.quiet = STATUS_QUIET_S
        self.warming = warm_up and len(self.nodes) > 1  # see "Warm-up"
        self.warm_since: Optional[float] = None
        self.hello_at: Optional[float] = None  # the leader: when it last said hello
        self.heard_hello = False               # the others: the leader's hello arrived ...
        self.answered = False                  # ... and this Node answered it
        self.warm: set = set()                 # the leader: the Nodes that answered
        mine = [feed for feed in run.get("feeds", ()) if feed[0] == node]
        self.feeds = {key: kind for _, key, kind, _ in mine}
        # the Nodes with inputs fed by a relay: only their word after the drain can end the run
        self.relayed = {n for n, _, kind, _ in run.get("feeds", ()) if kind == "relay"}
        self.feeder = {key: endpoint for _, key, _, endpoint in mine}  # input key -> the foreign endpoint
        self.heard_from: set = set()  # the foreign endpoints whose messages arrived here
        self.feeds_closed: set = set()
        self.feed_at: Dict[str, float] = {}
        self.drained_at: Optional[float] = None
        self.resynced_at: Optional[float] = None  # the leader: when it last asked for every status again

    # -- what happens -------------------------------------------------------------------------------------
    def sent(self, key: str) -> None:
        self.sent_counts[key] = self.sent_counts.get(key, 0) + 1
        self.changes += 1

    def received(self, key: str, now: float) -> Optional[Dict[str, Any]]:
        """A message arrived on input ``key``; returns a status to publish *before* handling it, if any.

        A Node that said it was idle says busy first (a peer must not take it for idle); a receiver
        reports its counts every ``ACK_EVERY`` messages (the sender's flow control).
        """
        self.received_counts[key] = self.received_counts.get(key, 0) + 1
        self.changes += 1
        self.last_event = now
        if key in self.feeds:
            self.feed_at[key] = now
            self.heard_from.add(self.feeder[key])
        self.unreported += 1
        if self.published is not None and self.published[0]:
            self.quiet = min(2 * self.quiet, MAX_QUIET_S)  # it said idle too soon: wait longer next time
            return self._publish(False)
        if self.unreported >= ACK_EVERY and self.acks:
            return self._publish(False)
        return None

    def event(self, now: float) -> None:
        """Something else happened here (a source fired, a peer spoke): the Node is not quiet."""
        self.last_event = now

    def on_status(self, status: Dict[str, Any], now: float) -> None:
        """A status from another Node (checked by ``parse``)."""
        node = status["node"]
        if node == self.node or node not in self.nodes or status.get("run", "") != self.run_id:
            return
        self.statuses[node] = status
        self.heard_at[node] = now
        self.last_event = now
        if status.get("warm") is True:
            self.warm.add(node)
        if status.get("failed") is True and self.failed_peer is None:
            self.failed_peer = node  # it has stopped: so does this Node (the leader tells the others)

    def on_control(self, control: Dict[str, Any], now: float) -> None:
        """A decision from the leader."""
        if control.get("run", "") != self.run_id or control.get("node") != self.leader or self.is_leader:
            return
        self.last_event = now
        if control.get("hello"):
            self.heard_hello = True
        if control.get("go"):
            self.warming = False
        if control.get("resync"):
            self.published = None  # say it again: the next step publishes this Node's status if it is idle
        elif control.get("drain"):
            self.drained = True
            self.drained_at = now
        if control.get("done"):
            self.done = True
            self.lost = dict(control.get("lost") or {})

    def warm_up(self, now: float) -> Decision:
        """While ``warming``: what to send, and how long to wait for the answer (see "Warm-up")."""
        decision = Decision()
        if self.warm_since is None:
            self.warm_since = now
        if now - self.warm_since >= WARM_UP_S:
            self.warming = False
            return decision
        if self.is_leader:
            if self.warm >= set(self.nodes) - {self.node}:
                self.warming = False
                if self.clocked - {self.node}:  # only Nodes with clocks wait for it (the others stop at warm)
                    decision.control = self._control(go=True)
                return decision
            if self.hello_at is None or now - self.hello_at >= HELLO_EVERY_S:
                self.hello_at = now
                decision.control = self._control(hello=True)
            decision.wait = min(HELLO_EVERY_S - (now - self.hello_at), WARM_UP_S - (now - self.warm_since))
            return decision
        if self.heard_hello and not self.answered:
            self.answered = True
            decision.status = {**self._status(False), "warm": True}
        if self.answered and self.node not in self.clocked:
            self.warming = False  # nothing to hold here: it only had to receive a message
            return decision
        decision.wait = WARM_UP_S - (now - self.warm_since)
        return decision
    def on_feed_closed(self, key: str) -> None:
        """An input fed by a foreign endpoint closed: that endpoint has ended."""
        if key in self.feeds:
            self.feeds_closed.add(key)

    def settled(self, now: float) -> tuple:
        """(whether every foreign input is settled, seconds until the next one may settle or None)."""
        wait = None
        for key, kind in self.feeds.items():
            if key in self.feeds_closed:
                continue
            if kind == "source":
                return False, None
            marks = [t for t in (self.feed_at.get(key), self.drained_at) if t is not None]
            if not marks:
                continue  # before the drain, with nothing from it yet: settled (the leader waits for the drain)
            quiet = now - max(marks)
            needed = RELAY_QUIET_S if self.feeder[key] in self.heard_from else RELAY_SILENT_S
            if quiet < needed:
                left = needed - quiet
                wait = left if wait is None else max(wait, left)
        return wait is None, wait

    def failure(self) -> tuple:
        """(status, decision) to send when this Node fails, so that every other Node stops too."""
        self.done = True
        if self.is_leader:
            return None, self._control(done=True, lost={}, failed=self.node)
        return {**self._status(False), "failed": True}, None

    def on_closed(self, peer: str) -> None:
        """A control-plane peer went away: its process ended (the run is over) or failed."""
        if peer in self.nodes and peer != self.node:
            self.done = True

    # -- what to do -----------------------------------------------------------------------------------------
    def hold(self, now: float) -> bool:
        """Whether to hold the next source firing: too many messages on an edge not yet reported received."""
        if not self.windowed:
            return False
        for out, dst, inp in self.out_edges:
            got = self.statuses.get(dst, {}).get("received", {}).get(inp, 0)
            if self.sent_counts.get(out, 0) - got >= WINDOW:
                if self.held_since is None or self.heard_at.get(dst, 0.0) > self.held_since:
                    self.held_since = now
                elif now - self.held_since >= LOSS_GRACE_S:
                    self.windowed = False  # no word for long: lost; reported at the end
                    return False
                return True
        self.held_since = None
        return False

    def step(self, idle: bool, now: float) -> Decision:
        """The decision for now, given whether this Node is idle (``Host.done()``)."""
        if self.done:
            return Decision(done=True, lost=self.lost)
        if self.failed_peer is not None:
            decision = Decision()
            self._finish(decision, {})
            decision.control["failed"] = self.failed_peer
            if not self.is_leader:
                decision.control = None
            return decision
        if not self.ending:
            return Decision()
        decision = Decision()
        if self.feeds:
            settled, decision.wait = self.settled(now)
            idle = idle and settled
            if not idle and self.published is not None and self.published[0]:
                decision.status = self._publish(False)  # a relay may still send: not idle after all
        if idle and (True, self.changes) != self.published:
            senders = self._senders_settled() if self.settles else None
            if senders is True:
                decision.status = self._publish(True)  # nothing more can arrive: no quiet period to wait
            elif senders is None and (self.node in self.clocked or self.drained):
                quiet = now - self.last_event
                if quiet < self.quiet:
                    decision.wait = self.quiet - quiet
                else:
                    decision.status = self._publish(True)
        if self.is_leader:
            self._lead(idle, now, decision)
        return decision

    def _senders_settled(self) -> Optional[bool]:
        """(A settling Node) True: every sender said idle and everything it sent has arrived; False: a
        sender has not said idle (its word will come); None: they are idle, yet messages are missing (in
        flight, or lost: then the quiet period decides, as for any Node)."""
        settled = True
        for src, key, inp in self.in_edges:
            status = self.statuses.get(src)
            if status is None or not status["idle"]:
                return False
            if status["sent"].get(key, 0) != self.received_counts.get(inp, 0):
                settled = None
        return settled

    def waiting_for(self, idle: bool) -> List[str]:
        """The Nodes whose word the run is waiting for (for a "still waiting" log line)."""
        statuses = self._all_statuses(idle)
        return [n for n in self.nodes if not statuses.get(n, {}).get("idle")]

    def counts(self) -> Dict[str, Dict[str, int]]:
        return {"sent": dict(self.sent_counts), "received": dict(self.received_counts)}

    # -- the leader -----------------------------------------------------------------------------------------
    def _lead(self, idle: bool, now: float, decision: Decision) -> None:
        statuses = self._all_statuses(idle)
        if not self.drained:
            if all(statuses.get(n, {}).get("idle") for n in self.clocked):
                self.drained = True
                self.drained_at = now
                decision.control = self._control(drain=True)
            return
        # A Node fed by a relay said idle before the drain with its relays taken as settled: that word
        # cannot end the run (its relays' quiet is counted from the drain on).
        if not all(statuses.get(n, {}).get("idle") and (n not in self.relayed or statuses[n].get("drained"))
                   for n in self.nodes):
            self.stable = None
            self._resync(now, decision)
            return
        missing = self.missing(statuses)
        if not missing:
            self._finish(decision, {})
            return
        snapshot = json.dumps(statuses, sort_keys=True)
        if self.stable is None or self.stable[0] != snapshot:
            self.stable = (snapshot, now)
        if now - self.stable[1] >= LOSS_GRACE_S:
            self._finish(decision, missing)
        else:
            decision.wait = LOSS_GRACE_S - (now - self.stable[1])

    def _resync(self, now: float, decision: Decision) -> None:
        """(The leader, drained, some Node not idle) every ``RESYNC_S``: every Node says its status again.

        Nodes settle on their senders' word (see "Settling"); were a status ever not delivered, a Node
        would wait for it forever. Asked again, every idle Node repeats its status, and the run ends.
        """
        since = self.resynced_at if self.resynced_at is not None else self.drained_at
        if now - since >= RESYNC_S:
            self.resynced_at = now
            self.published = None
            decision.control = self._control(resync=True)
        else:
            decision.wait = since + RESYNC_S - now if decision.wait is None else min(decision.wait,
                                                                                    since + RESYNC_S - now)

    def _finish(self, decision: Decision, lost: Dict[str, int]) -> None:
        self.done, self.lost = True, lost
        decision.control = self._control(done=True, lost=lost)
        decision.done, decision.lost = True, lost

    def missing(self, statuses: Optional[Dict[str, Dict[str, Any]]] = None) -> Dict[str, int]:
        """Per edge, messages sent but not received, by every Node's latest word."""
        statuses = statuses if statuses is not None else self._all_statuses(False)
        out = {}
        for src, key, dst, inp in self.edges:
            if src in statuses and dst in statuses:
                gap = statuses[src]["sent"].get(key, 0) - statuses[dst]["received"].get(inp, 0)
                if gap:
                    out[f"{src}/{key} -> {dst}/{inp}"] = gap
        return out

    # -- helpers --------------------------------------------------------------------------------------------
    def _snapshot(self, idle: bool) -> tuple:
        return idle, self.changes

    def _status(self, idle: bool) -> Dict[str, Any]:
        status = {"node": self.node, "run": self.run_id, "idle": idle, **self.counts()}
        if self.node in self.relayed:
            status["drained"] = self.drained
        return status

    def _all_statuses(self, idle: bool) -> Dict[str, Dict[str, Any]]:
        return {**self.statuses, self.node: self._status(idle)}

    def _publish(self, idle: bool) -> Dict[str, Any]:
        self.published = self._snapshot(idle)
        self.unreported = 0
        return self._status(idle)

    def _control(self, **fields) -> Dict[str, Any]:
        return {"node": self.node, "run": self.run_id, **fields}


# -- the wire format: JSON, checked, never trusted ------------------------------------------------------------
def dumps(message: Dict[str, Any]) -> bytes:
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


def parse(raw) -> Optional[Dict[str, Any]]:
    """A status or decision from another process; None for anything malformed (it is dropped)."""
    try:
        data = json.loads(bytes(raw))
    except (ValueError, TypeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("node"), str) or not isinstance(data.get("run", ""), str):
        return None
    if not isinstance(data.get("failed", False), (bool, str)) or not isinstance(data.get("drained", False), bool):
        return None
    if "idle" in data:
        if not isinstance(data["idle"], bool):
            return None
        for key in ("sent", "received"):
            counts = data.get(key)
            if not isinstance(counts, dict) or not all(
                    isinstance(k, str) and type(v) is int and v >= 0 for k, v in counts.items()):
                return None
    elif "lost" in data and not (isinstance(data["lost"], dict)
                                 and all(type(v) is int for v in data["lost"].values())):
        return None
    return data
