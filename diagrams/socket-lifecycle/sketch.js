// socket-lifecycle-diagram: three lanes of system calls, drawn from lifecycle.json
// (scripts/diagram-data writes it from strace and the kit's sources). p5.js global
// mode; drawing happens on demand (noLoop + redraw): nothing moves unless asked.

const AMBER = "#e0a025";
const AMBER_SOFT = "#fbecc8";
const SLATE = "#5a6b7b";
const SLATE_SOFT = "#dde3e9";
const INK = "#222";
const MAX_W = 960;
const MIN_H = 640;

let data = null;
let showNonBlocking = false;
let showStates = false;
let selected = null; // the id of the clicked item
let items = []; // what is drawn: {id, lane, label, x, y, w, h, kind, step}
let links = []; // arrows: {kind, proto, from:{x,y}, to:{x,y}, label}
let flavorTab = "c";

// Calls that wait for the network, and what their non-blocking form does instead.
const BLOCKING = {
  accept: { error: "EAGAIN", wait: "poll POLLIN" },
  connect: { error: "EINPROGRESS", wait: "poll POLLOUT" },
  recv: { error: "EAGAIN", wait: "poll POLLIN" },
  send: { error: "EAGAIN", wait: "poll POLLOUT" },
  recvfrom: { error: "EAGAIN", wait: "poll POLLIN" },
};

// The TCP states of the server's sockets after each of its calls: the listening
// socket (fd 3) and the connection accept returns (fd 4). tcp-hello's server sends
// its answer and closes first, so its side of the connection takes the active close.
const STATES = {
  socket: "fd 3: CLOSED",
  setsockopt: "fd 3: CLOSED",
  bind: "fd 3: CLOSED",
  listen: "fd 3: LISTEN",
  accept: "fd 4: SYN_RCVD → ESTABLISHED",
  recv: "fd 4: ESTABLISHED",
  send: "fd 4: ESTABLISHED",
  "close 4": "fd 4: FIN_WAIT_1 → FIN_WAIT_2 → TIME_WAIT (closed first; had the client closed first: CLOSE_WAIT → LAST_ACK)",
  "close 3": "fd 3: LISTEN → CLOSED",
};

function preload() {
  data = loadJSON("lifecycle.json");
}

function setup() {
  const box = document.getElementById("socket-lifecycle-diagram");
  const canvas = createCanvas(targetWidth(), MIN_H);
  canvas.parent(box);
  textFont("ui-monospace, DejaVu Sans Mono, monospace");
  noLoop();
  document.getElementById("nonblocking").addEventListener("change", (e) => {
    showNonBlocking = e.target.checked;
    relayout();
    showPanel();
  });
  document.getElementById("states").addEventListener("change", (e) => {
    showStates = e.target.checked;
    relayout();
  });
  document.getElementById("panel-close").addEventListener("click", () => {
    selected = null;
    showPanel();
    relayout();
  });
  relayout();
  exposeHook();
}

function targetWidth() {
  const box = document.getElementById("socket-lifecycle-diagram");
  const room = Math.min(box.clientWidth || MAX_W, document.documentElement.clientWidth - 24);
  return Math.max(320, Math.min(MAX_W, Math.floor(room)));
}

function windowResized() {
  relayout();
}

// The lanes as rows: each item one row below the one before it in its lane; a
// connect level with its accept (the handshake); a receive no higher than the send
// whose bytes it takes.
function relayout() {
  const W = targetWidth();
  const lanes = data.lanes;
  const laneW = W / lanes.length;
  const compact = W < 600;
  const boxW = Math.min(136, laneW - (compact ? 14 : 40));
  const boxH = compact ? 26 : 30;
  const rowH = (compact ? 38 : 44) + (showStates ? 16 : 0);
  const top = compact ? 48 : 58;

  items = [];
  lanes.forEach((lane, li) => {
    for (const step of lane.steps) {
      const label = step.call + (step.call === "close" && step.fd !== null ? " " + step.fd : "");
      items.push({ id: step.id, lane: li, label, kind: step.optional ? "optional" : "call", step });
      if (showNonBlocking && step.call === "socket") {
        items.push({ id: step.id + "-fcntl", lane: li, label: "fcntl O_NONBLOCK", kind: "variant", call: "fcntl" });
      }
      if (showNonBlocking && BLOCKING[step.call]) {
        items.push({
          id: step.id + "-poll", lane: li, label: BLOCKING[step.call].wait, kind: "variant", call: "poll",
          retry: step.id, error: BLOCKING[step.call].error,
        });
      }
    }
  });
  const row = new Map();
  const byLane = lanes.map((_, li) => items.filter((it) => it.lane === li));
  byLane.forEach((list) => list.forEach((it, i) => row.set(it.id, i)));
  // A blocking call's poll sits beside it; the call's retry is the same box
  const syncs = data.arrows.filter((a) => a.proto === "tcp");
  for (let pass = 0; pass < 30; pass++) {
    let changed = false;
    for (const a of syncs) {
      const from = anchor(a.from), to = anchor(a.to);
      // data arrives after it was sent: one row lower
      const r = a.kind === "handshake" ? Math.max(row.get(from), row.get(to)) : row.get(from) + 1;
      for (const id of a.kind === "handshake" ? [from, to] : [to]) {
        if (row.get(id) < r) { row.set(id, r); changed = true; }
      }
    }
    for (const list of byLane) {
      for (let i = 1; i < list.length; i++) {
        if (row.get(list[i].id) < row.get(list[i - 1].id) + 1) {
          row.set(list[i].id, row.get(list[i - 1].id) + 1);
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  const lastRow = Math.max(...items.map((it) => row.get(it.id)));
  // At full width the rows spread over the specified 640 px
  const spread = compact ? rowH : Math.max(rowH, Math.min(64, (MIN_H - top - 30) / (lastRow + 1)));
  for (const it of items) {
    const r = row.get(it.id);
    const udpRoom = lanes[it.lane].proto === "udp" ? (compact ? 16 : 30) : 0;
    const w = it.kind === "variant" ? boxW * 0.92 : boxW;
    it.w = w;
    it.h = boxH;
    it.x = it.lane * laneW + (laneW - udpRoom - w) / 2;
    it.y = top + r * spread;
    it.row = r;
  }
  const H = Math.max(compact ? 0 : MIN_H, top + (lastRow + 1) * spread + 24);
  if (width !== W || height !== H) resizeCanvas(W, H);
  links = buildLinks(laneW, compact);
  redraw();
}

// An arrow between lanes starts and ends at the boxes its step ids name.
function anchor(id) {
  return id;
}

function itemById(id) {
  return items.find((it) => it.id === id);
}

function buildLinks(laneW, compact) {
  const found = [];
  for (const a of data.arrows) {
    if (a.proto === "tcp") {
      const from = itemById(a.from), to = itemById(a.to);
      if (!from || !to) continue;
      const leftToRight = from.x < to.x;
      found.push({
        kind: a.kind, proto: "tcp", label: a.label,
        from: { x: leftToRight ? from.x + from.w : from.x, y: from.y + from.h / 2 },
        to: { x: leftToRight ? to.x : to.x + to.w, y: to.y + to.h / 2 },
      });
    }
  }
  // UDP: the lane's peer and udp-hello-server, a bar at the lane's right edge
  const udpLane = data.lanes.findIndex((l) => l.proto === "udp");
  const udp = data.arrows.filter((a) => a.proto === "udp");
  const ends = udp.map((a) => itemById(a.from === "udp-server" ? a.to : a.from)).filter(Boolean);
  if (ends.length) {
    const barX = (udpLane + 1) * laneW - (compact ? 12 : 22);
    const y0 = Math.min(...ends.map((e) => e.y)) - 30;
    const y1 = Math.max(...ends.map((e) => e.y + e.h)) + 30;
    found.push({ kind: "udp-server", x: barX, y: y0, w: compact ? 10 : 16, h: y1 - y0 });
    for (const a of udp) {
      const peer = itemById(a.from === "udp-server" ? a.to : a.from);
      if (!peer) continue;
      const py = peer.y + peer.h / 2;
      const out = a.from !== "udp-server";
      found.push({
        kind: "datagram", proto: "udp", label: a.label,
        from: out ? { x: peer.x + peer.w, y: py } : { x: barX, y: py },
        to: out ? { x: barX, y: py } : { x: peer.x + peer.w, y: py },
      });
    }
  }
  return found;
}

function draw() {
  background("#fffdf8");
  const lanes = data.lanes;
  const laneW = width / lanes.length;
  const compact = width < 600;
  // Lane titles and dividers
  lanes.forEach((lane, li) => {
    const colour = lane.proto === "udp" ? SLATE : AMBER;
    noStroke();
    fill(lane.proto === "udp" ? "#f1f4f7" : "#fdf6e6");
    rect(li * laneW + 4, 4, laneW - 8, height - 8, 10);
    fill(colour);
    textAlign(CENTER, TOP);
    textStyle(BOLD);
    textFont("system-ui, sans-serif");
    textSize(compact ? 12 : 17);
    text(lane.title, li * laneW + laneW / 2, compact ? 8 : 12);
    textStyle(NORMAL);
    textFont("ui-monospace, DejaVu Sans Mono, monospace");
    fill("#777");
    textSize(compact ? 8 : 11);
    text(lane.program, li * laneW + laneW / 2, compact ? 24 : 33);
  });
  // Arrows under the boxes
  for (const l of links) {
    if (l.kind === "udp-server") {
      noStroke();
      fill(SLATE);
      rect(l.x, l.y, l.w, l.h, 4);
      push();
      translate(l.x + l.w / 2, l.y + l.h / 2);
      rotate(-HALF_PI);
      fill("#fff");
      textAlign(CENTER, CENTER);
      const name = compact ? "server" : "udp-hello-server";
      textSize(fitText(name, l.h - 6, compact ? 8 : 10));
      text(name, 0, 0);
      pop();
    } else {
      drawArrow(l, compact);
    }
  }
  // Boxes
  for (const it of items) {
    const lane = lanes[it.lane];
    const colour = lane.proto === "udp" ? SLATE : AMBER;
    const soft = lane.proto === "udp" ? SLATE_SOFT : AMBER_SOFT;
    strokeWeight(it.id === selected ? 3 : 1.5);
    stroke(colour);
    fill(it.id === selected ? soft : "#fff");
    if (it.kind === "optional" || it.kind === "variant") drawingContext.setLineDash([5, 4]);
    rect(it.x, it.y, it.w, it.h, 8);
    drawingContext.setLineDash([]);
    noStroke();
    fill(it.kind === "variant" ? "#7a5a10" : INK);
    textAlign(CENTER, CENTER);
    textSize(fitText(it.label + (it.kind === "optional" ? " (optional)" : ""), it.w - 8, compact ? 11 : 13));
    text(it.label + (it.kind === "optional" ? " (optional)" : ""), it.x + it.w / 2, it.y + it.h / 2);
    if (it.kind === "variant" && it.retry) {
      drawRetry(it, itemById(it.retry), colour, compact);
    }
    if (showStates && lane.id === "tcp-server" && it.step) {
      const key = it.step.call === "close" ? "close " + it.step.fd : it.step.call;
      const state = STATES[key];
      if (state) {
        const label = state.split(" (")[0];
        textSize(fitText(label, laneW - 10, compact ? 8 : 10));
        const tw = textWidth(label) + 10;
        const sx = it.lane * laneW + laneW / 2 - tw / 2;
        stroke(AMBER);
        strokeWeight(1);
        fill("#fff6df");
        rect(sx, it.y + it.h + 2, tw, 13, 6);
        noStroke();
        fill("#7a5200");
        text(label, sx + tw / 2, it.y + it.h + 8.5);
      }
    }
  }
}

// Text size that makes `s` fit in `room` pixels, at most `size`.
function fitText(s, room, size) {
  textSize(size);
  const w = textWidth(s);
  return w <= room ? size : Math.max(6, (size * room) / w);
}

function drawArrow(l, compact) {
  const colour = l.proto === "udp" ? SLATE : AMBER;
  stroke(colour);
  strokeWeight(l.kind === "handshake" ? 2 : 1.5);
  if (l.kind === "handshake") drawingContext.setLineDash([7, 5]);
  line(l.from.x, l.from.y, l.to.x, l.to.y);
  drawingContext.setLineDash([]);
  const angle = atan2(l.to.y - l.from.y, l.to.x - l.from.x);
  const size = l.kind === "data" || l.kind === "datagram" ? 7 : 9;
  push();
  translate(l.to.x, l.to.y);
  rotate(angle);
  noStroke();
  fill(colour);
  triangle(0, 0, -size, -size / 2, -size, size / 2);
  if (l.kind === "handshake") {
    // the handshake goes both ways: a head at the start too
    pop();
    push();
    translate(l.from.x, l.from.y);
    rotate(angle + PI);
    noStroke();
    fill(colour);
    triangle(0, 0, -size, -size / 2, -size, size / 2);
  }
  pop();
  if (!compact && l.proto === "tcp") {
    noStroke();
    fill("#6b4c00");
    const label = l.kind === "handshake" ? "handshake: " + l.label : l.label;
    const mx = (l.from.x + l.to.x) / 2, my = (l.from.y + l.to.y) / 2;
    push();
    translate(mx, my);
    rotate(Math.abs(angle) > HALF_PI ? angle + PI : angle); // never upside down
    textSize(fitText(label, dist(l.from.x, l.from.y, l.to.x, l.to.y) - 16, 10));
    textAlign(CENTER, BOTTOM);
    text(label, 0, -3);
    pop();
  }
}

// The EAGAIN path: the call fails with EAGAIN (EINPROGRESS), waits in poll, retries.
function drawRetry(poll, call, colour, compact) {
  if (!call) return;
  const x = poll.x + poll.w + 3;
  stroke(colour);
  strokeWeight(1.2);
  noFill();
  drawingContext.setLineDash([3, 3]);
  // down from the call to poll, on the left: -1 EAGAIN
  const lx = call.x - 4;
  bezier(lx, call.y + call.h / 2, lx - 14, call.y + call.h, lx - 14, poll.y, poll.x - 2, poll.y + poll.h / 2);
  // back up on the right: ready, call again
  bezier(x, poll.y + poll.h / 2, x + 12, poll.y, x + 12, call.y + call.h, call.x + call.w + 2, call.y + call.h / 2);
  drawingContext.setLineDash([]);
  noStroke();
  fill(colour);
  textSize(compact ? 7 : 9);
  textAlign(RIGHT, CENTER);
  text("-1 " + poll.error, lx - 2, (call.y + poll.y + poll.h) / 2 + 2);
}

function mousePressed() {
  if (mouseX < 0 || mouseY < 0 || mouseX > width || mouseY > height) return;
  const hit = items.find((it) => mouseX >= it.x && mouseX <= it.x + it.w && mouseY >= it.y && mouseY <= it.y + it.h);
  if (!hit) return;
  chooseItem(hit.id);
}

function chooseItem(id) {
  selected = id;
  flavorTab = "c";
  showPanel();
  relayout();
}

function showPanel() {
  const panel = document.getElementById("panel");
  const it = selected && itemById(selected);
  if (!it) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const lane = data.lanes[it.lane];
  const call = it.step ? it.step.call : it.call;
  const notes = data.notes[call] || {};
  panel.className = lane.proto;
  document.getElementById("panel-title").textContent = it.label;
  const program = it.step && it.step.program ? it.step.program : lane.program;
  document.getElementById("panel-where").textContent = it.step
    ? (it.step.optional
        ? "Optional: udp-hello-client never binds (the kernel gives it a port at its first sendto); " +
          program + " does, and this is its call."
        : lane.title + " · " + program)
    : "The non-blocking variant (" + lane.title + "): not in tcp-hello, whose calls block.";
  document.getElementById("panel-signature").textContent = notes.signature || "";
  document.getElementById("panel-trace").textContent = it.step
    ? it.step.trace + (it.step.syscall !== it.step.call ? "\n(" + it.step.call + " is the " + it.step.syscall + " system call)" : "")
    : "(not traced: tcp-hello blocks instead)";
  // Code, one tab per flavor, and Python
  const tabs = document.getElementById("panel-tabs");
  tabs.innerHTML = "";
  const code = (it.step && it.step.code) || {};
  const choices = [
    ["c", "C"],
    ["swift", "Swift (Glibc)"],
    ["swift-sockets", "swift-sockets"],
    ["python", "Python"],
  ].filter(([key]) => key === "python" ? notes.python : code[key]);
  if (!choices.some(([key]) => key === flavorTab)) flavorTab = choices.length ? choices[0][0] : "python";
  for (const [key, name] of choices) {
    const b = document.createElement("button");
    b.className = "tab";
    b.textContent = name;
    b.dataset.flavor = key;
    b.setAttribute("role", "tab");
    b.setAttribute("aria-selected", String(key === flavorTab));
    b.addEventListener("click", () => {
      flavorTab = key;
      showPanel();
    });
    tabs.appendChild(b);
  }
  const pre = document.getElementById("panel-code");
  const source = document.getElementById("panel-source");
  if (flavorTab === "python") {
    pre.textContent = notes.python || "";
    source.textContent = "Python's socket module, as the chapter writes it.";
  } else if (code[flavorTab]) {
    const c = code[flavorTab];
    pre.textContent = c.text || c.note;
    source.textContent = c.line ? c.file + ", line " + c.line : c.file;
  } else {
    pre.textContent = "";
    source.textContent = "";
  }
  document.getElementById("panel-blocks").textContent = notes.blocks || "";
  document.getElementById("panel-errors").textContent = notes.errors || "";
  const nb = document.getElementById("panel-nonblocking");
  nb.hidden = !(showNonBlocking && notes.nonblocking);
  nb.querySelector("p").textContent = notes.nonblocking || "";
}

// For the tests and the curious: what is drawn, where, and a way to click it.
function exposeHook() {
  window.__diagram = {
    id: "socket-lifecycle-diagram",
    ready: true,
    state: () => ({
      selected,
      nonBlocking: showNonBlocking,
      states: showStates,
      width,
      height,
      items: items.map((it) => ({ id: it.id, label: it.label, kind: it.kind, x: it.x, y: it.y, w: it.w, h: it.h })),
      arrows: links.filter((l) => l.kind !== "udp-server").map((l) => ({ kind: l.kind, proto: l.proto, label: l.label })),
      panel: document.getElementById("panel").hidden ? null : document.getElementById("panel-title").textContent,
    }),
    choose: (id) => chooseItem(id),
    canvas: () => document.querySelector("#socket-lifecycle-diagram canvas"),
  };
}
