"""The inline stylesheet and script of the HTML report (kept apart from the markup)."""

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px 32px;
       color: #1d1d1f; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
code { font: 12.5px ui-monospace, "SFMono-Regular", Menlo, monospace; }
.summary, .note, .doc { color: #555; }
table { border-collapse: collapse; margin: 4px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f6; font-weight: 600; }
.badge { padding: 1px 8px; border-radius: 9px; font-weight: 600; font-size: 12px; }
.badge.proved { background: #d8f3dc; color: #1b5e20; }
.badge.violated { background: #fdd; color: #b71c1c; }
.badge.inconclusive { background: #fff3cd; color: #7a5b00; }
table.trace td.changed { background: #ffd54f; font-weight: 600; }
table.trace td.failure { background: #fdd; }
table.trace td.allowed { color: #444; font-size: 12px; min-width: 220px; max-width: 420px; }
table.trace tr.step.selected td { outline: 2px solid #d62728; }
.scroll { overflow: auto; max-width: 100%; }
.graph-box { border: 1px solid #ddd; border-radius: 6px; background: #fcfcfd; max-height: 1600px; }
svg.graph text { font-family: system-ui, sans-serif; fill: #222; }
svg.graph g.node.selected rect { stroke: #1565c0; stroke-width: 4; }
ul.why li { margin: 2px 0; }
td.num { text-align: right; }
span.bar { display: inline-block; height: 10px; background: #5c8bd6; border-radius: 2px; }
tr.dead td { color: #b71c1c; }
ul.diagnostics li.error { color: #b71c1c; } ul.diagnostics li.warning { color: #7a5b00; }
"""

# Clicking a step of a counterexample selects its node in the graph below it (and back).
SCRIPT = """
document.querySelectorAll("section.counterexample").forEach(function (section) {
  var rows = section.querySelectorAll("tr.step[data-node]");
  function select(node) {
    section.querySelectorAll(".selected").forEach(function (e) { e.classList.remove("selected"); });
    section.querySelectorAll('[data-node="' + node + '"]').forEach(function (e) {
      e.classList.add("selected");
    });
  }
  rows.forEach(function (row) {
    row.addEventListener("click", function () { select(row.getAttribute("data-node")); });
  });
  section.querySelectorAll("g.node").forEach(function (g) {
    g.addEventListener("click", function () { select(g.getAttribute("data-node")); });
  });
  document.body.setAttribute("data-interactive", "yes");
});
"""
