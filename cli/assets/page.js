/* page.js - the waterfall of `agenttrace html`: builds the span trees from
 * the embedded records (spans whose parent is missing become marked roots),
 * draws one row per span with its bar on the trace's time axis, and opens a
 * span's transcript and attributes on click.  Never touches the network;
 * text from the trace is only ever set as textContent. */
(function () {
  'use strict';

  var spans = JSON.parse(document.getElementById('spans').textContent);
  var meta = JSON.parse(document.getElementById('meta').textContent);
  var resources = meta.resources || [];

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function fmtDur(ns) {
    var s = ns / 1e9;
    if (!(s >= 0)) return '-';
    if (s < 1e-3) return (s * 1e6).toFixed(0) + ' \u00b5s';
    if (s < 1) return (s * 1e3).toFixed(1) + ' ms';
    if (s < 60) return s.toFixed(2) + ' s';
    return Math.floor(s / 60) + 'm' + ('0' + Math.floor(s % 60)).slice(-2) + 's';
  }

  function fmtCost(usd) {
    if (!(usd >= 0)) return '';
    if (usd >= 0.01) return '$' + usd.toFixed(2);
    if (usd >= 0.0001) return '$' + usd.toFixed(4);
    return '$' + usd.toFixed(6);
  }

  function attr(s, k) {
    return s.a && Object.prototype.hasOwnProperty.call(s.a, k) ? s.a[k] : undefined;
  }

  /* ---------------------------------------------------------- the trees */

  var byId = new Map();
  spans.forEach(function (s, i) {
    s.i = i;
    s.kids = [];
    s.parent = null;
    var key = s.t + ':' + s.s;
    if (!byId.has(key)) byId.set(key, s);
  });
  spans.forEach(function (s) {
    if (!s.p) return;
    var p = byId.get(s.t + ':' + s.p);
    if (p && p !== s) {
      s.parent = p;
      p.kids.push(s);
    } else {
      s.orphan = true;
    }
  });
  function byStart(x, y) { return x.b - y.b || x.i - y.i; }
  spans.forEach(function (s) { s.kids.sort(byStart); });

  /* Parent cycles: whatever no root reaches becomes a root. */
  var seen = new Uint8Array(spans.length);
  function reach(root) {
    var stack = [root];
    while (stack.length) {
      var s = stack.pop();
      if (seen[s.i]) continue;
      seen[s.i] = 1;
      for (var k = 0; k < s.kids.length; k++) stack.push(s.kids[k]);
    }
  }
  spans.forEach(function (s) { if (!s.parent) reach(s); });
  spans.forEach(function (s) {
    if (seen[s.i]) return;
    var p = s.parent;
    p.kids.splice(p.kids.indexOf(s), 1);
    s.parent = null;
    s.orphan = true;
    s.cycle = true;
    reach(s);
  });

  var traces = new Map();
  spans.forEach(function (s) {
    var t = traces.get(s.t);
    if (!t) {
      t = { id: s.t, roots: [], start: Infinity, end: -Infinity, n: 0, failed: 0 };
      traces.set(s.t, t);
    }
    t.n++;
    if (s.f) t.failed++;
    if (s.b < t.start) t.start = s.b;
    if (s.e > t.end) t.end = s.e;
    if (!s.parent) t.roots.push(s);
  });
  var traceList = Array.from(traces.values());
  traceList.forEach(function (t) { t.roots.sort(byStart); });
  traceList.sort(function (x, y) { return x.start - y.start || (x.id < y.id ? -1 : 1); });

  /* ------------------------------------------------------------ summary */

  (function summary() {
    var box = document.getElementById('summary');
    var llm = 0, tools = 0, inTok = 0, outTok = 0, cost = 0, priced = 0, failed = 0;
    spans.forEach(function (s) {
      if (s.c === 'llm') {
        llm++;
        var v = attr(s, 'gen_ai.usage.input_tokens');
        if (typeof v === 'number') inTok += v;
        v = attr(s, 'gen_ai.usage.output_tokens');
        if (typeof v === 'number') outTok += v;
        v = attr(s, 'agenttrace.cost.usd');
        if (typeof v === 'number') { cost += v; priced++; }
      }
      if (s.c === 'tool') tools++;
      if (s.f) failed++;
    });
    function add(text, bold, cls) {
      var b = el(bold ? 'b' : 'span', cls, text);
      box.appendChild(b);
      box.appendChild(document.createTextNode('  '));
    }
    add(meta.file, true);
    add(traceList.length + (traceList.length === 1 ? ' trace' : ' traces'));
    add(spans.length + (spans.length === 1 ? ' span' : ' spans'));
    add(llm + ' model calls, ' + tools + ' tool calls');
    add('tokens ' + inTok + ' in / ' + outTok + ' out');
    if (priced) add('cost ' + fmtCost(cost));
    add(failed + ' failed', false, failed ? 'bad' : '');
    if (meta.skipped) add(meta.skipped + ' lines skipped (not spans)', false, 'bad');
  })();

  /* --------------------------------------------------------------- rows */

  var main = document.getElementById('waterfall');
  var rows = [];          /* row element per span index */
  var order = [];         /* spans in display order */
  var collapsed = new Uint8Array(spans.length);

  function facts(s) {
    var bits = [];
    if (s.c === 'llm') {
      var i = attr(s, 'gen_ai.usage.input_tokens'), o = attr(s, 'gen_ai.usage.output_tokens');
      if (i !== undefined || o !== undefined) bits.push((i === undefined ? '?' : i) + ' in / ' + (o === undefined ? '?' : o) + ' out');
      var c = attr(s, 'agenttrace.cost.usd');
      if (typeof c === 'number') bits.push(fmtCost(c));
      var fr = attr(s, 'gen_ai.response.finish_reasons');
      if (Array.isArray(fr) && fr.length) bits.push('finish ' + fr.join(','));
    } else if (s.c === 'tool') {
      var args = attr(s, 'gen_ai.tool.call.arguments');
      if (args !== undefined) bits.push(typeof args === 'string' ? args : JSON.stringify(args));
      if (s.st === 'unset') bits.push('no result');
    } else if (s.c === 'http') {
      var code = attr(s, 'http.response.status_code');
      if (code !== undefined) bits.push('HTTP ' + code);
    } else if (s.c === 'agent' || s.c === 'process') {
      var ex = attr(s, 'process.exit_code');
      if (ex !== undefined) bits.push('exit ' + ex);
    }
    if (s.f && s.m) bits.unshift(s.m);
    else if (s.f && attr(s, 'error.type')) bits.unshift(String(attr(s, 'error.type')));
    var text = bits.join('  ');
    return text.length > 200 ? text.slice(0, 199) + '\u2026' : text;
  }

  function traceHead(t) {
    var head = el('div', 'trace-head');
    var title = el('div', 'title');
    title.appendChild(el('span', null, 'trace ' + t.id));
    title.appendChild(el('span', 'sub', fmtDur(t.end - t.start) + '  ' + t.n + (t.n === 1 ? ' span' : ' spans')));
    if (t.failed) title.appendChild(el('span', 'sub bad', '\u2717 ' + t.failed + ' failed'));
    head.appendChild(title);
    var axis = el('div', 'axis');
    var span = Math.max(t.end - t.start, 1);
    for (var k = 0; k < 5; k++) {
      var tick = el('div', 'tick', fmtDur(span * k / 4));
      tick.style.left = (k * 25) + '%';
      if (k === 4) { tick.style.left = 'auto'; tick.style.right = '0'; tick.style.borderLeft = '0'; tick.style.borderRight = '1px dashed #cbd5e1'; tick.style.paddingRight = '3px'; }
      axis.appendChild(tick);
    }
    head.appendChild(axis);
    return head;
  }

  function spanRow(s, depth, t) {
    var row = el('div', 'span-row cat-' + s.c + (s.f ? ' failed' : ''));
    row.dataset.i = s.i;
    row.setAttribute('role', 'button');
    row.tabIndex = 0;
    var label = el('div', 'label');
    label.style.paddingLeft = (8 + Math.min(depth, 40) * 16) + 'px';
    var caret = el('span', 'caret' + (s.kids.length ? '' : ' leaf'), '\u25be');
    caret.dataset.caret = '1';
    label.appendChild(caret);
    label.appendChild(el('span', 'swatch'));
    label.appendChild(el('span', 'name', s.n));
    if (s.orphan) label.appendChild(el('span', 'orphan', s.cycle ? 'parent cycle' : 'parent missing'));
    label.appendChild(el('span', 'facts', facts(s)));
    label.title = s.n;
    row.appendChild(label);
    var lane = el('div', 'lane');
    var span = Math.max(t.end - t.start, 1);
    var left = (s.b - t.start) / span * 100;
    var width = Math.max((s.e - s.b) / span * 100, 0);
    var bar = el('div', 'bar');
    bar.style.left = left + '%';
    bar.style.width = width + '%';
    lane.appendChild(bar);
    var ttfc = attr(s, 'gen_ai.response.time_to_first_chunk');
    if (typeof ttfc === 'number' && width > 0) {
      var mark = el('div', 'ttfc');
      mark.style.left = ((s.b - t.start + ttfc * 1e9) / span * 100) + '%';
      mark.title = 'first chunk';
      lane.appendChild(mark);
    }
    var dur = el('div', 'dur', fmtDur(s.e - s.b));
    dur.style.left = Math.min(left + width, 100) + '%';
    lane.appendChild(dur);
    row.appendChild(lane);
    return row;
  }

  function render() {
    var frag = document.createDocumentFragment();
    if (!spans.length) {
      frag.appendChild(el('div', 'empty', 'No spans in ' + meta.file + '.'));
    }
    traceList.forEach(function (t) {
      frag.appendChild(traceHead(t));
      var stack = [];
      for (var r = t.roots.length - 1; r >= 0; r--) stack.push([t.roots[r], 0]);
      while (stack.length) {
        var top = stack.pop(), s = top[0];
        s.depth = top[1];
        var row = spanRow(s, top[1], t);
        rows[s.i] = row;
        order.push(s);
        frag.appendChild(row);
        for (var k = s.kids.length - 1; k >= 0; k--) stack.push([s.kids[k], top[1] + 1]);
      }
    });
    main.appendChild(frag);
  }

  /* ------------------------------------------------- collapse and filter */

  function hiddenByAncestor(s) {
    for (var p = s.parent; p; p = p.parent) if (collapsed[p.i]) return true;
    return false;
  }

  function keepForErrors(s) {
    if (s.f) return true;
    var stack = s.kids.slice();
    while (stack.length) {
      var k = stack.pop();
      if (k.f) return true;
      for (var j = 0; j < k.kids.length; j++) stack.push(k.kids[j]);
    }
    return false;
  }

  function applyView() {
    var q = document.getElementById('filter').value.trim().toLowerCase();
    var errorsOnly = document.getElementById('errors-only').checked;
    order.forEach(function (s) {
      var show = !hiddenByAncestor(s);
      if (show && errorsOnly) show = keepForErrors(s);
      if (show && q) show = s.n.toLowerCase().indexOf(q) >= 0;
      rows[s.i].classList.toggle('hidden', !show);
      var caret = rows[s.i].querySelector('.caret');
      caret.textContent = collapsed[s.i] ? '\u25b8' : '\u25be';
    });
  }

  /* ------------------------------------------------------------- detail */

  function pre(text) { return el('pre', null, text); }

  function oneLine(text, max) {
    var t = String(text).replace(/\s+/g, ' ').trim();
    return t.length > max ? t.slice(0, max - 1) + '\u2026' : t;
  }

  function pretty(v) {
    if (typeof v === 'string') {
      var t = v.trim();
      if (t[0] === '{' || t[0] === '[') {
        try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* as is */ }
      }
      return v;
    }
    return JSON.stringify(v, null, 2);
  }

  function kvTable(pairs) {
    var table = el('table', 'kv');
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '') return;
      var tr = el('tr');
      tr.appendChild(el('td', null, p[0]));
      var td = el('td');
      if (p[1] instanceof Node) td.appendChild(p[1]);
      else td.appendChild(pre(typeof p[1] === 'string' ? p[1] : JSON.stringify(p[1])));
      tr.appendChild(td);
      table.appendChild(tr);
    });
    return table;
  }

  function partNode(p) {
    if (typeof p === 'string') return pre(p);
    if (!p || typeof p !== 'object') return pre(String(p));
    var box;
    if (p.type === 'text') return pre(typeof p.content === 'string' ? p.content : pretty(p.content));
    if (p.type === 'reasoning') {
      box = el('div', 'muted');
      box.appendChild(el('div', null, '(reasoning)'));
      box.appendChild(pre(pretty(p.content)));
      return box;
    }
    if (p.type === 'tool_call') {
      box = el('div', 'part-call');
      var head = el('div', 'head', '\u2192 tool call ' + (p.name || '?'));
      if (p.id) head.appendChild(el('span', 'id', p.id));
      box.appendChild(head);
      if (p.arguments !== undefined) box.appendChild(pre(pretty(p.arguments)));
      return box;
    }
    if (p.type === 'tool_call_response') {
      box = el('div', 'part-result');
      var h = el('div', 'head', '\u2190 tool result');
      if (p.id) h.appendChild(el('span', 'id', p.id));
      box.appendChild(h);
      if (p.response !== undefined) box.appendChild(pre(pretty(p.response)));
      return box;
    }
    return pre('[' + (p.type || '?') + '] ' + JSON.stringify(p));
  }

  function messages(list, into) {
    (Array.isArray(list) ? list : []).forEach(function (m) {
      var role = (m && m.role) || '?';
      var box = el('div', 'msg role-' + role);
      box.dataset.role = role;
      var r = el('div', 'role', role);
      if (m.finish_reason) r.appendChild(el('span', 'finish', 'finish ' + m.finish_reason));
      box.appendChild(r);
      if (Array.isArray(m.parts)) m.parts.forEach(function (p) { box.appendChild(partNode(p)); });
      else if (m.content !== undefined) box.appendChild(pre(pretty(m.content)));
      into.appendChild(box);
    });
  }

  var shownApart = ['gen_ai.system_instructions', 'gen_ai.input.messages', 'gen_ai.output.messages',
                    'gen_ai.tool.definitions', 'gen_ai.tool.call.arguments', 'gen_ai.tool.call.result',
                    'agenttrace.http.request.body', 'agenttrace.http.response.body'];

  var selected = null;

  function openDetail(s) {
    if (selected !== null && rows[selected]) rows[selected].classList.remove('selected');
    selected = s.i;
    rows[s.i].classList.add('selected');
    var box = document.getElementById('detail-body');
    box.textContent = '';
    var title = el('h2', s.f ? 'failed' : null, (s.f ? '\u2717 ' : '') + s.n);
    box.appendChild(title);
    var status = el('span', s.st === 'error' ? 'status-error' : null, s.st + (s.m ? ': ' + s.m : ''));
    var model = attr(s, 'gen_ai.request.model');
    var rmodel = attr(s, 'gen_ai.response.model');
    var usage = null;
    if (attr(s, 'gen_ai.usage.input_tokens') !== undefined || attr(s, 'gen_ai.usage.output_tokens') !== undefined) {
      usage = attr(s, 'gen_ai.usage.input_tokens') + ' in / ' + attr(s, 'gen_ai.usage.output_tokens') + ' out';
      var c = attr(s, 'agenttrace.cost.usd');
      if (typeof c === 'number') usage += '   ' + fmtCost(c);
    }
    var ttfc = attr(s, 'gen_ai.response.time_to_first_chunk');
    var res = resources[s.r] || {};
    var http = attr(s, 'url.full');
    if (http !== undefined) {
      http = (attr(s, 'http.request.method') || '') + ' ' + http + '  \u2192 ' +
        (attr(s, 'http.response.status_code') !== undefined ? attr(s, 'http.response.status_code') : 'no response');
    }
    box.appendChild(kvTable([
      ['status', status],
      ['error.type', attr(s, 'error.type')],
      ['kind', s.k + ', ' + s.c],
      ['span', s.s],
      ['trace', s.t],
      ['parent', s.p ? s.p + (s.parent ? '  ' + s.parent.n : '  (not in the file)') : undefined],
      ['start', s.w],
      ['duration', fmtDur(s.e - s.b) + (typeof ttfc === 'number' ? '   (first chunk after ' + fmtDur(ttfc * 1e9) + ')' : '')],
      ['model', model !== undefined ? (attr(s, 'gen_ai.provider.name') || '') + ' ' + model + (rmodel && rmodel !== model ? ' \u2192 ' + rmodel : '') : undefined],
      ['usage', usage],
      ['finish', attr(s, 'gen_ai.response.finish_reasons') ? attr(s, 'gen_ai.response.finish_reasons').join(', ') : undefined],
      ['HTTP', http],
      ['process', res['service.name'] !== undefined ? res['service.name'] + ' pid ' + res['process.pid'] + (res['process.command_line'] ? ': ' + oneLine(res['process.command_line'], 160) : '') : undefined]
    ]));
    var sys = attr(s, 'gen_ai.system_instructions');
    var input = attr(s, 'gen_ai.input.messages');
    if (sys !== undefined || input !== undefined) {
      box.appendChild(el('h3', null, 'Conversation sent'));
      var tr = el('div', 'transcript');
      if (sys !== undefined) messages([{ role: 'system', parts: Array.isArray(sys) ? sys : [sys] }], tr);
      messages(input, tr);
      box.appendChild(tr);
    }
    var output = attr(s, 'gen_ai.output.messages');
    if (output !== undefined) {
      box.appendChild(el('h3', null, 'Model output'));
      var out = el('div', 'transcript');
      messages(output, out);
      box.appendChild(out);
    }
    var defs = attr(s, 'gen_ai.tool.definitions');
    if (Array.isArray(defs)) {
      box.appendChild(el('h3', null, 'Tools offered'));
      box.appendChild(kvTable(defs.map(function (d) {
        return [d.name || d.type || '?', (d.description ? d.description + '\n' : '') + (d.parameters ? JSON.stringify(d.parameters) : '')];
      })));
    }
    [['gen_ai.tool.call.arguments', 'Tool arguments'], ['gen_ai.tool.call.result', 'Tool result'],
     ['agenttrace.http.request.body', 'Request body'], ['agenttrace.http.response.body', 'Response body']
    ].forEach(function (pair) {
      var v = attr(s, pair[0]);
      if (v === undefined) return;
      box.appendChild(el('h3', null, pair[1]));
      box.appendChild(pre(pretty(v)));
    });
    box.appendChild(el('h3', null, 'Attributes'));
    box.appendChild(kvTable(Object.keys(s.a || {}).filter(function (k) {
      return shownApart.indexOf(k) < 0;
    }).map(function (k) { return [k, typeof s.a[k] === 'string' ? s.a[k] : JSON.stringify(s.a[k])]; })));
    box.appendChild(el('h3', null, 'Resource'));
    box.appendChild(kvTable(Object.keys(res).map(function (k) {
      return [k, typeof res[k] === 'string' ? res[k] : JSON.stringify(res[k])];
    })));
    if (Array.isArray(s.ev) && s.ev.length) {
      box.appendChild(el('h3', null, 'Events'));
      s.ev.forEach(function (e) { box.appendChild(pre(JSON.stringify(e, null, 2))); });
    }
    var aside = document.getElementById('detail');
    aside.hidden = false;
    aside.scrollTop = 0;
  }

  function closeDetail() {
    document.getElementById('detail').hidden = true;
    if (selected !== null && rows[selected]) rows[selected].classList.remove('selected');
    selected = null;
  }

  /* ------------------------------------------------------------- events */

  render();

  main.addEventListener('click', function (ev) {
    var row = ev.target.closest('.span-row');
    if (!row) return;
    var s = spans[+row.dataset.i];
    if (ev.target.dataset && ev.target.dataset.caret && s.kids.length) {
      collapsed[s.i] = collapsed[s.i] ? 0 : 1;
      applyView();
      return;
    }
    openDetail(s);
  });
  main.addEventListener('keydown', function (ev) {
    var row = ev.target.closest && ev.target.closest('.span-row');
    if (!row) return;
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      openDetail(spans[+row.dataset.i]);
    }
  });
  document.getElementById('close').addEventListener('click', closeDetail);
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') closeDetail(); });
  document.getElementById('filter').addEventListener('input', applyView);
  document.getElementById('errors-only').addEventListener('change', applyView);
  document.body.dataset.ready = '1';
})();
