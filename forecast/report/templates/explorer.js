// The report's scenario explorer. Recomputes the exhaustion-date distribution in the
// browser from the embedded draws (forecast/explorer.py documents the payload), with the
// arithmetic of forecast.stock._StockModel.trajectories and
// forecast.exhaustion.crossing_years, in the same order of operations.
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  const form = document.getElementById("explorer-form");
  const $ = (id) => document.getElementById(id);
  const YEARS = Float64Array.from(DATA.years);
  const T = YEARS.length;
  const N = DATA.n;
  const TOL = 1e-9;
  const BY_YEARS = [2028, 2030, 2035];
  let DEMAND = null; // model -> Float64Array(N * T) of log10 tokens
  let baselineDates = null;

  function bytes(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function float32(b64) {
    const b = bytes(b64);
    const view = new DataView(b.buffer);
    const out = new Float64Array(b.length / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const P = {};
  for (const [k, v] of Object.entries(DATA.stock)) P[k] = float32(v);

  async function inflate(b64) {
    const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  async function decodeDemand() {
    const out = {};
    for (const [model, code] of Object.entries(DATA.demand)) {
      const raw = await inflate(code.data);
      const view = new DataView(raw.buffer);
      const [n, t] = code.shape;
      const values = new Float64Array(n * t);
      for (let i = 0; i < n; i++) {
        let q = 0;
        for (let j = 0; j < t; j++) {
          q = (q + view.getUint16(2 * (i * t + j), true)) % 65536;
          values[i * t + j] = code.lo + q * code.step;
        }
      }
      out[model] = values;
    }
    return out;
  }

  // --- controls -> settings (the field names of forecast.explorer.ExplorerSettings) ---
  const QUALITY_STEP = 0.05;
  const GROWTH = (v) => 0.94 + 0.01 * v; // slider 1..27 -> 0.95..1.20 per year; 0 = table
  function settings() {
    const v = (id) => $(id).value;
    const syn = v("x-synthetic");
    const q = Number(v("x-quality"));
    const g = Number(v("x-growth"));
    const demand = v("x-demand");
    return {
      demand_model: demand,
      repetition: v("x-repetition"),
      epochs: Number(v("x-epochs")),
      quality_fraction: q === 0 ? null : Math.round(q * QUALITY_STEP * 100) / 100,
      stock_growth: g === 0 ? null : Math.round(GROWTH(g) * 100) / 100,
      consent_restriction: $("x-consent").checked,
      contamination: $("x-contamination").checked,
      isolation: $("x-isolation").checked,
      synthetic: syn === "verified" ? "measured" : syn,
      synthetic_multiplier: Number(v("x-multiplier")),
      verifier_accuracy: syn === "verified" ? Number(v("x-accuracy")) : null,
    };
  }

  // --- the stock, as forecast.stock._StockModel.trajectories ---
  // H(t) / S(t), as forecast.levers.human_ratio; 1 when AI-written text is not removed.
  function humanRatio(s, i, lg, t) {
    if (!s.contamination) return 1.0;
    const a = P.ai_plateau[i];
    const r = Math.max(lg, 0.0);
    const beta = r - 1.0 / P.ai_timescale[i];
    const x = Math.max(t - P.ai_onset[i], 0.0);
    let decay = Math.exp(x * -r);
    let term = beta === 0.0 ? x : Math.expm1(x * beta) / beta;
    term *= decay;
    term *= a * r;
    decay *= a;
    decay += 1.0 - a;
    return decay + term;
  }
  function stockLog10(s, i, out) {
    const lg = s.stock_growth === null ? P.log_growth[i] : Math.log(s.stock_growth);
    const quality = s.quality_fraction === null ? P.quality[i] : Math.min(s.quality_fraction, 1.0);
    let rep = 1.0;
    if (s.repetition === "flat") rep = P.repetition_flat[i];
    else if (s.repetition === "muennighoff") {
      const e = Math.max(s.epochs, 1.0);
      rep = 1.0 + DATA.r_star * -Math.expm1(-(e - 1.0) / DATA.r_star);
    }
    let scale = P.raw_base[i] * quality * rep;
    if (s.synthetic === "fixed") {
      const m = s.synthetic_multiplier;
      scale = scale * Math.min(1.0 + (m - 1.0) * 1.0, Math.max(m, 1.0));
    } else if (s.synthetic === "measured") {
      let eff = P.synthetic_efficiency[i];
      if (s.verifier_accuracy !== null) {
        const a = s.verifier_accuracy;
        const kept = a * P.synthetic_valid_share[i];
        eff = eff * (kept / (kept + (1.0 - a) * (1.0 - P.synthetic_valid_share[i])));
      }
      const m = Math.min(1.0 + P.synthetic_ratio[i] * eff, Math.max(P.synthetic_cap[i], 1.0));
      scale = scale * m;
    }
    let odds = 0.0;
    let top = 0.0;
    if (s.consent_restriction) {
      const s0 = P.consent_anchor[i];
      if (s0 > 0) {
        odds = P.consent_plateau[i] / s0 - 1.0;
        top = P.consent_plateau[i];
      }
    }
    const c = P.isolation_cutoff[i];
    const hc = s.isolation ? humanRatio(s, i, lg, c) : 0.0;
    for (let j = 0; j < T; j++) {
      const y = YEARS[j];
      let v = Math.exp(lg * (y - DATA.base_year));
      v *= scale;
      if (s.consent_restriction) {
        let z = (y - P.consent_anchor_year[i]) * -P.consent_rate[i];
        z = Math.exp(z) * odds + 1.0;
        v *= 1.0 - top / z;
      }
      if (s.isolation) {
        const ht = humanRatio(s, i, lg, y);
        const hcy = hc * Math.exp(-lg * (y - c));
        v *= y > c ? hcy + P.isolation_verified[i] * Math.max(ht - hcy, 0.0) : ht;
      } else if (s.contamination) {
        v *= humanRatio(s, i, lg, y);
      }
      out[j] = Math.log10(v);
    }
  }

  // --- first crossing per draw, as forecast.exhaustion.crossing_years ---
  function exhaustionDates(s) {
    const demand = DEMAND[s.demand_model];
    const ls = new Float64Array(T);
    const dates = new Float64Array(N);
    const horizon = YEARS[T - 1];
    for (let i = 0; i < N; i++) {
      stockLog10(s, i, ls);
      const ld = (j) => demand[i * T + j];
      let year = NaN;
      for (let j = 0; j < T; j++) {
        if (ld(j) >= ls[j]) {
          if (j === 0) year = YEARS[0];
          else {
            const g0 = ld(j - 1) - ls[j - 1];
            const g1 = ld(j) - ls[j];
            const denom = g1 - g0;
            const frac = denom > 0 ? Math.min(Math.max(-g0 / denom, 0.0), 1.0) : 1.0;
            year = YEARS[j - 1] + frac * (YEARS[j] - YEARS[j - 1]);
          }
          break;
        }
      }
      dates[i] = year > horizon + TOL ? NaN : year;
    }
    return dates;
  }

  // --- summaries, as forecast.exhaustion.ExhaustionResult ---
  function sortedFinite(dates) {
    return Float64Array.from(dates.filter((d) => Number.isFinite(d))).sort();
  }
  function quantile(sorted, n, q) {
    const h = (n - 1) * q;
    let lo = Math.floor(h);
    let frac = h - lo;
    if (frac < 1e-12) frac = 0.0;
    else if (frac > 1 - 1e-12) {
      lo += 1;
      frac = 0.0;
    }
    const hi = frac > 0 ? lo + 1 : lo;
    if (hi >= sorted.length) return NaN;
    const a = sorted[lo];
    return frac === 0 ? a : a + frac * (sorted[hi] - a);
  }
  function mcError(dates) {
    const batches = 20;
    const size = Math.floor(dates.length / batches);
    const parts = [];
    for (let b = 0; b < batches; b++) {
      const part = sortedFinite(dates.slice(b * size, (b + 1) * size));
      const q = quantile(part, size, 0.5);
      if (!Number.isFinite(q)) return Infinity;
      parts.push(q);
    }
    const mean = parts.reduce((a, b) => a + b, 0) / batches;
    const sd = Math.sqrt(parts.reduce((a, b) => a + (b - mean) ** 2, 0) / (batches - 1));
    return sd / Math.sqrt(batches);
  }
  function summarise(dates) {
    const sorted = sortedFinite(dates);
    const n = dates.length;
    const out = {
      median: quantile(sorted, n, 0.5),
      p10: quantile(sorted, n, 0.1),
      p90: quantile(sorted, n, 0.9),
      p2_5: quantile(sorted, n, 0.025),
      p97_5: quantile(sorted, n, 0.975),
      not_exhausted_share: (n - sorted.length) / n,
      median_mc_se: mcError(dates),
    };
    for (const y of BY_YEARS) {
      let k = 0;
      while (k < sorted.length && sorted[k] < y + 1) k++;
      out["p_by_" + y] = y + 1 > YEARS[T - 1] + TOL ? NaN : k / n;
    }
    return out;
  }

  // --- display ---
  const yearText = (v) => (Number.isFinite(v) ? v.toFixed(1) : "after " + YEARS[T - 1]);
  const pct = (v) => (Number.isFinite(v) ? Math.round(100 * v) + "%" : "n/a");
  function put(id, value, text) {
    const el = $(id);
    el.dataset.value = Number.isFinite(value) ? String(value) : "nan";
    el.textContent = text;
  }
  function histogram(dates, base) {
    const svg = $("x-hist");
    const W = 640, H = 220, L = 40, B = 30, top = 10;
    const first = Math.floor(YEARS[0]), last = first + 20, width = 0.5;
    const bins = Math.round((last - first) / width);
    const count = (ds) => {
      const c = new Array(bins + 1).fill(0);
      for (const d of ds) {
        if (!Number.isFinite(d) || d >= last) c[bins]++;
        else c[Math.max(0, Math.floor((d - first) / width))]++;
      }
      return c.map((k) => k / ds.length);
    };
    const now = count(dates), was = count(base);
    const ymax = Math.max(...now, ...was, 0.01);
    const bw = (W - L - 10) / (bins + 2);
    const x = (k) => L + k * bw + (k === bins ? bw : 0);
    const y = (p) => top + (H - top - B) * (1 - p / ymax);
    let out = "";
    for (let k = 0; k <= bins; k++) {
      out += `<rect x="${x(k)}" y="${y(now[k])}" width="${bw - 1}" height="${y(0) - y(now[k])}" fill="${k === bins ? "#999" : "#0072B2"}"><title>${k === bins ? last + " or later / never" : first + k * width}: ${pct(now[k])}</title></rect>`;
    }
    let path = "";
    for (let k = 0; k <= bins; k++) path += `M${x(k)},${y(was[k])}h${bw - 1}`;
    out += `<path d="${path}" fill="none" stroke="#D55E00" stroke-width="2"/>`;
    for (let yr = first; yr < last; yr += 2) {
      const px = L + ((yr - first) / width) * bw;
      out += `<text x="${px}" y="${H - B + 16}" font-size="11" text-anchor="middle">${yr}</text>`;
    }
    out += `<text x="${x(bins) + bw / 2}" y="${H - B + 16}" font-size="11" text-anchor="middle">${last}+</text>`;
    out += `<line x1="${L}" x2="${W - 5}" y1="${y(0)}" y2="${y(0)}" stroke="#444"/>`;
    out += `<text x="${L - 4}" y="${y(ymax) + 4}" font-size="11" text-anchor="end">${pct(ymax)}</text>`;
    out += `<text x="${L - 4}" y="${y(0)}" font-size="11" text-anchor="end">0</text>`;
    out += `<rect x="${W - 190}" y="${top}" width="12" height="10" fill="#0072B2"/><text x="${W - 174}" y="${top + 9}" font-size="11">these settings</text>`;
    out += `<path d="M${W - 190},${top + 22}h12" stroke="#D55E00" stroke-width="2"/><text x="${W - 174}" y="${top + 26}" font-size="11">baseline (share per half-year)</text>`;
    svg.innerHTML = out;
  }
  function labels(s) {
    const syn = $("x-synthetic").value;
    const off = {
      "x-epochs": s.repetition !== "muennighoff",
      "x-accuracy": syn !== "verified",
      "x-multiplier": syn !== "fixed",
    };
    for (const [id, disabled] of Object.entries(off)) {
      $(id).disabled = disabled;
      document.querySelector(`label[for="${id}"]`).classList.toggle("off", disabled);
    }
    const q = s.quality_fraction;
    const g = s.stock_growth;
    const text = {
      "x-epochs-out": s.repetition === "muennighoff" ? `${s.epochs} epochs` : "muennighoff only",
      "x-quality-out": q === null ? $("x-quality").dataset.defaultText : `${Math.round(q * 100)}% fixed`,
      "x-growth-out": g === null ? $("x-growth").dataset.defaultText : `${g.toFixed(2)}x per year, fixed`,
      "x-accuracy-out": `${$("x-accuracy").value}`,
      "x-multiplier-out": `${Number($("x-multiplier").value).toFixed(1)}x`,
    };
    for (const [id, t] of Object.entries(text)) {
      $(id).textContent = t;
      const input = $(id.replace(/-out$/, ""));
      if (input && input.type === "range") input.setAttribute("aria-valuetext", t);
    }
  }
  function command(s) {
    const d = DATA.defaults;
    const parts = ["forecast run --scenario " + DATA.scenario];
    // As Python's ExplorerSettings.command() writes them (the scenario files' TOML
    // writer): numbers as floats ("5.0"), strings quoted, inline tables "{ k = v }".
    const lit = (v) =>
      typeof v === "string" ? `"${v}"` : Number.isInteger(v) ? v.toFixed(1) : String(v);
    for (const [key, value] of Object.entries(DATA.demand_overrides[s.demand_model] || {}))
      parts.push(`--set ${key}=${lit(value)}`);
    if (s.repetition !== d.repetition) parts.push(`--set stock.repetition=${lit(s.repetition)}`);
    if (s.repetition === "muennighoff" && (s.epochs !== d.epochs || s.repetition !== d.repetition))
      parts.push(`--set stock.epochs=${lit(s.epochs)}`);
    if (s.quality_fraction !== null)
      parts.push(`--set stock.quality_fraction=${lit(s.quality_fraction)}`);
    if (s.stock_growth !== null) parts.push(`--set stock.stock_growth=${lit(s.stock_growth)}`);
    for (const k of ["consent_restriction", "contamination", "isolation"])
      if (s[k]) parts.push(`--set stock.${k}=true`);
    if (s.synthetic === "fixed") parts.push(`--set stock.synthetic=${lit(s.synthetic_multiplier)}`);
    else if (s.synthetic === "measured")
      parts.push(
        s.verifier_accuracy === null
          ? "--set stock.synthetic=true"
          : `--set stock.synthetic='{ verifier_accuracy = ${lit(s.verifier_accuracy)} }'`
      );
    return parts.join(" ");
  }
  let current = null;
  function update() {
    const s = settings();
    labels(s);
    const dates = exhaustionDates(s);
    const r = summarise(dates);
    current = { settings: s, summary: r };
    put("x-median", r.median, yearText(r.median));
    put("x-mcse", r.median_mc_se, Number.isFinite(r.median_mc_se) ? "±" + r.median_mc_se.toFixed(2) : "n/a");
    put("x-p10", r.p10, yearText(r.p10));
    put("x-p90", r.p90, yearText(r.p90));
    put("x-p2_5", r.p2_5, yearText(r.p2_5));
    put("x-p97_5", r.p97_5, yearText(r.p97_5));
    for (const y of BY_YEARS) put("x-p_by_" + y, r["p_by_" + y], pct(r["p_by_" + y]));
    put("x-not-exhausted", r.not_exhausted_share, pct(r.not_exhausted_share));
    $("x-command").textContent = command(s);
    histogram(dates, baselineDates);
    document.getElementById("explorer").dataset.ready = "true";
  }
  function reset() {
    form.reset();
    update();
  }

  async function start() {
    try {
      DEMAND = await decodeDemand();
    } catch (err) {
      $("x-status").textContent =
        "The explorer needs a current browser (DecompressionStream): " + err;
      return;
    }
    const base = Object.assign({}, DATA.defaults);
    baselineDates = exhaustionDates(base);
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    $("x-reset").addEventListener("click", reset);
    $("x-status").textContent = "";
    update();
  }
  window.forecastExplorer = {
    settings: () => current && current.settings,
    summary: () => current && current.summary,
  };
  start();
})();
