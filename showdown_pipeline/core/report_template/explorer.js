// The segment explorer. It reads its data from the JSON block #segment-data and builds every element
// with DOM calls (createElement, textContent, properties): no markup is ever parsed from data, so a
// model id or a segment value is always text, whatever characters it holds.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('segment-data').textContent);
  const dimSel = document.getElementById('segment-dim');
  const valSel = document.getElementById('segment-value');
  const table = document.getElementById('segment-table');
  const heat = document.getElementById('segment-heatmap');
  const caption = document.getElementById('segment-caption');
  const styleBox = document.getElementById('segment-style');
  const styleTest = document.getElementById('segment-style-test');
  const dims = Object.keys(data.rows);

  function fmt(x) { return x === null || x === undefined ? '' : Number(x).toFixed(1); }
  function blank(x) { return x === null || x === undefined; }
  // as the overall table (report.py _rank_range, _share): "3" or "2–5", "12.5%" or "<0.1%", "—" for none
  function rankRange(r) {
    if (blank(r.rank_lower) || blank(r.rank_upper)) return '—';
    return r.rank_lower === r.rank_upper ? String(r.rank_lower) : r.rank_lower + '–' + r.rank_upper;
  }
  function share(x) {
    if (blank(x) || !Number.isFinite(x)) return '—';
    return x > 0 && x < 0.001 ? '<0.1%' : (100 * x).toFixed(1) + '%';
  }
  function label(dim) { return dim.replace('_', ' '); }
  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }
  function valuesOf(dim) { return data.values[dim] || []; }
  // The raw/style toggle: which board's segment rows are shown (every row names its board).
  function board() { return styleBox.checked ? 'style' : 'raw'; }
  function rowsOf(dim) { return (data.rows[dim] || []).filter(r => r.board === board()); }

  function fillDims() { dimSel.replaceChildren(...dims.map(d => new Option(label(d), d))); }
  function fillValues() { valSel.replaceChildren(...valuesOf(dimSel.value).map(v => new Option(v, v))); }

  function diffCell(r) {
    const sign = r.diff_vs_overall > 0 ? '+' : '';
    const td = el('td', sign + fmt(r.diff_vs_overall) + (r.differs_from_overall ? ' *' : ''));
    if (r.differs_from_overall) td.className = r.diff_vs_overall > 0 ? 'up' : 'down';
    return td;
  }
  function badgeCell(r) {
    const td = el('td');
    if (r.provisional) {
      const badge = el('span', 'provisional', 'badge');
      badge.title = r.provisional_reason || '';
      td.append(badge);
    }
    return td;
  }
  function shiftText(rows) {
    if (!rows.length) return '';
    const p = rows[0].style_shift_p_value;
    if (p === null || p === undefined) {
      return 'Style coefficients here vs overall: not tested (fewer than ' + data.style_test_min_votes +
        ' votes with style features, or the segment alone cannot rate its models).';
    }
    const shown = p < 0.0001 ? p.toExponential(1) : p.toFixed(4);
    return 'Style coefficients here vs overall: p = ' + shown + ' (score test' +
      (p < 0.05 ? '; they differ at 5%' : '') + ').';
  }
  function renderTable() {
    const dim = dimSel.value;
    const value = valSel.value;
    const rows = rowsOf(dim).filter(r => r.segment_value === value);
    const kind = board() === 'style' ? ' (style-controlled)' : '';
    caption.textContent = label(dim) + ' = ' + value + kind + ': ' + rows.length + ' models';
    styleTest.textContent = board() === 'style' ? shiftText(rows) : '';
    let prevTier = null;
    table.tBodies[0].replaceChildren(...rows.map(r => {
      const tr = el('tr');
      tr.append(
        el('td', r.rank), el('td', r.model_id), el('td', blank(r.tier) ? '—' : r.tier),
        el('td', rankRange(r)), el('td', fmt(r.rating)),
        el('td', fmt(r.ci_lower) + ' – ' + fmt(r.ci_upper)),
        el('td', r.rating_unshrunk === null ? '–' : fmt(r.rating_unshrunk)),
        diffCell(r), el('td', share(r.p_top1)), el('td', r.votes), badgeCell(r));
      if (prevTier !== null && !blank(r.tier) && r.tier !== prevTier) tr.className = 'tier-start';
      prevTier = blank(r.tier) ? prevTier : r.tier;
      return tr;
    }));
  }

  function heatColour(diff) {
    if (!Number.isFinite(diff)) return '';
    const t = Math.max(-1, Math.min(1, diff / 40));
    return t >= 0 ? 'rgba(46,125,50,' + (0.1 + 0.7 * t) + ')' : 'rgba(198,40,40,' + (0.1 - 0.7 * t) + ')';
  }
  function heatCell(model, value, r) {
    const td = el('td');
    if (!r) return td;
    td.textContent = r.differs_from_overall ? '*' : '';
    td.style.backgroundColor = heatColour(r.diff_vs_overall);
    td.title = model + ' in ' + value + ': ' + fmt(r.diff_vs_overall) + ' vs overall';
    return td;
  }
  function renderHeatmap() {
    const dim = dimSel.value;
    const values = valuesOf(dim).slice(0, 16);
    if (valSel.value && !values.includes(valSel.value)) values.push(valSel.value);
    // model -> segment value -> row: nested maps, never a joined string key (ids may hold any character)
    const cells = new Map();
    rowsOf(dim).forEach(r => {
      if (!cells.has(r.model_id)) cells.set(r.model_id, new Map());
      cells.get(r.model_id).set(r.segment_value, r);
    });
    const head = el('tr');
    head.append(el('th'));
    values.forEach(v => { const th = el('th', null, 'rot'); th.append(el('span', v)); head.append(th); });
    const body = data.models.slice(0, 15).map(m => {
      const tr = el('tr');
      tr.append(el('th', m));
      const row = cells.get(m) || new Map();
      values.forEach(v => tr.append(heatCell(m, v, row.get(v))));
      return tr;
    });
    heat.replaceChildren(head, ...body);
  }

  // #segment=DIM:VALUE (raw) or #style-segment=DIM:VALUE (style toggle on), VALUE percent-encoded (the
  // separator may be ':' or '%3A'; DIM is a known name).
  function selectFromHash() {
    const match = /^#(style-)?segment=([a-z_]+)(?::|%3A)(.*)$/i.exec(location.hash);
    if (!match || !dims.includes(match[2])) return;
    let value;
    try { value = decodeURIComponent(match[3]); } catch (e) { return; }
    styleBox.checked = Boolean(match[1]);
    dimSel.value = match[2];
    fillValues();
    if (valuesOf(match[2]).includes(value)) valSel.value = value;
  }
  function renderAll() { renderTable(); renderHeatmap(); }

  if (!dims.length) { caption.textContent = 'No segment boards in this snapshot.'; }
  else {
    fillDims(); fillValues(); selectFromHash(); renderAll();
    dimSel.addEventListener('change', () => { fillValues(); renderAll(); });
    valSel.addEventListener('change', renderAll);
    styleBox.addEventListener('change', renderAll);
    window.addEventListener('hashchange', () => { selectFromHash(); renderAll(); });
  }
  document.body.setAttribute('data-ready', 'true');
})();
