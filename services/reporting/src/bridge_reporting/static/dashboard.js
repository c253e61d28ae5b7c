// Bridge HR dashboard. Reads the authenticated /reports API with the token the user provides
// (?token=… or the sign-in box; kept in sessionStorage), so every number is scoped like the API.
// window.bridgeDashboard exposes the state for tests: {ready, error, data}.
"use strict";
(function () {
  const state = { ready: false, error: null, data: null };
  window.bridgeDashboard = state;

  const KPIS = [
    ["enrolled", "Enrolled", "int"], ["matched", "Matched", "int"], ["match_rate", "Match rate", "pct"],
    ["pairs_active", "Pairs active", "int"], ["pairs_at_risk", "Pairs at risk", "int"],
    ["pairs_closed", "Pairs closed", "int"], ["pairs_completed", "Completed", "int"],
    ["pairs_ended_early", "Ended early", "int"], ["pairs_left_company", "Ended: someone left the company", "int"],
    ["pairs_flagged", "Pairs flagged for review", "int"], ["leavers", "Leavers", "int"],
    ["sessions_held", "Sessions held", "int"],
    ["median_days_between_sessions", "Median days between sessions", "num"],
    ["agreement_confirmation_rate", "Agreements confirmed", "pct"],
    ["goal_completion_rate", "Goal completion", "pct"], ["average_rating", "Average rating (1–5)", "num"],
    ["nps", "NPS", "num"], ["balance_index", "Two-way balance", "num"],
    ["notifications_failed", "Failed notifications", "int"],
  ];

  // Mentoring circles (issue 15): tiles of their own, and a small table by region below them.
  const CIRCLE_KPIS = [
    ["circles_active", "Circles active", "int"], ["circle_memberships", "Circle members", "int"],
    ["circle_sessions_held", "Group sessions held", "int"], ["circle_attendance_rate", "Attendance", "pct"],
    ["learning_share_junior_to_senior", "Learning junior → senior", "pct"],
    ["learning_share_senior_to_junior", "Learning senior → junior", "pct"],
    ["cross_generation_exchange_index", "Cross-generation exchange", "num"],
  ];

  function fmt(value, kind) {
    if (value === null || value === undefined) return "—";
    if (kind === "pct") return (value * 100).toFixed(1) + "%";
    if (kind === "num") return Number(value).toFixed(2).replace(/\.?0+$/, "");
    return String(value);
  }

  function token() {
    const url = new URL(window.location.href);
    const fromUrl = url.searchParams.get("token");
    if (fromUrl) {
      sessionStorage.setItem("bridgeToken", fromUrl);
      url.searchParams.delete("token");  // keep it out of history and screenshots
      window.history.replaceState(null, "", url.toString());
    }
    return sessionStorage.getItem("bridgeToken");
  }

  function filters() {
    const url = new URL(window.location.href);
    const params = new URLSearchParams();
    for (const key of ["cohort_id", "region", "from", "to"]) {
      const v = url.searchParams.get(key);
      if (v) params.set(key, v);
      const input = document.querySelector(`#filters [name="${key}"]`);
      if (input && v) input.value = v;
    }
    return params;
  }

  async function get(path, params, tok) {
    const r = await fetch(`${path}?${params.toString()}`, { headers: { Authorization: `Bearer ${tok}` } });
    if (r.status === 401) { sessionStorage.removeItem("bridgeToken"); throw new Error("Sign-in expired or invalid token"); }
    if (!r.ok) {
      let detail = r.statusText;
      try { const p = await r.json(); detail = p.detail || p.title || detail; } catch (e) { /* not json */ }
      throw new Error(`${path}: ${detail}`);
    }
    return r.json();
  }

  function renderKpis(k, boxId = "kpis", list = KPIS) {
    const box = document.getElementById(boxId);
    box.replaceChildren();
    for (const [key, label, kind] of list) {
      const div = document.createElement("div");
      div.className = "kpi";
      div.dataset.kpi = key;
      const l = document.createElement("div"); l.className = "label"; l.textContent = label;
      const v = document.createElement("div"); v.className = "value"; v.textContent = fmt(k[key], kind);
      v.dataset.raw = k[key] === null ? "" : String(k[key]);
      div.append(l, v);
      box.append(div);
    }
  }

  // One row per region (the breakdown's groups): a circle counts in each region it has members in,
  // a learning flow in the learner's region (the API's attribution).
  function renderCircles(regions) {
    const body = document.querySelector("#circles tbody");
    body.replaceChildren();
    const rows = regions.rows.filter((r) => r.circles_formed > 0 || r.circle_sessions_held > 0);
    if (!rows.length) {
      const tr = document.createElement("tr"); const td = document.createElement("td");
      td.colSpan = 9; td.textContent = "No mentoring circle in this scope."; tr.append(td); body.append(tr); return;
    }
    for (const r of rows) {
      const tr = document.createElement("tr");
      tr.dataset.group = r.group;
      const cells = [r.label || r.group, fmt(r.circles_active, "int"), fmt(r.circle_memberships, "int"),
                     fmt(r.circle_sessions_held, "int"), fmt(r.circle_attendance_rate, "pct"),
                     fmt(r.learning_share_junior_to_senior, "pct"), fmt(r.learning_share_senior_to_junior, "pct"),
                     fmt(r.learning_share_other, "pct"), fmt(r.cross_generation_exchange_index, "num")];
      for (const text of cells) {
        const td = document.createElement("td"); td.textContent = text; tr.append(td);
      }
      body.append(tr);
    }
  }

  // A pair is shown by its two people's display names and its cohort by its name (ids stay in the
  // row's data attributes and tooltip); an id is shown only while the name is not known yet.
  function renderAtRisk(pairs) {
    const body = document.querySelector("#atrisk tbody");
    body.replaceChildren();
    if (!pairs.length) {
      const tr = document.createElement("tr"); const td = document.createElement("td");
      td.colSpan = 7; td.textContent = "No pair is at risk."; tr.append(td); body.append(tr); return;
    }
    for (const p of pairs) {
      const tr = document.createElement("tr");
      tr.dataset.pairId = p.pair_id;
      tr.dataset.cohortId = p.cohort_id;
      tr.title = `pair ${p.pair_id} · cohort ${p.cohort_id}`;
      const since = p.risks.map((r) => r.since).sort()[0];
      const unnamed = !p.mentor_name && !p.mentee_name;
      const cells = [unnamed ? `pair ${p.pair_id}` : p.mentor_name || "?", unnamed ? "" : p.mentee_name || "?",
                     p.cohort_name || p.cohort_id, p.region || "?", null,
                     since ? since.slice(0, 10) : "", String(p.sessions_held)];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        if (i === 4) {
          for (const r of p.risks) {
            const span = document.createElement("span"); span.className = "reason";
            span.textContent = r.reason; span.title = r.detail || ""; td.append(span);
          }
        } else { td.textContent = text; }
        tr.append(td);
      });
      body.append(tr);
    }
  }

  // Pairs matching flagged after a move (they now break the management-chain rule): shown by the
  // two people's names and the cohort's name like the at-risk table, ids in data attributes.
  function renderFlagged(pairs) {
    const body = document.querySelector("#flagged tbody");
    body.replaceChildren();
    if (!pairs.length) {
      const tr = document.createElement("tr"); const td = document.createElement("td");
      td.colSpan = 6; td.textContent = "No pair is flagged."; tr.append(td); body.append(tr); return;
    }
    for (const p of pairs) {
      const tr = document.createElement("tr");
      tr.dataset.pairId = p.pair_id;
      tr.dataset.cohortId = p.cohort_id;
      tr.title = `pair ${p.pair_id} · cohort ${p.cohort_id}`;
      const unnamed = !p.mentor_name && !p.mentee_name;
      const cells = [unnamed ? `pair ${p.pair_id}` : p.mentor_name || "?", unnamed ? "" : p.mentee_name || "?",
                     p.cohort_name || p.cohort_id, p.region || "?", p.reason || p.rule,
                     p.flagged_at ? p.flagged_at.slice(0, 10) : ""];
      for (const text of cells) {
        const td = document.createElement("td"); td.textContent = text; tr.append(td);
      }
      body.append(tr);
    }
  }

  const charts = [];
  function chart(id, config) {
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
    charts.push(new window.Chart(document.getElementById(id), config));
  }

  function renderCharts(overview, weekly, regions) {
    charts.splice(0).forEach((c) => c.destroy());
    chart("funnel", {
      type: "bar",
      data: { labels: overview.funnel.map((s) => s.stage),
              datasets: [{ label: "participants", data: overview.funnel.map((s) => s.count), backgroundColor: "#3b6fd8" }] },
      options: { plugins: { legend: { display: false } } },
    });
    chart("weekly", {
      type: "bar",
      data: { labels: weekly.weeks.map((w) => w.week),
              datasets: [{ label: "sessions held", data: weekly.weeks.map((w) => w.sessions_held), backgroundColor: "#2f9e77" },
                         { label: "active pairs (week end)", type: "line", data: weekly.weeks.map((w) => w.pairs_active_at_week_end),
                           borderColor: "#d97706", backgroundColor: "#d97706" }] },
    });
    const rows = regions.rows;
    chart("balance", {
      type: "bar",
      data: { labels: rows.map((r) => r.label || r.group),
              datasets: [{ label: "balance index", data: rows.map((r) => r.balance_index), backgroundColor: "#7c3aed" }] },
      options: { scales: { y: { min: 0, max: 1 } }, plugins: { legend: { display: false } } },
    });
    chart("satisfaction", {
      type: "bar",
      data: { labels: rows.map((r) => r.label || r.group),
              datasets: [{ label: "average rating (1–5)", data: rows.map((r) => r.average_rating), backgroundColor: "#0ea5e9", yAxisID: "y" },
                         { label: "NPS (−100…100)", data: rows.map((r) => r.nps), backgroundColor: "#f43f5e", yAxisID: "y1" }] },
      options: { scales: { y: { min: 0, max: 5, position: "left" }, y1: { min: -100, max: 100, position: "right", grid: { drawOnChartArea: false } } } },
    });
  }

  async function load() {
    const status = document.getElementById("status");
    const tok = token();
    if (!tok) {
      document.getElementById("signin").hidden = false;
      status.textContent = "Sign in to see the dashboard.";
      return;
    }
    const params = filters();
    status.textContent = "Loading…";
    try {
      const byRegion = new URLSearchParams(params); byRegion.set("by", "region");
      const [overview, weekly, regions, atRisk, flagged] = await Promise.all([
        get("/reports/overview", params, tok), get("/reports/weekly", params, tok),
        get("/reports/breakdown", byRegion, tok), get("/reports/at-risk-pairs", params, tok),
        get("/reports/flagged-pairs", params, tok),
      ]);
      state.data = { overview, weekly, regions, atRisk, flagged };
      renderKpis(overview.kpis);
      renderKpis(overview.kpis, "circle-kpis", CIRCLE_KPIS);
      renderCircles(regions);
      renderAtRisk(atRisk);
      renderFlagged(flagged);
      document.getElementById("content").hidden = false;
      renderCharts(overview, weekly, regions);
      const scope = overview.filters.regions ? overview.filters.regions.join(", ") : "all regions";
      const cohort = overview.filters.cohort_id ? overview.cohort_name || overview.filters.cohort_id : "all cohorts";
      status.textContent = `Scope: ${cohort} · ${scope} · updated ${new Date().toLocaleTimeString()}`;
      state.ready = true;
    } catch (err) {
      state.error = String(err.message || err);
      status.textContent = state.error;
      status.className = "error";
      if (!sessionStorage.getItem("bridgeToken")) document.getElementById("signin").hidden = false;
    }
  }

  document.getElementById("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("bridgeToken", document.getElementById("token").value.trim());
    document.getElementById("signin").hidden = true;
    load();
  });
  document.getElementById("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const url = new URL(window.location.href);
    for (const el of e.target.elements) {
      if (!el.name) continue;
      if (el.value) url.searchParams.set(el.name, el.value); else url.searchParams.delete(el.name);
    }
    window.history.replaceState(null, "", url.toString());
    state.ready = false;
    load();
  });
  load();
})();
