// nat-traversal-stun-turn: the chapter's topology, stepped through in two modes (or a
// recorded run). p5.js global mode, drawn on demand: a packet in flight is animated by
// a timer that redraws, everything else by redraw() when the state changes.

const GREEN = "#2e9b4f";
const AMBER = "#e0a025";
const SLATE = "#5a6b7b";
const INK = "#222";
const FLIGHT_MS = 700; // one packet's trip along its route
const PLAY_GAP_MS = 500; // pause between steps while playing

// Node positions: the wide layout (960 x 600) and the narrow one (400 x 760), in
// their own units, scaled to the canvas.
const WIDE = {
  w: 960, h: 600,
  at: { peerA: [95, 330], natA: [265, 330], stun: [480, 70], sig: [480, 190], turn: [480, 520], natB: [695, 330], peerB: [865, 330] },
};
const NARROW = {
  w: 400, h: 760,
  at: { stun: [200, 48], sig: [200, 135], natA: [85, 250], natB: [315, 250], turn: [200, 455], peerA: [85, 575], peerB: [315, 575] },
};

const S = window.NAT_SCENARIOS;
let mode = "cone";
let steps = S.CONE;
let done = 0; // steps completed
let flight = null; // {step, start} while a step's packets travel
let playing = false;
let playTimer = null;
let showSignaling = true;
let showBandwidth = false;
let recorded = null; // a replayed run: {steps, hosts, source}
let layout = WIDE;
let zoom = 1;

function setup() {
  const canvas = createCanvas(10, 10);
  canvas.parent(document.getElementById("nat-traversal-stun-turn"));
  noLoop();
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => setMode(tab.dataset.mode));
  }
  document.getElementById("step").addEventListener("click", () => {
    stopPlaying();
    stepOnce();
  });
  document.getElementById("play").addEventListener("click", () => (playing ? stopPlaying() : startPlaying()));
  document.getElementById("reset").addEventListener("click", reset);
  document.getElementById("signaling").addEventListener("change", (e) => {
    showSignaling = e.target.checked;
    redraw();
  });
  document.getElementById("bandwidth").addEventListener("change", (e) => {
    showBandwidth = e.target.checked;
    redraw();
  });
  document.getElementById("events-file").addEventListener("change", (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) file.text().then((text) => loadRun(JSON.parse(text), file.name)).catch(showLoadError);
  });
  resize();
  exposeHook();
  const wanted = new URLSearchParams(location.search).get("events");
  if (wanted) {
    fetch(wanted)
      .then((r) => {
        if (!r.ok) throw new Error(wanted + ": HTTP " + r.status);
        return r.json();
      })
      .then((run) => loadRun(run, wanted))
      .catch(showLoadError);
  } else {
    window.__diagram.ready = true;
  }
}

function showLoadError(error) {
  document.getElementById("caption").textContent = "Could not replay the run: " + error.message;
  console.warn("nat-traversal: " + error.message);
  window.__diagram.ready = true;
}

function loadRun(run, source) {
  recorded = { steps: S.stepsFromEvents(run), hosts: run.hosts || {}, source, run };
  document.getElementById("tab-replay").hidden = false;
  setMode("replay");
  window.__diagram.ready = true;
}

function windowResized() {
  resize();
}

function resize() {
  const box = document.getElementById("nat-traversal-stun-turn");
  const room = Math.min(box.clientWidth || 960, document.documentElement.clientWidth - 24);
  const W = Math.max(300, Math.min(960, Math.floor(room)));
  layout = W < 600 ? NARROW : WIDE;
  zoom = W / layout.w;
  resizeCanvas(W, Math.round(layout.h * zoom));
  redraw();
}

function setMode(next) {
  if (next === "replay" && !recorded) return;
  stopPlaying();
  mode = next;
  steps = next === "cone" ? S.CONE : next === "symmetric" ? S.SYMMETRIC : recorded.steps;
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  }
  reset();
}

function reset() {
  stopPlaying();
  done = 0;
  flight = null;
  caption();
  redraw();
}

// Starts the next step: its packets fly, then its mappings and lines apply.
function stepOnce() {
  if (flight) finishFlight();
  if (done >= steps.length) return false;
  const step = steps[done];
  const visible = step.packets.filter((p) => showSignaling || !p.signaling);
  if (visible.length === 0) {
    done++;
    caption();
    redraw();
    return true;
  }
  flight = { step, start: millis() };
  const timer = setInterval(() => {
    if (!flight || flight.step !== step) return clearInterval(timer);
    if (millis() - flight.start >= FLIGHT_MS) {
      clearInterval(timer);
      finishFlight();
    }
    redraw();
  }, 30);
  caption(step);
  redraw();
  return true;
}

function finishFlight() {
  if (!flight) return;
  flight = null;
  done++;
  caption();
  if (playing) playTimer = setTimeout(playNext, PLAY_GAP_MS);
}

function playNext() {
  if (!playing) return;
  if (!stepOnce()) return stopPlaying();
  if (!flight && playing) playTimer = setTimeout(playNext, PLAY_GAP_MS);
}

function startPlaying() {
  if (done >= steps.length) reset();
  playing = true;
  document.getElementById("play").textContent = "Pause";
  playNext();
}

function stopPlaying() {
  playing = false;
  clearTimeout(playTimer);
  document.getElementById("play").textContent = "Play";
}

function caption(current) {
  const el = document.getElementById("caption");
  const step = current || steps[done - 1];
  const prefix = mode === "replay" ? "Recorded run (" + recorded.source + "), " : "";
  if (!step) {
    el.textContent = prefix + "Press Step or Play. " + (mode === "cone"
      ? "Both NATs are cone NATs: one mapping per inside address, whatever the destination."
      : mode === "symmetric"
        ? "NAT-A is symmetric: a new external port for every destination."
        : steps.length + " events.");
    return;
  }
  const hidden = !showSignaling && step.packets.some((p) => p.signaling) ? " (signaling messages hidden)" : "";
  el.textContent = prefix + "step " + (steps.indexOf(step) + 1) + " of " + steps.length + ": " + step.caption + hidden;
}

// What the steps done so far have built: mappings per NAT, lines printed, the path.
function world() {
  const tables = { A: [], B: [] };
  const output = { A: [], B: [] };
  let path = null;
  let relayedBytes = 0;
  let directBytes = 0;
  for (const step of steps.slice(0, done)) {
    for (const m of step.mappings || []) {
      const table = tables[m.nat] || (tables[m.nat] = []);
      if (!table.some((x) => x.inside === m.inside && x.outside === m.outside && x.remote === m.remote)) table.push(m);
    }
    for (const o of step.output || []) (output[o.peer] || (output[o.peer] = [])).push(o.line);
    if (step.path) path = step.path;
  }
  if (mode === "replay" && recorded.run.path && done >= steps.length) path = recorded.run.path;
  if (path === "relayed") relayedBytes = mode === "replay" && recorded.run.relayBytes ? recorded.run.relayBytes : 1000;
  if (path === "direct") directBytes = 1000;
  return { tables, output, path, relayedBytes, directBytes };
}

function P(id) {
  const [x, y] = layout.at[id];
  return [x * zoom, y * zoom];
}

function draw() {
  background("#fffdf8");
  const w = world();
  const narrow = layout === NARROW;
  // The internet between the NATs
  noStroke();
  fill("#eef2f5");
  const [ax] = P("natA"), [bx] = P("natB");
  if (narrow) rect(10 * zoom, 10 * zoom, width - 20 * zoom, P("natA")[1] + 40 * zoom, 14 * zoom);
  else rect(ax + 40 * zoom, 20 * zoom, bx - ax - 80 * zoom, height - 40 * zoom, 16 * zoom);
  fill("#8a99a8");
  textAlign(LEFT, TOP);
  textSize(11 * Math.max(zoom, 0.8));
  text("the internet", narrow ? 16 * zoom : ax + 50 * zoom, narrow ? 14 * zoom : 26 * zoom);

  // Links (thin grey), then the established path over them
  stroke("#c9c2b4");
  strokeWeight(1.5);
  for (const [a, b] of [["peerA", "natA"], ["natA", "stun"], ["natA", "turn"], ["natA", "natB"], ["natB", "stun"], ["natB", "turn"], ["natB", "peerB"]]) {
    line(...P(a), ...P(b));
  }
  if (showSignaling) {
    drawingContext.setLineDash([4, 4]);
    stroke("#b9a6d6");
    line(...P("peerA"), ...P("sig"));
    line(...P("sig"), ...P("peerB"));
    drawingContext.setLineDash([]);
  }
  if (w.path === "direct") drawPath(["peerA", "natA", "natB", "peerB"], GREEN, w.directBytes);
  if (w.path === "relayed") drawPath(["peerB", "natB", "turn", "natA", "peerA"], AMBER, w.relayedBytes);

  // Nodes
  const hosts = mode === "replay" ? recorded.hosts : null;
  drawServer("stun", "STUN server", hosts ? hosts.stun : S.HOSTS.stun);
  drawServer("turn", "TURN relay", hosts ? hosts.turn : S.HOSTS.turn);
  if (showSignaling) drawSignaling(hosts ? hosts.rendezvous : "candidates");
  drawPeer("peerA", "Peer A", hosts ? hosts.peerA : S.HOSTS.peerA, w.output.A);
  drawPeer("peerB", "Peer B", hosts ? hosts.peerB : S.HOSTS.peerB, w.output.B);
  drawNat("natA", "NAT-A", hosts ? hosts.natA : S.HOSTS.natA, w.tables.A, "left");
  drawNat("natB", "NAT-B", hosts ? hosts.natB : S.HOSTS.natB, w.tables.B, "right");

  if (showBandwidth) drawBandwidth(w);
  if (flight) drawFlight();
}

function drawPath(route, colour, bytes) {
  const weight = (showBandwidth ? 5 : 4) * Math.max(zoom, 0.7);
  stroke(colour);
  strokeWeight(weight);
  noFill();
  for (let i = 0; i + 1 < route.length; i++) line(...P(route[i]), ...P(route[i + 1]));
}

function label(s, x, y, size, colour, style) {
  noStroke();
  fill(colour || INK);
  textStyle(style || NORMAL);
  textSize(size * Math.max(zoom, 0.75));
  text(s, x, y);
  textStyle(NORMAL);
}

function drawPeer(id, name, address, lines) {
  const [x, y] = P(id);
  const w = 150 * Math.max(zoom, 0.62), h = 92 * Math.max(zoom, 0.6);
  stroke(INK);
  strokeWeight(1.5);
  fill("#fff");
  rect(x - w / 2, y - h / 2, w, h, 12);
  // a laptop: screen and base
  const s = Math.max(zoom, 0.6);
  fill("#dfe8f1");
  rect(x - 16 * s, y - h / 2 + 8 * s, 32 * s, 20 * s, 2);
  fill("#9aa7b4");
  noStroke();
  quad(x - 22 * s, y - h / 2 + 29 * s, x + 22 * s, y - h / 2 + 29 * s, x + 26 * s, y - h / 2 + 34 * s, x - 26 * s, y - h / 2 + 34 * s);
  textAlign(CENTER, TOP);
  label(name, x, y - h / 2 + 38 * s, 13, INK, BOLD);
  label(address, x, y - h / 2 + 54 * s, 10.5, "#444");
  if (lines.length) label(fitted(lines[lines.length - 1], w - 6, 9.5), x, y - h / 2 + 70 * s, 9.5, "#7a5200");
}

function fitted(s, room, size) {
  textSize(size * Math.max(zoom, 0.75));
  let t = s;
  while (t.length > 4 && textWidth(t) > room) t = t.slice(0, -2);
  return t === s ? s : t + "…";
}

function hexagon(x, y, r) {
  beginShape();
  for (let i = 0; i < 6; i++) vertex(x + r * cos(PI / 6 + (i * PI) / 3), y + r * sin(PI / 6 + (i * PI) / 3));
  endShape(CLOSE);
}

function drawNat(id, name, address, table, side) {
  const [x, y] = P(id);
  const r = 44 * Math.max(zoom, 0.7);
  stroke(SLATE);
  strokeWeight(2);
  fill("#f3f6f9");
  hexagon(x, y, r);
  textAlign(CENTER, CENTER);
  label(name, x, y - 8 * Math.max(zoom, 0.7), 13, INK, BOLD);
  label(address, x, y + 10 * Math.max(zoom, 0.7), 9.5, "#444");
  // The translation table beside the hexagon, growing with the mappings
  const narrow = layout === NARROW;
  const tw = (narrow ? 190 : 262) * Math.max(zoom, 0.85);
  const rowH = 13 * Math.max(zoom, 0.8);
  const tx = narrow ? Math.min(Math.max(x - tw / 2, 4), width - tw - 4) : side === "left" ? x - tw / 2 : x - tw / 2;
  const ty = narrow ? y + r + 4 : y + r + 10 * zoom;
  stroke(SLATE);
  strokeWeight(1);
  fill("#fff");
  rect(tx, ty, tw, rowH * (Math.max(table.length, 1) + 1) + 4, 4);
  textAlign(LEFT, TOP);
  label("inside → outside  for", tx + 4, ty + 2, 8.5, SLATE, BOLD);
  if (!table.length) label("(empty)", tx + 4, ty + 2 + rowH, 8.5, "#888");
  table.forEach((m, i) => {
    label(fitted(m.inside + " → " + m.outside + "  " + m.remote, tw - 8, 8.5), tx + 4, ty + 2 + rowH * (i + 1), 8.5, INK);
  });
}

function cloud(x, y, s) {
  noStroke();
  fill("#cfe0f0");
  ellipse(x - 9 * s, y + 2 * s, 16 * s, 12 * s);
  ellipse(x, y - 3 * s, 18 * s, 16 * s);
  ellipse(x + 9 * s, y + 2 * s, 16 * s, 12 * s);
  rect(x - 13 * s, y + 1 * s, 26 * s, 7 * s, 3);
}

function drawServer(id, name, address) {
  const [x, y] = P(id);
  const s = Math.max(zoom, 0.62);
  const w = 170 * s, h = 64 * s;
  stroke(id === "turn" ? AMBER : SLATE);
  strokeWeight(1.5);
  fill("#fff");
  rect(x - w / 2, y - h / 2, w, h, 12);
  cloud(x - w / 2 + 24 * s, y - 4 * s, s);
  textAlign(LEFT, CENTER);
  label(name, x - w / 2 + 44 * s, y - 9 * s, 12.5, INK, BOLD);
  label(fitted(address || "", w - 50 * s, 9.5), x - w / 2 + 44 * s, y + 9 * s, 9.5, "#444");
}

function drawSignaling(address) {
  const [x, y] = P("sig");
  const s = Math.max(zoom, 0.62);
  const w = 120 * s, h = 36 * s;
  stroke("#8e6fc0");
  strokeWeight(1.2);
  fill("#f6f1fc");
  rect(x - w / 2, y - h / 2, w, h, 8);
  textAlign(CENTER, CENTER);
  label("signaling", x, y - 6 * s, 11, "#5b3f8c", BOLD);
  label(fitted(address || "", w - 8, 8.5), x, y + 8 * s, 8.5, "#5b3f8c");
}

// The bytes on the wire for 1000 bytes of payload: direct crosses once, relayed twice.
function drawBandwidth(w) {
  const s = Math.max(zoom, 0.75);
  const x = 12 * s, y = height - 52 * s;
  const bw = (layout === NARROW ? 150 : 220) * s;
  noStroke();
  fill(255, 255, 255, 230);
  rect(x - 4, y - 16 * s, bw + 120 * s, 66 * s, 6);
  textAlign(LEFT, CENTER);
  label("bytes on the wire per 1000 B sent", x, y - 6 * s, 10, INK, BOLD);
  const direct = 1000, relayed = 2000;
  fill(GREEN);
  rect(x, y + 6 * s, (bw * direct) / relayed, 10 * s);
  label("direct: " + direct + " B", x + (bw * direct) / relayed + 6, y + 11 * s, 9.5, GREEN);
  fill(AMBER);
  rect(x, y + 24 * s, bw, 10 * s);
  label("relayed: " + relayed + " B (in and out of TURN)", x + bw + 6, y + 29 * s, 9.5, "#8a5a00");
  if (w.path === "relayed" && mode === "replay" && recorded.run.relayBytes) {
    label("this run: TURN relayed " + recorded.run.relayBytes + " B", x, y + 44 * s, 9, "#8a5a00");
  }
  // the path in use drawn thicker: the relay's two legs each carry every byte
  if (w.path === "relayed") {
    stroke(AMBER);
    strokeWeight(2);
    noFill();
    const [tx, ty] = P("turn");
    ellipse(tx, ty, 200 * s, 84 * s);
  }
}

function drawFlight() {
  const t = Math.min(1, (millis() - flight.start) / FLIGHT_MS);
  for (const p of flight.step.packets) {
    if (p.signaling && !showSignaling) continue;
    const pts = p.route.map(P);
    const lengths = [];
    let total = 0;
    for (let i = 0; i + 1 < pts.length; i++) {
      const d = dist(...pts[i], ...pts[i + 1]);
      lengths.push(d);
      total += d;
    }
    // a dropped packet stops short of the NAT that drops it
    let along = t * total * (p.dropped ? 0.92 : 1);
    let i = 0;
    while (i < lengths.length - 1 && along > lengths[i]) along -= lengths[i++];
    const f = lengths[i] ? along / lengths[i] : 1;
    const x = lerp(pts[i][0], pts[i + 1][0], f), y = lerp(pts[i][1], pts[i + 1][1], f);
    const colour = p.signaling ? "#8e6fc0" : mode === "symmetric" && p.route.includes("turn") ? AMBER : SLATE;
    stroke(colour);
    strokeWeight(2.5);
    drawingContext.setLineDash([6, 4]);
    for (let k = 0; k < i; k++) line(...pts[k], ...pts[k + 1]);
    line(...pts[i], x, y);
    drawingContext.setLineDash([]);
    noStroke();
    fill(colour);
    ellipse(x, y, 12 * Math.max(zoom, 0.7));
    textAlign(CENTER, BOTTOM);
    label(p.label, x, y - 8, 10, colour, BOLD);
    if (p.dropped && t >= 0.95) {
      stroke("#c0392b");
      strokeWeight(3);
      line(x - 8, y - 8, x + 8, y + 8);
      line(x - 8, y + 8, x + 8, y - 8);
    }
  }
}

// For the tests and the curious: the state, and what the steps so far have drawn.
function exposeHook() {
  window.__diagram = {
    id: "nat-traversal-stun-turn",
    ready: false,
    state: () => {
      const w = world();
      return {
        mode,
        step: done,
        steps: steps.length,
        inFlight: flight ? flight.step.packets.filter((p) => showSignaling || !p.signaling).map((p) => p.label) : [],
        playing,
        signaling: showSignaling,
        bandwidth: showBandwidth,
        path: w.path,
        tables: w.tables,
        output: w.output,
        replay: recorded ? { source: recorded.source, steps: recorded.steps.length } : null,
        width,
        height,
        caption: document.getElementById("caption").textContent,
      };
    },
    canvas: () => document.querySelector("#nat-traversal-stun-turn canvas"),
  };
}
