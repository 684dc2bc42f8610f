// The safe route of any pair, in the browser (maps/safe_route.py router_blob; docs/safe-route.md "Routing in the
// browser"). Joined before safe_route.js into one scope. SafeRouter(head) takes the unpacked blob (packed.js) and
// answers route(a, b) for two [lat, lon] points exactly as civicmash.analysis.route_planner.plan_routes does:
// both ends snapped into one street network (WalkGraph.snap_pair), one exact search per weighting of the sweep
// length * (1 + c * density / p95(density)) (the compiled engine's bidirectional A*, analysis/_fastroute.c, with a
// straight-line potential instead of landmarks), the distinct routes summed with numpy's pairwise summation and
// rounded as Python rounds, the Pareto front, the recommendation and the words. Lengths and exposures are the
// planner's float64 values (carried word by word), so the numbers are the planner's, bit for bit.
function SafeRouter(head) {
  "use strict";
  var K = head.cols, N = head.nodes, M = head.edges, SHRINK = 1 - 1e-9, MIN_WEIGHT = 1e-3;
  var i, j, e;

  // ---- the arrays ----------------------------------------------------------------------------------------------
  var lat = new Float64Array(N), lon = new Float64Array(N), x = new Float64Array(N), y = new Float64Array(N);
  for (i = 0; i < N; i++) {
    lat[i] = K.lat[i] / head.coord_scale; lon[i] = K.lon[i] / head.coord_scale;
    x[i] = (lon[i] - head.lon0) * head.kx; y[i] = (lat[i] - head.lat0) * head.ky;   // WalkGraph.project
  }
  var little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  function doubles(lo, hi) {  // float64 from its two 32-bit words (maps/safe_route.py _float64_words)
    var out = new Float64Array(M), w = new Uint32Array(out.buffer), a = little ? 0 : 1, b = 1 - a;
    for (var k = 0; k < M; k++) { w[2 * k + a] = lo[k]; w[2 * k + b] = hi[k]; }
    return out;
  }
  var length = doubles(K.len_lo, K.len_hi), risk = doubles(K.risk_lo, K.risk_hi);
  var eu = K.u, ev = K.v, eidBase = Number(head.eid_base);
  var density = new Float64Array(M);
  for (e = 0; e < M; e++) { var L0 = length[e]; density[e] = risk[e] / (L0 > 1.0 ? L0 : 1.0); }

  // CSR adjacency, each node's neighbours in ascending order (as scipy's CSR the planner searches)
  var indptr = new Int32Array(N + 1), nbr = new Int32Array(2 * M), edgeOf = new Int32Array(2 * M);
  for (e = 0; e < M; e++) { indptr[eu[e] + 1]++; indptr[ev[e] + 1]++; }
  for (i = 0; i < N; i++) indptr[i + 1] += indptr[i];
  var fill = indptr.slice(0, N);
  for (e = 0; e < M; e++) {
    nbr[fill[eu[e]]] = ev[e]; edgeOf[fill[eu[e]]++] = e;
    nbr[fill[ev[e]]] = eu[e]; edgeOf[fill[ev[e]]++] = e;
  }
  for (i = 0; i < N; i++) {  // insertion sort per row (degrees are small)
    for (j = indptr[i] + 1; j < indptr[i + 1]; j++) {
      var kn = nbr[j], ke = edgeOf[j], p = j - 1;
      while (p >= indptr[i] && nbr[p] > kn) { nbr[p + 1] = nbr[p]; edgeOf[p + 1] = edgeOf[p]; p--; }
      nbr[p + 1] = kn; edgeOf[p + 1] = ke;
    }
  }
  // street networks: the connected components of the walkable graph (WalkGraph.networks)
  var comp = new Int32Array(N).fill(-1), nComp = 0, stack = new Int32Array(N);
  for (i = 0; i < N; i++) {
    if (comp[i] >= 0) continue;
    var top = 0; stack[top++] = i; comp[i] = nComp;
    while (top) {
      var u0 = stack[--top];
      for (j = indptr[u0]; j < indptr[u0 + 1]; j++) if (comp[nbr[j]] < 0) { comp[nbr[j]] = nComp; stack[top++] = nbr[j]; }
    }
    nComp++;
  }
  // the straight-line bound: f * distance <= the length of any path (f = the least length / chord of an edge)
  var fLB = 1;
  for (e = 0; e < M; e++) {
    var ch = Math.sqrt((x[eu[e]] - x[ev[e]]) * (x[eu[e]] - x[ev[e]]) + (y[eu[e]] - y[ev[e]]) * (y[eu[e]] - y[ev[e]]));
    if (ch > 0) fLB = Math.min(fLB, Math.max(length[e], 0) / ch);
  }
  fLB *= SHRINK;

  // ---- Python's arithmetic -------------------------------------------------------------------------------------
  function pairwise(a, lo, n) {  // numpy's pairwise summation (analysis/_fastroute.c pairwise_sum), bit for bit
    var res, k;
    if (n < 8) { res = -0.0; for (k = 0; k < n; k++) res += a[lo + k]; return res; }
    if (n <= 128) {
      var r0 = a[lo], r1 = a[lo + 1], r2 = a[lo + 2], r3 = a[lo + 3], r4 = a[lo + 4], r5 = a[lo + 5], r6 = a[lo + 6], r7 = a[lo + 7];
      for (k = 8; k < n - (n % 8); k += 8) {
        r0 += a[lo + k]; r1 += a[lo + k + 1]; r2 += a[lo + k + 2]; r3 += a[lo + k + 3];
        r4 += a[lo + k + 4]; r5 += a[lo + k + 5]; r6 += a[lo + k + 6]; r7 += a[lo + k + 7];
      }
      res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
      for (; k < n; k++) res += a[lo + k];
      return res;
    }
    var n2 = Math.floor(n / 2); n2 -= n2 % 8;
    return pairwise(a, lo, n2) + pairwise(a, lo + n2, n - n2);
  }
  function npSum(values) { return 0.0 + pairwise(values, 0, values.length); }
  // Python's round(x, nd): the exact decimal value of the double, half to even, read back as a double
  function pyRound(v, nd) {
    if (!isFinite(v) || v === 0) return v;
    var neg = v < 0, s = Math.abs(v).toFixed(100), dot = s.indexOf(".");
    var intPart = s.slice(0, dot), frac = s.slice(dot + 1), keep = intPart + frac.slice(0, nd), rest = frac.slice(nd);
    var up = rest[0] > "5" || (rest[0] === "5" && (/[1-9]/.test(rest.slice(1)) || (+keep[keep.length - 1]) % 2 === 1));
    var digits = keep.split("").map(Number), q = digits.length - 1;
    if (up) { while (q >= 0 && digits[q] === 9) { digits[q] = 0; q--; } if (q < 0) digits.unshift(1); else digits[q]++; }
    var txt = digits.join(""), cut = txt.length - nd;
    var out = parseFloat(txt.slice(0, cut) + (nd ? "." + txt.slice(cut) : ""));
    return neg ? -out : out;
  }
  function fmt0(v) {  // Python's f"{v:+.0f}" (a negative value that rounds to 0 keeps its sign)
    var r = pyRound(v, 0);
    return (v < 0 || (v === 0 && 1 / v < 0) ? "-" : "+") + String(Math.abs(r));
  }
  function pct0(v) { return String(Math.abs(pyRound(v * 100, 0))) + "%"; }  // f"{v:.0%}" of a share >= 0

  // ---- the search: analysis/_fastroute.c search(), a bidirectional A* with average potentials --------------------
  var g = [new Float64Array(N), new Float64Array(N)], pred = [new Int32Array(N), new Int32Array(N)];
  var pentry = [new Int32Array(N), new Int32Array(N)], seen = [new Uint32Array(N), new Uint32Array(N)];
  var done = [new Uint32Array(N), new Uint32Array(N)], stamp = 0, pot = new Float64Array(N), pseen = new Uint32Array(N), pstamp = 0;
  function Heap() { this.key = new Float64Array(1024); this.node = new Int32Array(1024); this.n = 0; }
  Heap.prototype.push = function (key, node) {
    if (this.n === this.key.length) {
      var k2 = new Float64Array(2 * this.n), n2 = new Int32Array(2 * this.n);
      k2.set(this.key); n2.set(this.node); this.key = k2; this.node = n2;
    }
    var q = this.n++;
    while (q > 0) {
      var par = (q - 1) >> 1;
      if (this.key[par] <= key) break;
      this.key[q] = this.key[par]; this.node[q] = this.node[par]; q = par;
    }
    this.key[q] = key; this.node[q] = node;
  };
  Heap.prototype.pop = function () {  // -> node; the key it had is left in this.lastKey
    var topNode = this.node[0], n = --this.n, lk = this.key[n], ln = this.node[n], q = 0;
    this.lastKey = this.key[0];
    for (;;) {
      var c = 2 * q + 1;
      if (c >= n) break;
      if (c + 1 < n && this.key[c + 1] < this.key[c]) c++;
      if (lk <= this.key[c]) break;
      this.key[q] = this.key[c]; this.node[q] = this.node[c]; q = c;
    }
    if (n) { this.key[q] = lk; this.node[q] = ln; }
    return topNode;
  };
  var heaps = [new Heap(), new Heap()];
  var Q = { s: 0, t: 0 };
  function potential(v) {  // (h_t(v) - h_s(v)) / 2, h: the straight-line bound
    if (pseen[v] === pstamp) return pot[v];
    var ht = fLB * Math.sqrt((x[v] - x[Q.t]) * (x[v] - x[Q.t]) + (y[v] - y[Q.t]) * (y[v] - y[Q.t]));
    var hs = fLB * Math.sqrt((x[v] - x[Q.s]) * (x[v] - x[Q.s]) + (y[v] - y[Q.s]) * (y[v] - y[Q.s]));
    var pv = 0.5 * (ht - hs);
    pseen[v] = pstamp; pot[v] = pv;
    return pv;
  }
  function weightOf(c, p95, ed) {
    var w = length[ed] * (1.0 + c * density[ed] / p95);
    return w > MIN_WEIGHT ? w : MIN_WEIGHT;
  }
  function pathCost(path, c, p95) {
    var cost = 0.0;
    for (var k = 0; k < path.edges.length; k++) cost += weightOf(c, p95, path.edges[k]);
    return cost;
  }
  function search(c, p95, mu0, init) {
    var s = Q.s, t = Q.t;
    if (s === t) return { nodes: [s], edges: [], cost: 0 };
    var st = ++stamp;
    var ps = potential(s), pt = potential(t), c0 = pt - ps, mu = mu0, meet = -1;
    var root = [s, t], proot = [ps, -pt];
    for (var d0 = 0; d0 < 2; d0++) {
      heaps[d0].n = 0; seen[d0][root[d0]] = st; g[d0][root[d0]] = 0.0; pred[d0][root[d0]] = -1;
      heaps[d0].push(0.0, root[d0]);
    }
    for (;;) {
      var hf = heaps[0], hb = heaps[1];
      if (hf.n === 0 || hb.n === 0) break;
      var kf = hf.key[0], kb = hb.key[0];
      if (kf + kb >= mu + c0) break;
      var d = kf <= kb ? 0 : 1, sign = d === 0 ? 1.0 : -1.0;
      var u = heaps[d].pop();
      if (done[d][u] === st) continue;
      done[d][u] = st;
      var gu = g[d][u], o = 1 - d, gd = g[d], sd = seen[d], dd = done[d];
      for (var a = indptr[u]; a < indptr[u + 1]; a++) {
        var v = nbr[a];
        if (dd[v] === st) continue;
        var gv = gu + weightOf(c, p95, edgeOf[a]);
        if (sd[v] === st && gv >= gd[v]) continue;
        var key = gv + sign * potential(v) - proot[d];
        if (key >= mu + c0) continue;
        sd[v] = st; gd[v] = gv; pred[d][v] = u; pentry[d][v] = a;
        heaps[d].push(key, v);
        if (seen[o][v] === st) {
          var through = gv + g[o][v];
          if (through < mu) { mu = through; meet = v; }
        }
      }
    }
    if (meet < 0) {
      if (!init) return { nodes: [], edges: [], cost: Infinity };
      return { nodes: init.nodes.slice(), edges: init.edges.slice(), cost: mu0 };
    }
    var fwd = [], fe = [], z;
    for (z = meet; z !== s; z = pred[0][z]) { fwd.push(pred[0][z]); fe.push(edgeOf[pentry[0][z]]); }
    fwd.reverse(); fe.reverse();
    var nodes = fwd.concat([meet]), edges = fe;
    for (z = meet; z !== t; z = pred[1][z]) { edges.push(edgeOf[pentry[1][z]]); nodes.push(pred[1][z]); }
    return { nodes: nodes, edges: edges, cost: g[0][meet] + g[1][meet] };
  }
  function samePath(p1, p2) {
    if (p1.nodes.length !== p2.nodes.length) return false;
    for (var k = 0; k < p1.nodes.length; k++) if (p1.nodes[k] !== p2.nodes[k]) return false;
    return true;
  }
  // analysis/_fastroute.c run_sweep: each weighting starts from the cheapest path found so far, re-priced
  function sweep(s, t, cs, p95) {
    Q.s = s; Q.t = t; pstamp++;
    var found = [], paths = [];
    cs.forEach(function (c) {
      var mu0 = Infinity, init = null;
      paths.forEach(function (pth) { var cc = pathCost(pth, c, p95) * (1 + 1e-12); if (cc < mu0) { mu0 = cc; init = pth; } });
      var f = search(c, p95, mu0, init);
      if (f.nodes.length && init && samePath(f, init)) f.cost = pathCost(init, c, p95);
      found.push(f);
      if (f.nodes.length && !paths.some(function (q) { return samePath(q, f); })) paths.push(f);
    });
    return found;
  }

  // ---- the planner: analysis/route_planner.py pareto_routes / plan_routes, analysis/fast_route.py ---------------
  function summary(path, lam) {
    var n = path.edges.length, ls = new Float64Array(n), rs = new Float64Array(n);
    for (var k = 0; k < n; k++) { ls[k] = length[path.edges[k]]; rs[k] = risk[path.edges[k]]; }
    var len = npSum(ls), exp = npSum(rs);
    return { nodes: path.nodes, edges: path.edges, length_raw: len, exposure_raw: exp,
             length_m: pyRound(len, 1), minutes: pyRound(len / head.walk_speed / 60, 1), exposure: pyRound(exp, 3),
             coords: path.nodes.map(function (q) { return [pyRound(lat[q], 6), pyRound(lon[q], 6)]; }), lambda: lam };
  }
  function paretoFront(candidates) {
    var front = [], best = Infinity;
    candidates.slice().sort(function (p1, p2) {
      return p1.length_m - p2.length_m || p1.exposure - p2.exposure;
    }).forEach(function (r) { if (r.exposure < best - 1e-9) { front.push(r); best = r.exposure; } });
    return front;
  }
  function pctOf(now, then) { return then <= 0 ? 0.0 : (now - then) / then * 100; }
  function compareWords(short, other) {
    return (fmt0(pctOf(other.length_m, short.length_m)) + "% distance, " + fmt0(pctOf(other.exposure, short.exposure)) +
            "% exposure").replace(/-/g, "\u2212");
  }
  function recommend(front, detour, margin) {
    var shortest = front[0], budget = (1 + detour) * shortest.length_m + 1e-6;
    var within = front.filter(function (r) { return r.length_m <= budget; });
    var safer = within[0];
    within.forEach(function (r) {  // min by (exposure, length_m), the first of equals
      if (r.exposure < safer.exposure || (r.exposure === safer.exposure && r.length_m < safer.length_m)) safer = r;
    });
    var best = safer;
    if (margin > 0 && safer !== shortest && safer.exposure > (1 - margin) * shortest.exposure) safer = shortest;
    front.forEach(function (r) { r.vs_shortest = compareWords(shortest, r); r.within_detour = r.length_m <= budget; });
    return [shortest, safer, front[front.length - 1], best];
  }
  function comparison(short, safer, detour, margin, best) {
    if (samePath(safer, short)) {
      if (short.exposure <= 0) return "The shortest route has no recorded exposure (0 exposure): it is recommended.";
      if (best && !samePath(best, short)) {
        return "The shortest route is recommended: no route within a +" + pct0(detour) + " detour is at least " +
               pct0(margin) + " less exposed (the least exposed one: " + compareWords(short, best) + ").";
      }
      return "The shortest route is already the least exposed one within a +" + pct0(detour) + " detour (0% exposure change).";
    }
    return compareWords(short, safer);
  }
  function planNodes(src, dst) {
    var detour = head.detour, margin = head.margin, front;
    if (src === dst) {
      front = [summary({ nodes: [src], edges: [] }, 0.0)];
    } else {
      var sw = head.positive ? head.sweep : head.sweep.slice(0, 1);
      var cs = sw.map(function (c) { return c > 0 ? c : 1e-9; });
      var found = sweep(src, dst, cs, head.p95), distinct = [];   // each distinct route once, with its first c
      found.forEach(function (f, k) {
        if (!f.nodes.length) throw new Error("origin and destination are not connected in the street graph");
        if (!distinct.some(function (q) { return samePath(q, f); })) distinct.push(summary(f, sw[k]));
      });
      front = paretoFront(distinct);
    }
    var rec = recommend(front, detour, margin), shortest = rec[0], safer = rec[1];
    return { origin_node: src, dest_node: dst, shortest: shortest, safer: safer, recommended: safer, safest: rec[2],
             pareto: front, alpha: safer.lambda === undefined ? 0.0 : safer.lambda, detour: detour,
             comparison: comparison(shortest, safer, detour, margin, rec[3]) };
  }

  // ---- snapping: WalkGraph.snap_pair (each end into the one network with the least sum of snap distances) -------
  function project(p) { return [(p[1] - head.lon0) * head.kx, (p[0] - head.lat0) * head.ky]; }
  function nearestPerNetwork(q) {  // -> {node: Int32Array per network, dist: Float64Array per network}, by a scan
    var bestN = new Int32Array(nComp).fill(-1), bestD = new Float64Array(nComp).fill(Infinity);
    for (var k = 0; k < N; k++) {
      var dx = x[k] - q[0], dy = y[k] - q[1], dk = Math.sqrt(dx * dx + dy * dy), c = comp[k];
      if (dk < bestD[c]) { bestD[c] = dk; bestN[c] = k; }
    }
    return { node: bestN, dist: bestD };
  }
  function snapPair(a, b) {
    var qa = project(a), qb = project(b), na = nearestPerNetwork(qa), nb = nearestPerNetwork(qb);
    var reach = head.near_limit_m, nearA = Infinity, nearB = Infinity, best = null;
    for (var c = 0; c < nComp; c++) {
      nearA = Math.min(nearA, na.dist[c]); nearB = Math.min(nearB, nb.dist[c]);
      if (na.dist[c] <= reach && nb.dist[c] <= reach) {
        var cand = [na.node[c], nb.node[c], na.dist[c], nb.dist[c]];
        if (!best || cand[2] + cand[3] < best[2] + best[3] ||
            (cand[2] + cand[3] === best[2] + best[3] && (cand[0] < best[0] || (cand[0] === best[0] && cand[1] < best[1])))) best = cand;
      }
    }
    if (nearA > reach) return { error: "far", end: "from", snap_m: nearA };       // places.check_near
    if (nearB > reach) return { error: "far", end: "to", snap_m: nearB };
    if (!best) return { error: "separate", apart_m: Math.sqrt((qa[0] - qb[0]) * (qa[0] - qb[0]) + (qa[1] - qb[1]) * (qa[1] - qb[1])) };
    return { src: best[0], dst: best[1], snap_from: best[2], snap_to: best[3] };
  }

  function edgeId(ed) { return eidBase + K.eid_hi[ed] * 4294967296 + K.eid_lo[ed]; }
  return {
    head: head, nodes: N, edges: M, networks: nComp, boundFactor: fLB, limit: head.near_limit_m, note: head.snap_note_m,
    lat: lat, lon: lon, length: length, risk: risk,
    pyRound: pyRound, edgeId: edgeId, snapPair: snapPair, planNodes: planNodes,
    // two [lat, lon] points -> {error...} or {src, dst, snap_from, snap_to, plan, ms}
    route: function (a, b) {
      var t0 = performance.now(), snap = snapPair(a, b);
      if (snap.error) return snap;
      snap.plan = planNodes(snap.src, snap.dst);
      snap.ms = performance.now() - t0;
      return snap;
    }
  };
}
