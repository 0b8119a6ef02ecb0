// The two modes of the nat-traversal-stun-turn diagram as steps, and a recorded run of
// `make nat-lab` (its events.json) turned into steps of the same kind. A step carries
// packets (each a route through the nodes), NAT mappings it creates, lines the peers
// print, and the path once one is known.
//   nodes: peerA natA stun sig turn natB peerB

const HOSTS = {
  peerA: "10.0.0.5:50001",
  natA: "203.0.113.1",
  peerB: "192.168.1.10:50002",
  natB: "198.51.100.1",
  stun: "stun.example.com:3478",
  turn: "turn.example.com:3478",
};

const UP_A = ["peerA", "natA"];
const UP_B = ["peerB", "natB"];

const CONE = [
  {
    caption: "Peer A sends a STUN Binding request from 10.0.0.5:50001. NAT-A rewrites the source to its public address and keeps the mapping.",
    packets: [{ route: [...UP_A, "stun"], label: "Binding request" }],
    mappings: [{ nat: "A", inside: "10.0.0.5:50001", outside: "203.0.113.1:50001", remote: "any" }],
  },
  {
    caption: "The STUN server answers with the address it saw: XOR-MAPPED-ADDRESS 203.0.113.1:50001. A now knows its public candidate.",
    packets: [{ route: ["stun", "natA", "peerA"], label: "mapped 203.0.113.1:50001" }],
    output: [{ peer: "A", line: "mapped 203.0.113.1:50001" }],
  },
  {
    caption: "Peer B does the same from 192.168.1.10:50002; NAT-B maps it to 198.51.100.1:50002.",
    packets: [{ route: [...UP_B, "stun"], label: "Binding request" }],
    mappings: [{ nat: "B", inside: "192.168.1.10:50002", outside: "198.51.100.1:50002", remote: "any" }],
  },
  {
    caption: "The STUN server tells B: 198.51.100.1:50002.",
    packets: [{ route: ["stun", "natB", "peerB"], label: "mapped 198.51.100.1:50002" }],
    output: [{ peer: "B", line: "mapped 198.51.100.1:50002" }],
  },
  {
    caption: "Signaling: A's candidate goes to B through the signaling server (any channel both can reach).",
    packets: [{ route: ["peerA", "sig", "peerB"], label: "candidate 203.0.113.1:50001", signaling: true }],
  },
  {
    caption: "Signaling: B's candidate goes to A.",
    packets: [{ route: ["peerB", "sig", "peerA"], label: "candidate 198.51.100.1:50002", signaling: true }],
  },
  {
    caption: "Hole punching: A probes B's public address. NAT-A lets B's address in from now on; NAT-B has no permission for A yet and drops it.",
    packets: [{ route: [...UP_A, "natB"], label: "probe", dropped: true }],
    mappings: [{ nat: "A", inside: "10.0.0.5:50001", outside: "203.0.113.1:50001", remote: "198.51.100.1:50002" }],
  },
  {
    caption: "B probes A's public address at the same time: NAT-B opens for A, and NAT-A, which already sent to B, lets it through.",
    packets: [{ route: ["peerB", "natB", "natA", "peerA"], label: "probe" }],
    mappings: [{ nat: "B", inside: "192.168.1.10:50002", outside: "198.51.100.1:50002", remote: "203.0.113.1:50001" }],
  },
  {
    caption: "A answers; both NATs hold mappings for each other. Direct UDP flows between the peers: no server carries their data.",
    packets: [{ route: ["peerA", "natA", "natB", "peerB"], label: "hello from A" }],
    output: [{ peer: "B", line: "direct: from A: hello from A" }],
    path: "direct",
  },
];

const SYMMETRIC = [
  {
    caption: "NAT-A is symmetric. A's Binding request to the STUN server gets a mapping for that one destination: 203.0.113.1:40001.",
    packets: [{ route: [...UP_A, "stun"], label: "Binding request" }],
    mappings: [{ nat: "A", inside: "10.0.0.5:50001", outside: "203.0.113.1:40001", remote: "stun:3478 only" }],
  },
  {
    caption: "STUN answers 203.0.113.1:40001: an address that works for the STUN server, and only for it.",
    packets: [{ route: ["stun", "natA", "peerA"], label: "mapped 203.0.113.1:40001" }],
    output: [{ peer: "A", line: "mapped 203.0.113.1:40001" }],
  },
  {
    caption: "B (behind a cone NAT) learns 198.51.100.1:50002 the same way.",
    packets: [
      { route: [...UP_B, "stun"], label: "Binding request" },
      { route: ["stun", "natB", "peerB"], label: "mapped 198.51.100.1:50002" },
    ],
    mappings: [{ nat: "B", inside: "192.168.1.10:50002", outside: "198.51.100.1:50002", remote: "any" }],
    output: [{ peer: "B", line: "mapped 198.51.100.1:50002" }],
  },
  {
    caption: "Signaling: the candidates cross over.",
    packets: [
      { route: ["peerA", "sig", "peerB"], label: "candidate 203.0.113.1:40001", signaling: true },
      { route: ["peerB", "sig", "peerA"], label: "candidate 198.51.100.1:50002", signaling: true },
    ],
  },
  {
    caption: "A probes B: NAT-A picks a NEW external port for this new destination (40002). NAT-B drops the probe: it has not sent to A yet.",
    packets: [{ route: [...UP_A, "natB"], label: "probe from :40002", dropped: true }],
    mappings: [{ nat: "A", inside: "10.0.0.5:50001", outside: "203.0.113.1:40002", remote: "198.51.100.1:50002" }],
  },
  {
    caption: "B probes the address STUN reported, 203.0.113.1:40001. NAT-A drops it: that mapping only answers the STUN server. Hole punching fails.",
    packets: [{ route: ["peerB", "natB", "natA"], label: "probe to :40001", dropped: true }],
    output: [{ peer: "A", line: "punch: no answer in 3 s" }],
  },
  {
    caption: "A allocates a relay on the TURN server (authenticated Allocate); TURN answers with a relayed address on its own public side.",
    packets: [
      { route: [...UP_A, "turn"], label: "Allocate" },
      { route: ["turn", "natA", "peerA"], label: "relayed 192.0.2.15:49152" },
    ],
    mappings: [{ nat: "A", inside: "10.0.0.5:50001", outside: "203.0.113.1:40003", remote: "turn:3478" }],
    output: [{ peer: "A", line: "relay 192.0.2.15:49152" }],
  },
  {
    caption: "Signaling: A tells B its relayed address.",
    packets: [{ route: ["peerA", "sig", "peerB"], label: "RELAY 192.0.2.15:49152", signaling: true }],
  },
  {
    caption: "B sends to the relay address; TURN forwards each datagram to A through A's mapping. Every byte crosses the internet twice.",
    packets: [
      { route: ["peerB", "natB", "turn"], label: "hello from B" },
      { route: ["turn", "natA", "peerA"], label: "Data indication" },
    ],
    output: [{ peer: "A", line: "relayed: from B: hello from B" }],
    path: "relayed",
  },
];

// A recorded run (events.json of make nat-lab) as steps: one per event. Packets run
// along the segment the event names; the far end is found from the addresses.
function stepsFromEvents(run) {
  if (!run || run.version !== 1 || !Array.isArray(run.events)) {
    throw new Error("not an events.json of version 1 (make nat-lab writes one)");
  }
  const hosts = run.hosts || {};
  const ip = (address) => String(address || "").split(":")[0];
  const turnish = /allocate|permission|refresh|channel|send indication|data indication|relay/i;
  const node = (address, label) => {
    const a = String(address || "");
    if (ip(a) === ip(hosts.peerA)) return "peerA";
    if (ip(a) === ip(hosts.peerB)) return "peerB";
    if (ip(a) === ip(hosts.natA)) return "natA";
    if (ip(a) === ip(hosts.natB)) return "natB";
    if (a === hosts.rendezvous || ip(a) === ip(hosts.rendezvous) && ip(hosts.rendezvous) !== ip(hosts.stun)) return "sig";
    if (ip(a) === ip(hosts.turn) && (turnish.test(label || "") || ip(hosts.turn) !== ip(hosts.stun) || a !== hosts.stun)) return "turn";
    if (ip(a) === ip(hosts.stun)) return "stun";
    return null;
  };
  const steps = [];
  for (const e of run.events) {
    const t = typeof e.t === "number" ? e.t.toFixed(3) + " s: " : "";
    if (e.type === "packet") {
      let from = node(e.from, e.label), to = node(e.to, e.label);
      if (e.segment === "a-lan") [from, to] = from === "peerA" ? ["peerA", "natA"] : ["natA", "peerA"];
      else if (e.segment === "b-lan") [from, to] = from === "peerB" ? ["peerB", "natB"] : ["natB", "peerB"];
      if (!from || !to || from === to) continue;
      steps.push({
        caption: t + (e.label || e.proto || "packet") + ": " + e.from + " → " + e.to + (e.length ? " (" + e.length + " bytes)" : ""),
        packets: [{ route: [from, to], label: e.label || "", signaling: from === "sig" || to === "sig" }],
        event: e,
      });
    } else if (e.type === "mapping") {
      steps.push({
        caption: t + "NAT-" + e.nat + " maps " + e.inside + " to " + e.outside + (e.remote ? " (for " + e.remote + ")" : ""),
        packets: [],
        mappings: [{ nat: e.nat, inside: e.inside, outside: e.outside, remote: e.remote || "" }],
        event: e,
      });
    } else if (e.type === "output") {
      steps.push({ caption: t + "peer " + e.peer + " prints: " + e.line, packets: [], output: [{ peer: e.peer, line: e.line }], event: e });
    } else if (e.type === "path") {
      steps.push({ caption: t + "path: " + e.path, packets: [], path: e.path, event: e });
    }
  }
  return steps;
}

window.NAT_SCENARIOS = { HOSTS, CONE, SYMMETRIC, stepsFromEvents };
