// The Tanqory dashboard: KPIs, charts and tables from the analyst API (roles analyst or
// admin), refreshed live from the change stream. No inline script (the page's CSP refuses
// it): everything the page needs from the server comes from its two <meta> tags.
"use strict";

(() => {
  const TOKEN_KEY = "tanqory.dashboard.token"; // sessionStorage: this tab only
  const STAFF_ROLES = ["analyst", "admin"];
  // Changes to these read models change the KPIs and charts ("analytics_facts": what the
  // analyst API reads from).
  const LIVE_MODELS = new Set(["orders", "payments", "analytics", "analytics_facts"]);
  const REFETCH_DEBOUNCE_MS = 300;
  const LAG_EVERY_MS = 3000;
  const RECONNECT_FIRST_MS = 1000;
  const RECONNECT_MAX_MS = 15000;
  const HOUR_MS = 3600 * 1000;
  const DAY_MS = 24 * HOUR_MS;
  const CHART_CONFIG = { displaylogo: false, responsive: true };

  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const apiRoot = meta("tanqory-api-root");
  const signInBase = meta("tanqory-sign-in");
  const byId = (id) => document.getElementById(id);

  const state = {
    token: sessionStorage.getItem(TOKEN_KEY),
    range: byId("range").value,
    currency: "USD",
    refetchTimer: null,
    lagTimer: null,
    stream: null, // the AbortController of the open stream
  };

  class HttpError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  async function detailOf(response) {
    try {
      const body = await response.json();
      return body.detail || body.title || response.statusText;
    } catch {
      return response.statusText;
    }
  }

  async function getJson(path) {
    const response = await fetch(apiRoot + path, {
      headers: { Authorization: `Bearer ${state.token}`, Accept: "application/json" },
      cache: "no-store",
    });
    if (!response.ok) throw new HttpError(response.status, await detailOf(response));
    return response.json();
  }

  // --- signing in ----------------------------------------------------------------------

  function rolesOf(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
      return Array.isArray(claims.roles) ? claims.roles : [];
    } catch {
      return null;
    }
  }

  function refusal(error) {
    if (error.status === 401) return `Your sign-in was refused (401: ${error.message}). Sign in again.`;
    if (error.status === 403) return `Not allowed (403: ${error.message}). The dashboard needs the analyst or admin role.`;
    return null;
  }

  function useToken(token) {
    const roles = rolesOf(token);
    if (roles === null) return "That is not an access token (a JWT).";
    if (!roles.some((role) => STAFF_ROLES.includes(role))) {
      return `This token's roles (${roles.join(", ") || "none"}) cannot read the dashboard: it needs analyst or admin.`;
    }
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    showBoard();
    return "";
  }

  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    stopLive();
    byId("board").hidden = true;
    byId("controls").hidden = true;
    byId("sign-in").hidden = false;
    byId("sign-in-message").textContent = message || "";
  }

  byId("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    byId("sign-in-message").textContent = useToken(byId("token-input").value.trim());
  });

  byId("login-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = byId("sign-in-message");
    message.textContent = "Signing in…";
    try {
      const response = await fetch(`${signInBase}/api/v1/auth/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ email: byId("login-email").value, password: byId("login-password").value }),
      });
      if (!response.ok) throw new HttpError(response.status, await detailOf(response));
      message.textContent = useToken((await response.json()).access_token);
    } catch (error) {
      message.textContent = error instanceof HttpError
        ? `Sign-in refused (${error.status}): ${error.message}`
        : `Could not reach the sign-in service: ${error.message}`;
    }
  });

  byId("sign-out").addEventListener("click", () => signOut(""));

  // --- what the board shows ------------------------------------------------------------

  function currentRange() {
    const to = new Date();
    const hourly = state.range === "48h";
    const span = hourly ? 48 * HOUR_MS : Number(state.range) * DAY_MS;
    const from = new Date(to.getTime() - span);
    const query = `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    return { query, interval: hourly ? "hour" : "day" };
  }

  function money(value) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: state.currency }).format(Number(value));
    } catch {
      return `${value} ${state.currency}`;
    }
  }

  function setKpi(id, raw, shown) {
    const element = byId(id);
    element.dataset.value = String(raw);
    element.textContent = shown;
  }

  function renderKpis(sales, funnel) {
    const stage = (name) => (funnel.stages.find((s) => s.stage === name) || { orders: 0 }).orders;
    const placed = stage("placed");
    const paid = stage("paid");
    setKpi("kpi-revenue", sales.totals.revenue, money(sales.totals.revenue));
    setKpi("kpi-orders", placed, String(placed));
    setKpi("kpi-aov", sales.totals.average_order_value, money(sales.totals.average_order_value));
    const conversion = placed ? paid / placed : 0;
    setKpi("kpi-conversion", conversion.toFixed(4), `${(conversion * 100).toFixed(1)} %`);
  }

  function renderSales(sales) {
    const points = sales.series.length ? sales.series[0].points : [];
    const at = points.map((p) => p.at);
    Plotly.react("chart-sales", [
      { type: "bar", name: "Revenue", x: at, y: points.map((p) => Number(p.revenue)), marker: { color: "#2f6fdb" } },
      { type: "scatter", mode: "lines+markers", name: "Orders", x: at, y: points.map((p) => p.orders), yaxis: "y2", line: { color: "#e8590c" } },
    ], {
      margin: { t: 10, r: 50, b: 40, l: 60 },
      legend: { orientation: "h" },
      yaxis: { title: { text: `Revenue (${state.currency})` }, rangemode: "tozero" },
      yaxis2: { title: { text: "Paid orders" }, overlaying: "y", side: "right", rangemode: "tozero" },
    }, CHART_CONFIG);
  }

  function renderTopProducts(top) {
    const rows = [...top.data].reverse(); // the best at the top of a horizontal bar chart
    Plotly.react("chart-top", [{
      type: "bar", orientation: "h", x: rows.map((r) => Number(r.revenue)), y: rows.map((r) => r.name),
      customdata: rows.map((r) => r.units), hovertemplate: "%{y}: %{x} (%{customdata} units)<extra></extra>",
      marker: { color: "#2f6fdb" },
    }], { margin: { t: 10, r: 20, b: 40, l: 160 }, xaxis: { title: { text: `Revenue (${state.currency})` } } }, CHART_CONFIG);
  }

  function renderFunnel(funnel) {
    Plotly.react("chart-funnel", [{
      type: "funnel", y: funnel.stages.map((s) => s.stage), x: funnel.stages.map((s) => s.orders),
      textinfo: "value+percent initial", marker: { color: "#2f6fdb" },
    }], { margin: { t: 10, r: 20, b: 40, l: 80 } }, CHART_CONFIG);
  }

  function fillTable(id, rows) {
    const body = byId(id).tBodies[0];
    body.replaceChildren(...rows.map(({ cells, className }) => {
      const tr = document.createElement("tr");
      if (className) tr.className = className;
      for (const [text, numeric] of cells) {
        const td = document.createElement("td");
        td.textContent = String(text);
        if (numeric) td.className = "number";
        tr.append(td);
      }
      return tr;
    }));
  }

  function renderLowStock(inventory) {
    fillTable("low-stock", inventory.data.map((item) => ({
      cells: [[item.name, false], [item.sku, false], [item.available, true], [item.reserved, true],
        [item.days_of_cover === null ? "–" : Number(item.days_of_cover).toFixed(1), true]],
    })));
  }

  async function refreshLag() {
    try {
      const response = await fetch(`${apiRoot}/ready`, { cache: "no-store" });
      const checks = (await response.json()).checks || {};
      const report = [checks.projector, checks.projection].find((c) => c && typeof c === "object");
      const contexts = report ? report.contexts : {};
      fillTable("lag", Object.entries(contexts).map(([name, c]) => ({
        cells: [[name, false], [c.lag_events, true]], className: c.lag_events > 0 ? "behind" : "",
      })));
    } catch {
      fillTable("lag", [{ cells: [["(the read API did not answer)", false], ["–", true]] }]);
    }
  }

  function showError(error) {
    const message = error instanceof HttpError ? refusal(error) : null;
    if (message) {
      signOut(message);
      return;
    }
    byId("board-message").textContent = error instanceof HttpError
      ? `The analyst API answered ${error.status}: ${error.message}`
      : `The analyst API could not be reached: ${error.message}`;
  }

  async function refreshFigures() {
    const { query, interval } = currentRange();
    try {
      const [sales, top, funnel] = await Promise.all([
        getJson(`/api/v1/analytics/sales?${query}&interval=${interval}`),
        getJson(`/api/v1/analytics/top-products?${query}&limit=10`),
        getJson(`/api/v1/analytics/funnel?${query}`),
      ]);
      state.currency = (sales.currency || state.currency).toUpperCase();
      renderKpis(sales, funnel);
      renderSales(sales);
      renderTopProducts(top);
      renderFunnel(funnel);
      byId("board-message").textContent = "";
    } catch (error) {
      showError(error);
    }
  }

  async function refreshLowStock() {
    const { query } = currentRange();
    try {
      renderLowStock(await getJson(`/api/v1/analytics/inventory?${query}&low_only=true&limit=20`));
    } catch (error) {
      showError(error);
    }
  }

  function refreshEverything() {
    return Promise.all([refreshFigures(), refreshLowStock(), refreshLag()]);
  }

  function refetchSoon() {
    clearTimeout(state.refetchTimer);
    state.refetchTimer = setTimeout(refreshFigures, REFETCH_DEBOUNCE_MS);
  }

  byId("range").addEventListener("change", (event) => {
    state.range = event.target.value;
    refreshEverything();
  });

  // --- live: the change stream, read with fetch() (EventSource cannot send a token) -----

  function setLive(status) {
    const element = byId("live-status");
    element.dataset.state = status;
    element.textContent = { live: "live", reconnecting: "reconnecting…", off: "offline" }[status];
  }

  function parseMessage(block) {
    const message = { event: "message", id: null, data: [] };
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue; // a keep-alive comment
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") message.event = value;
      else if (field === "data") message.data.push(value);
      else if (field === "id") message.id = value;
    }
    return message;
  }

  function onMessage(message) {
    if (message.event === "reset") {
      refreshEverything();
    } else if (message.event === "change" && message.data.length) {
      try {
        if (LIVE_MODELS.has(JSON.parse(message.data.join("\n")).model)) refetchSoon();
      } catch {
        // not JSON: nothing to act on
      }
    }
  }

  async function readStream(controller, lastEventId) {
    const headers = { Authorization: `Bearer ${state.token}`, Accept: "text/event-stream" };
    if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
    const response = await fetch(`${apiRoot}/api/v1/stream`, { headers, signal: controller.signal, cache: "no-store" });
    if (!response.ok) throw new HttpError(response.status, await detailOf(response));
    setLive("live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let last = lastEventId;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return last;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const message = parseMessage(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (message.id !== null) last = message.id;
        onMessage(message);
      }
    }
  }

  async function streamChanges(controller) {
    let lastEventId = null;
    let delay = RECONNECT_FIRST_MS;
    while (!controller.signal.aborted) {
      try {
        lastEventId = await readStream(controller, lastEventId);
        delay = RECONNECT_FIRST_MS;
      } catch (error) {
        if (controller.signal.aborted) return;
        const message = error instanceof HttpError ? refusal(error) : null;
        if (message) {
          signOut(message);
          return;
        }
      }
      setLive("reconnecting");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  }

  function startLive() {
    stopLive();
    state.stream = new AbortController();
    streamChanges(state.stream);
    state.lagTimer = setInterval(refreshLag, LAG_EVERY_MS);
  }

  function stopLive() {
    if (state.stream) state.stream.abort();
    state.stream = null;
    clearInterval(state.lagTimer);
    clearTimeout(state.refetchTimer);
    setLive("off");
  }

  function showBoard() {
    byId("sign-in").hidden = true;
    byId("board").hidden = false;
    byId("controls").hidden = false;
    refreshEverything();
    startLive();
  }

  if (state.token) showBoard();
  else signOut("");
})();
