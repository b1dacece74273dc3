(function () {
  "use strict";
  // Every text from the data reaches the page through textContent (el) or
  // as plotly text that Python escaped (cluster labels, hover text): never
  // as markup.
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var conv = DATA.conversations;
  var N = conv.chat_id.length;
  var byId = {};
  DATA.clusters.forEach(function (c) { byId[c.id] = c; });
  var FACETS = DATA.facets, TIME = DATA.time, TRENDS = TIME ? TIME.trends : null;
  var TRANSCRIPTS = DATA.transcripts;
  var nf = new Intl.NumberFormat("en-US");
  var lower = conv.summary.map(function (s) { return s.toLowerCase(); });
  var treeNodes = {};
  var state = {
    selected: null, query: "", matches: null, level: "top",
    filters: {}, from: null, to: null, filtered: false
  };
  var active = new Uint8Array(N), nActive = N;
  var counts = new Int32Array(DATA.clusters.length);
  var MAX_CLUSTER_HITS = 30, MAX_CONVERSATION_HITS = 100, MAX_MAP_LABELS = 25;
  var CLIP_CHARS = 700, BREAKDOWN_ROWS = 8;
  var DAY = 86400000;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function button(className, text, onClick) {
    var b = el("button", className, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }
  function pct(x) { return (100 * x).toFixed(x > 0 && x < 0.001 ? 2 : 1) + "%"; }
  function clusterName(id) { return id >= 0 && byId[id] ? byId[id].name : "noise"; }
  // Each cluster's ancestors, root first, come with the data.
  function ancestors(id) {
    return byId[id] ? byId[id].ancestors.map(function (a) { return byId[a]; }) : [];
  }
  function isWithin(baseId, id) {
    var c = byId[baseId];
    return !!c && (c.id === id || c.ancestors.indexOf(id) >= 0);
  }
  function isoDay(day) { return new Date(day * DAY).toISOString().slice(0, 10); }
  function periodLabel(day) {
    var iso = isoDay(day);
    if (TRENDS && TRENDS.freq === "month") {
      return new Date(day * DAY).toLocaleString("en-US",
        { month: "short", year: "numeric", timeZone: "UTC" });
    }
    return iso;
  }
  // Text with each occurrence of the query wrapped in <mark>, built as nodes.
  function highlighted(text, query) {
    var frag = document.createDocumentFragment();
    var low = text.toLowerCase();
    if (!query || low.length !== text.length) {
      frag.appendChild(document.createTextNode(text));
      return frag;
    }
    var at = 0, hit = low.indexOf(query);
    while (hit >= 0) {
      frag.appendChild(document.createTextNode(text.slice(at, hit)));
      frag.appendChild(el("mark", null, text.slice(hit, hit + query.length)));
      at = hit + query.length;
      hit = low.indexOf(query, at);
    }
    frag.appendChild(document.createTextNode(text.slice(at)));
    return frag;
  }

  // ---- levels: the cluster each cluster is grouped under on the map ----
  // The highest of id and its ancestors on or below the level ("top": the
  // root); null for a cluster above the level.
  function groupOf(id, level) {
    var c = byId[id];
    if (!c) { return -1; }
    if (level === "top") { return c.ancestors.length ? c.ancestors[0] : c.id; }
    if (c.level > level) { return null; }
    var chain = [c.id].concat(c.ancestors.slice().reverse()), group = c.id;
    for (var i = 0; i < chain.length; i++) {
      if (byId[chain[i]].level <= level) { group = chain[i]; }
    }
    return group;
  }

  // ---- filters ----
  function facetPasses(facet, allowed, row) {
    var code = facet.codes[row];
    if (facet.kind === "multi") {
      for (var i = 0; i < code.length; i++) { if (allowed[code[i]]) { return true; } }
      return false;
    }
    return code >= 0 && !!allowed[code];
  }
  function computeFilter() {
    var checks = [];
    FACETS.forEach(function (f) {
      var allowed = state.filters[f.key];
      if (allowed && Object.keys(allowed).length) { checks.push([f, allowed]); }
    });
    var days = TIME ? TIME.day : null;
    var from = state.from, to = state.to;
    var useTime = days && (from !== null || to !== null);
    state.filtered = checks.length > 0 || !!useTime;
    nActive = 0;
    for (var row = 0; row < N; row++) {
      var ok = true;
      for (var k = 0; ok && k < checks.length; k++) {
        ok = facetPasses(checks[k][0], checks[k][1], row);
      }
      if (ok && useTime) {
        var d = days[row];
        ok = d !== null && (from === null || d >= from) && (to === null || d <= to);
      }
      active[row] = ok ? 1 : 0;
      nActive += ok ? 1 : 0;
    }
    // counts per cluster: base clusters from the rows, then each parent
    // from its children (parents come after their children in the data)
    counts.fill(0);
    for (row = 0; row < N; row++) {
      if (active[row] && conv.cluster[row] >= 0) { counts[conv.cluster[row]]++; }
    }
    DATA.clusters.forEach(function (c) {
      if (c.parent !== null) { counts[c.parent] += counts[c.id]; }
    });
  }
  function countOf(c) { return state.filtered ? counts[c.id] : c.count; }
  function shareOf(c) {
    return state.filtered ? (nActive ? counts[c.id] / nActive : 0) : c.share;
  }

  // ---- tree ----
  function treeLabel(c, tag) {
    var label = el(tag, "tree-label");
    label.appendChild(el("span", "caret"));
    var dot = el("span", "dot");
    if (c.color) { dot.style.backgroundColor = c.color; }
    label.appendChild(dot);
    label.appendChild(el("span", "tree-name", c.name));
    label.appendChild(el("span", "tree-count", nf.format(c.count)));
    label.appendChild(el("span", "tree-share", pct(c.share)));
    label.setAttribute("title", c.name + "\n" + c.description);
    return label;
  }
  function treeNode(c) {
    var node, label;
    if (c.children.length) {
      node = el("details", "tree-node");
      label = treeLabel(c, "summary");
      node.appendChild(label);
      var kids = el("div", "tree-children");
      c.children.forEach(function (k) { kids.appendChild(treeNode(byId[k])); });
      node.appendChild(kids);
    } else {
      node = el("div", "tree-node tree-leaf");
      label = treeLabel(c, "div");
      node.appendChild(label);
    }
    node.setAttribute("data-cluster-id", String(c.id));
    node.setAttribute("role", "treeitem");
    label.addEventListener("click", function () { select(c.id, "tree"); });
    treeNodes[c.id] = node;
    return node;
  }
  var tree = document.getElementById("tree");
  DATA.roots.forEach(function (id) { tree.appendChild(treeNode(byId[id])); });
  function refreshTree() {
    DATA.clusters.forEach(function (c) {
      var label = treeNodes[c.id].firstChild;
      label.querySelector(".tree-count").textContent = nf.format(countOf(c));
      label.querySelector(".tree-share").textContent = pct(shareOf(c));
      treeNodes[c.id].classList.toggle("empty", countOf(c) === 0);
    });
  }
  function recolourTree(colours) {
    DATA.clusters.forEach(function (c) {
      var group = groupOf(c.id, state.level);
      var dot = treeNodes[c.id].firstChild.querySelector(".dot");
      dot.style.backgroundColor = group !== null && colours[group] ? colours[group] : "";
    });
  }

  // ---- small charts, drawn as SVG nodes ----
  var SVG = "http://www.w3.org/2000/svg";
  function svgNode(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }
  function periodOf(day) {
    var starts = TRENDS.periods, lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= day) { lo = mid; } else { hi = mid - 1; }
    }
    return lo;
  }
  function trendChart(all, filtered) {
    var W = 320, H = 90, PAD = 16, n = all.length;
    var top = Math.max.apply(null, all.concat([1]));
    var svg = svgNode("svg", {
      viewBox: "0 0 " + W + " " + (H + PAD), class: "trend", role: "img"
    });
    var width = W / n;
    all.forEach(function (value, i) {
      var h = H * value / top, x = i * width;
      var bar = svgNode("rect", {
        x: (x + 1).toFixed(1), y: (H - h).toFixed(1),
        width: Math.max(width - 2, 1).toFixed(1), height: h.toFixed(1),
        class: filtered ? "bar-all dim" : "bar-all"
      });
      var tip = periodLabel(TRENDS.periods[i]) + ": " + nf.format(value);
      if (filtered) {
        tip += " (" + nf.format(filtered[i]) + " filtered)";
        var fh = H * filtered[i] / top;
        var fbar = svgNode("rect", {
          x: (x + 1).toFixed(1), y: (H - fh).toFixed(1),
          width: Math.max(width - 2, 1).toFixed(1), height: fh.toFixed(1),
          class: "bar-filtered"
        });
        var t2 = svgNode("title", {});
        t2.textContent = tip;
        fbar.appendChild(t2);
        svg.appendChild(bar);
        svg.appendChild(fbar);
      } else {
        svg.appendChild(bar);
      }
      var title = svgNode("title", {});
      title.textContent = tip;
      bar.appendChild(title);
    });
    var first = svgNode("text", { x: 0, y: H + 12, class: "axis" });
    first.textContent = periodLabel(TRENDS.periods[0]);
    var last = svgNode("text", { x: W, y: H + 12, class: "axis", "text-anchor": "end" });
    last.textContent = periodLabel(TRENDS.periods[n - 1]);
    var peak = svgNode("text", { x: 2, y: 10, class: "axis" });
    peak.textContent = "max " + nf.format(top);
    svg.appendChild(first);
    svg.appendChild(last);
    svg.appendChild(peak);
    return svg;
  }
  function trendBlock(c, rows) {
    var block = el("div", "block trend-block");
    var all = c ? TRENDS.counts[c.id] : null;
    if (!c) {
      all = TRENDS.periods.map(function () { return 0; });
      DATA.roots.forEach(function (r) {
        (TRENDS.counts[r] || []).forEach(function (v, i) { all[i] += v; });
      });
    }
    block.appendChild(el("h3", null, "Conversations per " + TRENDS.freq));
    if (!all) {
      block.appendChild(el("span", "na", "no dated conversations"));
      return block;
    }
    var filtered = null;
    if (state.filtered) {
      filtered = all.map(function () { return 0; });
      rows.forEach(function (row) {
        if (TIME.day[row] !== null) { filtered[periodOf(TIME.day[row])]++; }
      });
    }
    block.appendChild(trendChart(all, filtered));
    if (filtered) {
      block.appendChild(el("p", "more", "Light: all conversations; dark: those " +
        "passing the filters."));
    }
    return block;
  }

  // ---- detail ----
  function statCard(key, value, available) {
    var card = el("div", "stat");
    if (available && value !== null && value !== undefined) {
      card.appendChild(el("span", "value", value));
    } else {
      card.appendChild(el("span", "value na", "not available"));
    }
    card.appendChild(el("span", "key", key));
    return card;
  }
  function clusterLink(c) {
    return button("link", c.name, function () { select(c.id, "detail"); });
  }
  function facetByKey(key) {
    for (var i = 0; i < FACETS.length; i++) { if (FACETS[i].key === key) { return FACETS[i]; } }
    return null;
  }
  // The conversations of cluster c (all when null) passing the filters.
  function rowsOf(c) {
    var inside = null, rows = [];
    if (c) {
      inside = {};
      DATA.clusters.forEach(function (b) {
        if (b.level === 0 && isWithin(b.id, c.id)) { inside[b.id] = true; }
      });
    }
    for (var row = 0; row < N; row++) {
      if (active[row] && (!inside || inside[conv.cluster[row]])) { rows.push(row); }
    }
    return rows;
  }
  function facetCounts(facet, rows) {
    var tally = facet.values.map(function () { return 0; }), known = 0;
    rows.forEach(function (row) {
      var code = facet.codes[row];
      if (facet.kind === "multi") {
        code.forEach(function (k) { tally[k]++; });
        if (code.length) { known++; }
      } else if (code >= 0) { tally[code]++; known++; }
    });
    return { tally: tally, known: known };
  }
  function scoreMean(key, rows) {
    var facet = facetByKey(key);
    if (!facet) { return null; }
    var r = facetCounts(facet, rows), sum = 0;
    if (!r.known) { return null; }
    r.tally.forEach(function (n, k) { sum += n * (k + 1); });
    return (sum / r.known).toFixed(2);
  }
  function errorShare(rows) {
    var facet = facetByKey("assistant_errors");
    if (!facet) { return null; }
    var r = facetCounts(facet, rows);
    return r.known ? pct(r.tally[0] / r.known) : null;
  }
  function breakdown(facet, rows) {
    var block = el("div", "block breakdown");
    block.setAttribute("data-facet", facet.key);
    block.appendChild(el("h3", null, facet.label +
      (facet.key.indexOf("metadata.") === 0 ? " (metadata)" : "")));
    var r = facetCounts(facet, rows);
    var order = facet.values.map(function (_, k) { return k; });
    if (facet.kind !== "score") {
      order.sort(function (a, b) { return r.tally[b] - r.tally[a] || a - b; });
    }
    order = order.filter(function (k) { return r.tally[k] > 0; });
    if (!order.length) {
      block.appendChild(el("span", "na", "none"));
      return block;
    }
    var bars = el("div", "bars"), top = 0;
    order.forEach(function (k) { top = Math.max(top, r.tally[k]); });
    order.slice(0, BREAKDOWN_ROWS).forEach(function (k) {
      bars.appendChild(el("span", null, facet.values[k]));
      var bar = el("span", "bar"), fill = el("span");
      fill.style.width = (100 * r.tally[k] / top).toFixed(1) + "%";
      bar.appendChild(fill);
      bars.appendChild(bar);
      bars.appendChild(el("span", "num", nf.format(r.tally[k])));
    });
    block.appendChild(bars);
    if (order.length > BREAKDOWN_ROWS) {
      block.appendChild(el("p", "more", "and " + (order.length - BREAKDOWN_ROWS) +
        " more"));
    }
    return block;
  }
  function growthBlock() {
    var block = el("div", "block growth");
    block.appendChild(el("h3", null, "Fastest growing clusters \u00B7 last third of " +
      "the " + TRENDS.freq + "s against before"));
    var list = el("ol", "growth-list");
    TRENDS.growth.forEach(function (g) {
      var c = byId[g.cluster];
      if (!c) { return; }
      var li = el("li");
      li.appendChild(clusterLink(c));
      li.appendChild(el("span", "num", "\u00D7" + g.growth.toFixed(1) + " \u00B7 " +
        pct(g.earlier_share) + " \u2192 " + pct(g.recent_share) + " \u00B7 " +
        (c.level === 0 ? "base" : "level " + c.level)));
      list.appendChild(li);
    });
    if (!list.firstChild) {
      block.appendChild(el("span", "na", "too few periods or conversations"));
    } else {
      block.appendChild(list);
    }
    return block;
  }
  function renderDetail(c) {
    var box = document.getElementById("detail");
    clear(box);
    var crumbs = el("nav", "breadcrumb");
    crumbs.setAttribute("aria-label", "Path");
    if (c) {
      crumbs.appendChild(button("link", "All conversations",
        function () { select(null, "detail"); }));
      ancestors(c.id).forEach(function (a) {
        crumbs.appendChild(el("span", "sep", "\u203A"));
        crumbs.appendChild(clusterLink(a));
      });
      crumbs.appendChild(el("span", "sep", "\u203A"));
      crumbs.appendChild(el("span", "current", c.name));
    } else {
      crumbs.appendChild(el("span", "current", "Overview"));
    }
    box.appendChild(crumbs);
    box.appendChild(el("h2", null, c ? c.name : "All conversations"));
    var kind;
    if (c) {
      kind = (c.level === 0 ? "Base cluster" : "Meta-cluster, level " + c.level) +
        (c.parent === null ? " \u00B7 top level" : "") + " \u00B7 id " + c.id;
    } else {
      kind = "Click a cluster in the tree or a point on the map to see it here.";
    }
    box.appendChild(el("p", "kind", kind));
    if (c && c.name_source === "fallback") {
      box.appendChild(el("p", "kind name-source",
        "Named offline: the LLM call for this name failed after every retry, " +
        "so its keyword name stands in (name source: fallback)."));
    } else if (c && c.name_source === "llm") {
      box.appendChild(el("p", "kind name-source",
        "Named by the LLM (name source: llm)."));
    }
    if (c && c.description) { box.appendChild(el("p", "description", c.description)); }
    if (state.filtered) {
      box.appendChild(el("p", "kind filter-note", "Filtered: " +
        nf.format(nActive) + " of " + nf.format(N) + " conversations pass the filters; " +
        "the numbers below count those only."));
    }

    var rows = rowsOf(c);
    var grid = el("div", "detail-grid");
    var left = el("div"), right = el("div");
    grid.appendChild(left); grid.appendChild(right);
    box.appendChild(grid);

    var cards = el("div", "cards");
    cards.appendChild(statCard("conversations" +
      (state.filtered ? " (of " + nf.format(c ? c.count : N) + ")" : ""),
      nf.format(rows.length), true));
    cards.appendChild(statCard("of all conversations",
      pct(c ? shareOf(c) : (N ? nActive / N : 0)), true));
    cards.appendChild(statCard("mean concerning score (1\u20135)",
      scoreMean("concerning_score", rows), !!facetByKey("concerning_score")));
    cards.appendChild(statCard("mean user frustration (1\u20135)",
      scoreMean("user_frustration", rows), !!facetByKey("user_frustration")));
    cards.appendChild(statCard("with assistant errors", errorShare(rows),
      !!facetByKey("assistant_errors")));
    left.appendChild(cards);

    if (TRENDS) { left.appendChild(trendBlock(c, rows)); }
    if (!c && TRENDS) { left.appendChild(growthBlock()); }

    if (FACETS.length) {
      box.appendChild(el("h3", "breakdown-head", "Breakdown by facet" +
        (state.filtered ? " (filtered)" : "")));
      var facets = el("div", "facets-grid");
      FACETS.forEach(function (f) { facets.appendChild(breakdown(f, rows)); });
      box.appendChild(facets);
    } else {
      var none = el("div", "block");
      none.appendChild(el("h3", null, "Languages"));
      none.appendChild(el("span", "na", "not available"));
      left.appendChild(none);
    }

    if (c) {
      var kw = el("div", "block");
      kw.appendChild(el("h3", null, "Keywords"));
      if (c.keywords.length) {
        var chips = el("div", "chips");
        c.keywords.forEach(function (k) { chips.appendChild(el("span", "chip", k)); });
        kw.appendChild(chips);
      } else {
        kw.appendChild(el("span", "na", c.hidden ? "withheld" : "none"));
      }
      left.appendChild(kw);
    }

    var childIds = c ? c.children : DATA.roots;
    if (childIds.length) {
      var kids = el("div", "block");
      kids.appendChild(el("h3", null, c ? "Sub-clusters" : "Top-level clusters"));
      var list = el("ul", "children");
      childIds.forEach(function (k) {
        var child = byId[k], li = el("li"), dot = el("span", "dot");
        if (child.color) { dot.style.backgroundColor = child.color; }
        li.appendChild(dot);
        li.appendChild(clusterLink(child));
        li.appendChild(el("span", "num",
          nf.format(countOf(child)) + " \u00B7 " + pct(shareOf(child))));
        list.appendChild(li);
      });
      kids.appendChild(list);
      (c ? left : right).appendChild(kids);
    }

    if (c) {
      var samples = el("div", "block");
      if (c.hidden) {
        samples.appendChild(el("h3", null, "Sample summaries"));
        samples.appendChild(el("span", "na",
          "withheld: cluster below the privacy threshold"));
      } else {
        var shown = c.samples.filter(function (row) { return active[row]; });
        samples.appendChild(el("h3", null, "Sample summaries \u00B7 " +
          shown.length + " of " + nf.format(rows.length) +
          ", nearest the centre first"));
        var ol = el("ol", "samples");
        shown.forEach(function (row) {
          var li = el("li");
          li.setAttribute("data-row", String(row));
          li.appendChild(el("span", null, conv.summary[row]));
          var meta = el("span", "meta", conv.chat_id[row] +
            (conv.cluster[row] !== c.id ? " \u00B7 " + clusterName(conv.cluster[row]) : ""));
          meta.appendChild(document.createTextNode(" \u00B7 "));
          meta.appendChild(button("link open-conversation", "read the conversation",
            function () { openConversation(row); }));
          li.appendChild(meta);
          ol.appendChild(li);
        });
        samples.appendChild(ol);
      }
      right.appendChild(samples);
    }
  }

  // ---- conversation viewer ----
  var viewer = document.getElementById("viewer");
  var viewerBody = document.getElementById("viewer-body");
  var lastFocus = null;
  function messageNode(entry) {
    var role = entry[0], text = entry[1], full = entry[2];
    var box = el("div", "message role-" + (/^[a-z]+$/.test(role) ? role : "other"));
    box.appendChild(el("div", "role", role));
    var body = el("div", "message-text");
    box.appendChild(body);
    function show(all) {
      clear(body);
      body.appendChild(document.createTextNode(all ? text : text.slice(0, CLIP_CHARS) + "\u2026"));
    }
    if (text.length > CLIP_CHARS) {
      show(false);
      var open = false;
      var toggle = button("link expand", "Show all " + nf.format(text.length) +
        " characters", function () {
        open = !open;
        show(open);
        toggle.textContent = open ? "Show less" : "Show all " +
          nf.format(text.length) + " characters";
      });
      box.appendChild(toggle);
    } else {
      show(true);
    }
    if (full) {
      box.appendChild(el("p", "more", "Cut at " + nf.format(text.length) + " of " +
        nf.format(full) + " characters in this report."));
    }
    return box;
  }
  function openConversation(row) {
    clear(viewerBody);
    var label = conv.cluster[row];
    document.getElementById("viewer-title").textContent = conv.chat_id[row];
    var meta = el("p", "kind");
    var parts = [];
    if (TIME && TIME.day[row] !== null) { parts.push(isoDay(TIME.day[row])); }
    FACETS.forEach(function (f) {
      var code = f.codes[row];
      var value = f.kind === "multi"
        ? code.map(function (k) { return f.values[k]; }).join(", ")
        : (code >= 0 ? f.values[code] : "");
      if (value) { parts.push(f.label + ": " + value); }
    });
    meta.textContent = parts.join(" \u00B7 ");
    viewerBody.appendChild(meta);
    var path = el("nav", "breadcrumb");
    if (label >= 0) {
      ancestors(label).concat([byId[label]]).forEach(function (a, i) {
        if (i) { path.appendChild(el("span", "sep", "\u203A")); }
        path.appendChild(button("link", a.name, function () {
          closeConversation();
          select(a.id, "viewer");
        }));
      });
    } else {
      path.appendChild(el("span", "current", "noise (no cluster)"));
    }
    viewerBody.appendChild(path);
    viewerBody.appendChild(el("h3", null, "Summary"));
    viewerBody.appendChild(el("p", "viewer-summary", conv.summary[row]));
    var messages = TRANSCRIPTS.included ? TRANSCRIPTS.messages[row] : null;
    if (messages) {
      var count = TRANSCRIPTS.n_messages[row];
      viewerBody.appendChild(el("h3", null, "Conversation \u00B7 " + count +
        " message" + (count === 1 ? "" : "s")));
      var list = el("div", "messages");
      messages.forEach(function (m) { list.appendChild(messageNode(m)); });
      viewerBody.appendChild(list);
      if (count > messages.length) {
        viewerBody.appendChild(el("p", "more", "The first " + messages.length +
          " of " + count + " messages are in this report."));
      }
      viewerBody.appendChild(el("p", "more", "Transcript: " + TRANSCRIPTS.note + "."));
    } else {
      var why = !TRANSCRIPTS.included ? "Transcripts are " + TRANSCRIPTS.note + "."
        : "This conversation's transcript is withheld: it belongs to a cluster " +
          "below the privacy threshold, or was not given to the report.";
      viewerBody.appendChild(el("p", "na transcript-missing", why));
    }
    viewer.setAttribute("data-row", String(row));
    lastFocus = document.activeElement;
    viewer.hidden = false;
    document.getElementById("viewer-close").focus();
  }
  function closeConversation() {
    viewer.hidden = true;
    viewer.removeAttribute("data-row");
    if (lastFocus && lastFocus.focus) { lastFocus.focus(); }
  }
  document.getElementById("viewer-close").addEventListener("click", closeConversation);
  viewer.addEventListener("click", function (ev) {
    if (ev.target === viewer) { closeConversation(); }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && !viewer.hidden) { closeConversation(); }
  });

  // ---- map ----
  var gd = document.getElementById("map");
  var mapReady = false;
  var FIG = DATA.figure;
  var template = FIG.data.length ? FIG.data[0] : null;
  // every plotted point once, from the figure Python built
  var points = { x: [], y: [], text: [], cd: [] };
  FIG.data.forEach(function (t) {
    for (var j = 0; j < t.x.length; j++) {
      points.x.push(t.x[j]); points.y.push(t.y[j]);
      points.text.push(t.hovertext[j]); points.cd.push(t.customdata[j]);
    }
  });
  var colourCache = {};
  // Colours of the groups of a level: largest first, as plot_map gives them.
  function levelColours(level) {
    if (colourCache[level]) { return colourCache[level]; }
    var seen = {}, groups = [];
    points.cd.forEach(function (cd) {
      var g = cd[1] >= 0 ? groupOf(cd[1], level) : -1;
      if (g >= 0 && !seen[g]) { seen[g] = true; groups.push(g); }
    });
    groups.sort(function (a, b) { return byId[b].count - byId[a].count || a - b; });
    var colours = {};
    groups.forEach(function (g, k) { colours[g] = DATA.palette[k % DATA.palette.length]; });
    colourCache[level] = { order: groups, colours: colours };
    return colourCache[level];
  }
  function levelTitle(level) {
    return level === "top" ? "Top-level cluster"
      : level === 0 ? "Base cluster" : "Level " + level + " cluster";
  }
  function buildTraces() {
    var level = state.level, scheme = levelColours(level);
    var byGroup = {}, noise = [];
    for (var i = 0; i < points.cd.length; i++) {
      var cd = points.cd[i];
      if (!active[cd[0]]) { continue; }
      if (cd[1] < 0) { noise.push(i); continue; }
      var g = groupOf(cd[1], level);
      (byGroup[g] = byGroup[g] || []).push(i);
    }
    var traces = [];
    function trace(idx, group, name, colour, opacity) {
      return {
        type: template.type, mode: "markers", name: name,
        legendgroup: String(group), meta: group, hoverinfo: "text",
        x: idx.map(function (i) { return points.x[i]; }),
        y: idx.map(function (i) { return points.y[i]; }),
        hovertext: idx.map(function (i) { return points.text[i]; }),
        customdata: idx.map(function (i) { return points.cd[i]; }),
        marker: { size: template.marker.size, color: colour, opacity: opacity,
          line: { width: 0 } },
        unselected: { marker: { opacity: 0.08 } }, selected: { marker: { opacity: 1 } }
      };
    }
    var groups = scheme.order.filter(function (g) { return byGroup[g]; });
    if (groups.length <= DATA.palette.length) {
      groups.forEach(function (g) {
        traces.push(trace(byGroup[g], g, byId[g].label + " (" +
          nf.format(countOf(byId[g])) + ")", scheme.colours[g], 0.85));
      });
    } else {
      // more groups than colours: one trace coloured point by point (a
      // legend of thousands helps no one, and plotly slows with each trace)
      var idx = [], colours = [];
      groups.forEach(function (g) {
        byGroup[g].forEach(function (i) { idx.push(i); colours.push(scheme.colours[g]); });
      });
      var all = trace(idx, -2, levelTitle(state.level) + "s", colours, 0.85);
      all.showlegend = false;
      traces.push(all);
    }
    if (noise.length) { traces.push(trace(noise, -1, "noise", "#b8b8b8", 0.5)); }
    return traces;
  }
  // Names of the largest groups at their centres, largest first, each left
  // out where it would overlap one already placed.
  function mapLabels() {
    var scheme = levelColours(state.level), shown = [], placed = [];
    scheme.order.forEach(function (g) {
      if (countOf(byId[g]) > 0) { shown.push(byId[g]); }
    });
    shown.sort(function (a, b) { return countOf(b) - countOf(a) || a.id - b.id; });
    var full = gd._fullLayout, xa = full && full.xaxis, ya = full && full.yaxis;
    function pixel(axis, value) {
      var r = axis.range;
      return (value - r[0]) / (r[1] - r[0]) * axis._length;
    }
    var labels = [];
    shown.forEach(function (c) {
      if (labels.length >= MAX_MAP_LABELS) { return; }
      if (xa && ya && xa.range && ya.range) {
        var px = pixel(xa, c.x), py = pixel(ya, c.y);
        var w = 6.2 * c.tag.length + 8, h = 16;
        var overlaps = placed.some(function (b) {
          return Math.abs(b[0] - px) * 2 < b[2] + w && Math.abs(b[1] - py) * 2 < b[3] + h;
        });
        if (overlaps) { return; }
        placed.push([px, py, w, h]);
      }
      labels.push({
        x: c.x, y: c.y, text: c.tag, showarrow: false,
        font: { size: 11, color: "#1f2328" }, bgcolor: "rgba(255,255,255,0.72)",
        borderpad: 2, captureevents: false
      });
    });
    return labels;
  }
  function redrawMap() {
    if (!mapReady) { return; }
    var layout = gd.layout;
    layout.legend.title = { text: "<b>" + levelTitle(state.level) + "</b>" };
    layout.annotations = mapLabels();
    Plotly.react(gd, buildTraces(), layout).then(updateMap);
  }
  function updateMap() {
    if (!mapReady) { return; }
    var keep = null;
    if (state.matches) {
      keep = {};
      state.matches.forEach(function (row) { keep[row] = true; });
    }
    var selected = state.selected;
    var idx = gd.data.map(function (trace) {
      if (!keep && selected === null) { return null; }
      var out = [], cd = trace.customdata || [];
      for (var j = 0; j < cd.length; j++) {
        var ok = keep ? keep[cd[j][0]]
          : (cd[j][1] >= 0 && isWithin(cd[j][1], selected));
        if (ok) { out.push(j); }
      }
      return out;
    });
    Plotly.restyle(gd, { selectedpoints: idx });
  }
  if (window.Plotly && template) {
    FIG.data.forEach(function (t) {
      t.unselected = { marker: { opacity: 0.08 } };
      t.selected = { marker: { opacity: 1 } };
    });
    FIG.layout.annotations = [];
    Plotly.newPlot(gd, FIG.data, FIG.layout, {
      responsive: true, displaylogo: false, scrollZoom: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d"]
    }).then(function () {
      mapReady = true;
      gd.layout.annotations = mapLabels();
      Plotly.relayout(gd, { annotations: gd.layout.annotations });
      gd.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        if (p && p.customdata) {
          if (p.customdata[1] >= 0) { select(p.customdata[1], "map"); }
          openConversation(p.customdata[0]);
        }
      });
      updateMap();
    });
  } else {
    gd.appendChild(el("p", "na", "The map needs JavaScript and plotly.js."));
  }
  var levelSelect = document.getElementById("color-level");
  (function () {
    var options = [["top", "Top level"]];
    for (var level = DATA.n_levels - 1; level >= 1; level--) {
      options.push([String(level), "Level " + level]);
    }
    if (DATA.n_levels > 1) { options.push(["0", "Base clusters"]); }
    options.forEach(function (o) {
      var option = el("option", null, o[1]);
      option.value = o[0];
      levelSelect.appendChild(option);
    });
    levelSelect.addEventListener("change", function () {
      state.level = levelSelect.value === "top" ? "top" : parseInt(levelSelect.value, 10);
      recolourTree(levelColours(state.level).colours);
      redrawMap();
    });
  })();

  // ---- selection ----
  function select(id, source) {
    if (state.selected !== null && treeNodes[state.selected]) {
      treeNodes[state.selected].classList.remove("selected");
    }
    state.selected = id === null || id === undefined || !byId[id] ? null : id;
    var c = state.selected === null ? null : byId[state.selected];
    if (c) {
      var node = treeNodes[c.id];
      node.classList.add("selected");
      ancestors(c.id).forEach(function (a) {
        var n = treeNodes[a.id];
        if (n && n.tagName === "DETAILS") { n.open = true; }
      });
      if (source !== "tree" && node.scrollIntoView) {
        node.scrollIntoView({ block: "nearest" });
      }
    }
    renderDetail(c);
    updateMap();
  }

  // ---- search ----
  var box = document.getElementById("search");
  var out = document.getElementById("search-results");
  var timer = null;
  function runSearch() {
    var query = box.value.trim().toLowerCase();
    state.query = query;
    clear(out);
    out.setAttribute("data-query", query);
    Object.keys(treeNodes).forEach(function (id) {
      treeNodes[id].classList.remove("match");
    });
    if (!query) {
      out.hidden = true;
      state.matches = null;
      updateMap();
      return;
    }
    var clusterHits = DATA.clusters.filter(function (c) {
      return c.name.toLowerCase().indexOf(query) >= 0;
    }).sort(function (a, b) { return b.count - a.count; });
    var rows = [];
    for (var i = 0; i < lower.length; i++) {
      if (active[i] && lower[i].indexOf(query) >= 0) { rows.push(i); }
    }
    state.matches = rows;
    clusterHits.forEach(function (c) { treeNodes[c.id].classList.add("match"); });
    out.hidden = false;
    out.appendChild(el("p", "result-head", nf.format(rows.length) + " conversation" +
      (rows.length === 1 ? "" : "s") + " and " + clusterHits.length + " cluster" +
      (clusterHits.length === 1 ? "" : "s") + " match" +
      (state.filtered ? " (filtered)" : "")));
    if (clusterHits.length) {
      var cl = el("ul", "results");
      clusterHits.slice(0, MAX_CLUSTER_HITS).forEach(function (c) {
        var li = el("li");
        li.appendChild(highlighted(c.name, query));
        var kind = c.level === 0 ? "base cluster" : "level " + c.level;
        li.appendChild(el("span", "meta",
          kind + " \u00B7 " + nf.format(countOf(c)) + " conversations"));
        li.addEventListener("click", function () { select(c.id, "search"); });
        cl.appendChild(li);
      });
      out.appendChild(cl);
    }
    var ul = el("ul", "results");
    rows.slice(0, MAX_CONVERSATION_HITS).forEach(function (row) {
      var li = el("li", "result");
      li.setAttribute("data-row", String(row));
      li.appendChild(highlighted(conv.summary[row], query));
      li.appendChild(el("span", "meta",
        clusterName(conv.cluster[row]) + " \u00B7 " + conv.chat_id[row]));
      li.addEventListener("click", function () {
        if (conv.cluster[row] >= 0) { select(conv.cluster[row], "search"); }
        openConversation(row);
      });
      ul.appendChild(li);
    });
    out.appendChild(ul);
    if (rows.length > MAX_CONVERSATION_HITS) {
      out.appendChild(el("p", "more", "Showing the first " + MAX_CONVERSATION_HITS +
        "; all " + nf.format(rows.length) + " are highlighted on the map."));
    }
    updateMap();
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(runSearch, 120);
  });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") { box.value = ""; runSearch(); }
  });

  // ---- filter controls ----
  var filterBox = document.getElementById("filters");
  var filterStatus = document.getElementById("filter-status");
  function applyFilters() {
    computeFilter();
    filterStatus.textContent = state.filtered
      ? nf.format(nActive) + " of " + nf.format(N) + " conversations"
      : "All " + nf.format(N) + " conversations";
    document.getElementById("filter-clear").hidden = !state.filtered;
    refreshTree();
    redrawMap();
    if (state.query) { runSearch(); }
    renderDetail(state.selected === null ? null : byId[state.selected]);
  }
  function dayOf(value) {
    if (!value) { return null; }
    var parts = value.split("-").map(Number);
    return parts.length === 3 ? Date.UTC(parts[0], parts[1] - 1, parts[2]) / DAY : null;
  }
  (function () {
    if (TIME) {
      var box = el("div", "filter-time");
      box.appendChild(el("span", "label", "Time"));
      [["from", "time-from", TIME.first], ["to", "time-to", TIME.last]].forEach(function (f) {
        var label = el("label", "time-field", f[0] + " ");
        var input = el("input");
        input.type = "date";
        input.id = f[1];
        input.min = TIME.first;
        input.max = TIME.last;
        input.placeholder = f[2];
        input.addEventListener("change", function () {
          state[f[0]] = dayOf(input.value);
          applyFilters();
        });
        label.appendChild(input);
        box.appendChild(label);
      });
      filterBox.appendChild(box);
    }
    FACETS.forEach(function (f) {
      var group = el("details", "filter-facet");
      group.setAttribute("data-facet", f.key);
      var head = el("summary", null, f.label);
      if (f.key.indexOf("metadata.") === 0) { head.appendChild(el("span", "more", " metadata")); }
      var picked = el("span", "picked");
      head.appendChild(picked);
      group.appendChild(head);
      var list = el("div", "filter-values");
      f.values.forEach(function (value, k) {
        var label = el("label", "filter-value");
        var input = el("input");
        input.type = "checkbox";
        input.value = value;
        input.addEventListener("change", function () {
          var allowed = state.filters[f.key] = state.filters[f.key] || {};
          if (input.checked) { allowed[k] = true; } else { delete allowed[k]; }
          var n = Object.keys(allowed).length;
          picked.textContent = n ? " \u00B7 " + n + " selected" : "";
          applyFilters();
        });
        label.appendChild(input);
        label.appendChild(el("span", "value-name", value));
        label.appendChild(el("span", "num", nf.format(f.counts[k])));
        list.appendChild(label);
      });
      group.appendChild(list);
      filterBox.appendChild(group);
    });
    if (!TIME && !FACETS.length) {
      document.getElementById("filter-card").hidden = true;
    }
    document.getElementById("filter-clear").addEventListener("click", function () {
      state.filters = {};
      state.from = state.to = null;
      filterBox.querySelectorAll("input").forEach(function (input) {
        if (input.type === "checkbox") { input.checked = false; } else { input.value = ""; }
      });
      filterBox.querySelectorAll(".picked").forEach(function (p) { p.textContent = ""; });
      applyFilters();
    });
  })();

  computeFilter();
  renderDetail(null);
})();
