(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var conv = DATA.conversations;
  var byId = {};
  DATA.clusters.forEach(function (c) { byId[c.id] = c; });
  var nf = new Intl.NumberFormat("en-US");
  var lower = conv.summary.map(function (s) { return s.toLowerCase(); });
  var treeNodes = {};
  var state = { selected: null, query: "", matches: null };
  var MAX_CLUSTER_HITS = 30, MAX_CONVERSATION_HITS = 100;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
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
  function fixed(x, digits) {
    return x === null || x === undefined ? null : x.toFixed(digits);
  }
  function clusterLink(c) {
    var b = el("button", "link", c.name);
    b.type = "button";
    b.addEventListener("click", function () { select(c.id, "detail"); });
    return b;
  }
  function renderDetail(c) {
    var box = document.getElementById("detail");
    clear(box);
    var info = c || DATA.overview;
    var crumbs = el("nav", "breadcrumb");
    crumbs.setAttribute("aria-label", "Path");
    if (c) {
      var all = el("button", "link", "All conversations");
      all.type = "button";
      all.addEventListener("click", function () { select(null, "detail"); });
      crumbs.appendChild(all);
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

    var grid = el("div", "detail-grid");
    var left = el("div"), right = el("div");
    grid.appendChild(left); grid.appendChild(right);
    box.appendChild(grid);

    var st = info.stats, fa = DATA.facets;
    var cards = el("div", "cards");
    cards.appendChild(statCard("conversations", nf.format(info.count), true));
    cards.appendChild(statCard("of all conversations", pct(c ? c.share : 1), true));
    cards.appendChild(statCard("mean concerning score (1\u20135)",
      fixed(st.concerning_score, 2), fa.concerning_score));
    cards.appendChild(statCard("mean user frustration (1\u20135)",
      fixed(st.user_frustration, 2), fa.user_frustration));
    cards.appendChild(statCard("with assistant errors",
      st.assistant_errors === null ? null : pct(st.assistant_errors),
      fa.assistant_errors));
    left.appendChild(cards);

    var langs = el("div", "block");
    langs.appendChild(el("h3", null, "Languages"));
    if (fa.languages && st.languages && st.languages.length) {
      var bars = el("div", "bars");
      var top = st.languages[0][1];
      st.languages.forEach(function (pair) {
        bars.appendChild(el("span", null, pair[0]));
        var bar = el("span", "bar"), fill = el("span");
        fill.style.width = (100 * pair[1] / top).toFixed(1) + "%";
        bar.appendChild(fill);
        bars.appendChild(bar);
        bars.appendChild(el("span", "num", nf.format(pair[1])));
      });
      langs.appendChild(bars);
      if (st.n_languages > st.languages.length) {
        var others = st.n_languages - st.languages.length;
        langs.appendChild(el("p", "more", "and " + others + " more"));
      }
    } else {
      langs.appendChild(el("span", "na", "not available"));
    }
    left.appendChild(langs);

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
          nf.format(child.count) + " \u00B7 " + pct(child.share)));
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
        samples.appendChild(el("h3", null, "Sample summaries \u00B7 " +
          c.samples.length + " of " + nf.format(c.count) +
          ", nearest the centre first"));
        var ol = el("ol", "samples");
        c.samples.forEach(function (row) {
          var li = el("li");
          li.appendChild(el("span", null, conv.summary[row]));
          var meta = conv.chat_id[row];
          if (conv.cluster[row] !== c.id) {
            meta += " \u00B7 " + clusterName(conv.cluster[row]);
          }
          li.appendChild(el("span", "meta", meta));
          ol.appendChild(li);
        });
        samples.appendChild(ol);
      }
      right.appendChild(samples);
    }
  }

  // ---- map ----
  var gd = document.getElementById("map");
  var mapReady = false;
  function updateMap() {
    if (!mapReady) { return; }
    var keep = null;
    if (state.matches) {
      keep = {};
      state.matches.forEach(function (row) { keep[row] = true; });
    }
    var selected = state.selected;
    var points = gd.data.map(function (trace) {
      if (!keep && selected === null) { return null; }
      var idx = [], cd = trace.customdata || [];
      for (var j = 0; j < cd.length; j++) {
        var ok = keep ? keep[cd[j][0]]
          : (cd[j][1] >= 0 && isWithin(cd[j][1], selected));
        if (ok) { idx.push(j); }
      }
      return idx;
    });
    Plotly.restyle(gd, { selectedpoints: points });
  }
  if (window.Plotly) {
    var fig = DATA.figure;
    fig.data.forEach(function (t) {
      t.unselected = { marker: { opacity: 0.08 } };
      t.selected = { marker: { opacity: 1 } };
    });
    Plotly.newPlot(gd, fig.data, fig.layout, {
      responsive: true, displaylogo: false, scrollZoom: true,
      modeBarButtonsToRemove: ["select2d", "lasso2d"]
    }).then(function () {
      mapReady = true;
      gd.on("plotly_click", function (ev) {
        var p = ev && ev.points && ev.points[0];
        if (p && p.customdata && p.customdata[1] >= 0) {
          select(p.customdata[1], "map");
        }
      });
      updateMap();
    });
  } else {
    gd.appendChild(el("p", "na", "The map needs JavaScript and plotly.js."));
  }

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
      if (lower[i].indexOf(query) >= 0) { rows.push(i); }
    }
    state.matches = rows;
    clusterHits.forEach(function (c) { treeNodes[c.id].classList.add("match"); });
    out.hidden = false;
    out.appendChild(el("p", "result-head", nf.format(rows.length) + " conversation" +
      (rows.length === 1 ? "" : "s") + " and " + clusterHits.length + " cluster" +
      (clusterHits.length === 1 ? "" : "s") + " match"));
    if (clusterHits.length) {
      var cl = el("ul", "results");
      clusterHits.slice(0, MAX_CLUSTER_HITS).forEach(function (c) {
        var li = el("li");
        li.appendChild(highlighted(c.name, query));
        var kind = c.level === 0 ? "base cluster" : "level " + c.level;
        li.appendChild(el("span", "meta",
          kind + " \u00B7 " + nf.format(c.count) + " conversations"));
        li.addEventListener("click", function () { select(c.id, "search"); });
        cl.appendChild(li);
      });
      out.appendChild(cl);
    }
    var ul = el("ul", "results");
    rows.slice(0, MAX_CONVERSATION_HITS).forEach(function (row) {
      var li = el("li", "result");
      li.appendChild(highlighted(conv.summary[row], query));
      li.appendChild(el("span", "meta",
        clusterName(conv.cluster[row]) + " \u00B7 " + conv.chat_id[row]));
      li.addEventListener("click", function () {
        if (conv.cluster[row] >= 0) { select(conv.cluster[row], "search"); }
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

  renderDetail(null);
})();
