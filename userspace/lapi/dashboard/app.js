'use strict';
// Everything shown comes from the LAPI's own routes with the machine's token;
// values go into the page as text (textContent), never as markup.
const token = (document.cookie.match(/(?:^|; )jwt=([^;]*)/) || [])[1] || '';
const auth = { Authorization: 'Bearer ' + token };

async function api(path, opt) {
  const r = await fetch(path, Object.assign({ headers: auth }, opt || {}));
  if (r.status === 401) { location.href = '/dashboard/login'; throw new Error('401'); }
  return r;
}
function cell(tag, text, cls) { const c = document.createElement(tag); c.textContent = text; if (cls) c.className = cls; return c; }
function table(id, head, rows) {
  const t = document.getElementById(id);
  t.replaceChildren();
  const h = document.createElement('tr');
  head.forEach((x) => h.appendChild(cell('th', x)));
  t.appendChild(h);
  rows.forEach((row) => {
    const tr = document.createElement('tr');
    row.forEach((x) => tr.appendChild(x instanceof Node ? (() => { const td = document.createElement('td'); td.appendChild(x); return td; })()
                                                  : cell('td', String(x), typeof x === 'number' ? 'n' : '')));
    tr.dataset.row = row.map((x) => (x instanceof Node ? '' : String(x))).join('|');
    t.appendChild(tr);
  });
}
function topN(map, n) { return [...map.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n); }
function bump(map, k) { map.set(k, (map.get(k) || 0) + 1); }
function active(d) { return !String(d.duration || '').startsWith('-'); }

async function del(id) {
  await api('/v1/decisions/' + encodeURIComponent(id), { method: 'DELETE' });
  await load();
}

async function detail(id) {
  const a = await (await api('/v1/alerts/' + encodeURIComponent(id))).json();
  const box = document.getElementById('detail');
  box.replaceChildren(cell('div', '#' + a.id + ' ' + a.scenario + ' from ' + ((a.source || {}).value || '') + ': ' + (a.message || '')));
  const t = document.createElement('table');
  t.id = 'events';
  box.appendChild(t);
  table('events', ['time', 'event'], (a.events || []).map((e) => [e.timestamp || '',
    (e.meta || []).map((m) => m.key + '=' + m.value).join(' ')]));
}

async function load() {
  const [alerts, data] = await Promise.all([
    api('/v1/alerts?limit=1000').then((r) => r.json()),
    api('/dashboard/data').then((r) => r.json())]);
  const list = Array.isArray(alerts) ? alerts : [];
  const decisions = [], scen = new Map(), src = new Map(), srcInfo = new Map(), byOrigin = new Map();
  const hours = new Array(24).fill(0), now = Date.now();
  for (const a of list) {
    bump(scen, a.scenario);
    const s = a.source || {};
    bump(src, s.value || s.ip || '');
    srcInfo.set(s.value || s.ip || '', [s.cn || '', [s.as_number, s.as_name].filter((x) => x).join(' ')]);
    const h = Math.floor((now - Date.parse(a.created_at || a.stop_at)) / 3600000);
    if (h >= 0 && h < 24) hours[23 - h]++;
    for (const d of a.decisions || []) {
      if (!active(d)) continue;
      decisions.push(d);
      bump(byOrigin, d.origin + '|' + d.type);
    }
  }
  document.getElementById('machine').textContent = data.machine || '';
  document.getElementById('n-alerts').textContent = String(list.length);
  document.getElementById('n-decisions').textContent = String(decisions.length);
  document.getElementById('n-lines').textContent = String(data.detector.lines_read);
  document.getElementById('n-parsed').textContent = String(data.detector.lines_parsed);
  const max = Math.max(1, ...hours), tl = document.getElementById('timeline');
  tl.replaceChildren(...hours.map((n, i) => { const b = cell('div', '', 'bar'); b.style.height = (100 * n / max) + '%'; b.title = (23 - i) + ' h ago: ' + n; return b; }));
  table('scenarios', ['scenario', 'alerts'], topN(scen, 10));
  table('sources', ['source', 'country', 'AS', 'alerts'], topN(src, 10).map(([k, n]) => [k, ...(srcInfo.get(k) || ['', '']), n]));
  table('by-origin', ['origin', 'type', 'decisions'], topN(byOrigin, 20).map(([k, n]) => [...k.split('|'), n]));
  table('drops', ['origin', 'packets', 'bytes'], Object.entries(data.bouncer_drops || {}).sort()
    .map(([o, v]) => [o, v.packet || 0, v.byte || 0]));
  table('decisions', ['id', 'value', 'type', 'origin', 'expires in', ''], decisions.map((d) => {
    const b = cell('button', 'delete');
    b.id = 'del-' + d.id;
    b.addEventListener('click', () => del(d.id));
    return [d.id, d.value, d.type, d.origin, d.duration, b];
  }));
  table('alerts', ['id', 'scenario', 'source', 'at'], list.slice(0, 50).map((a) => {
    const l = cell('a', String(a.id));
    l.id = 'alert-' + a.id;
    l.addEventListener('click', () => detail(a.id));
    return [l, a.scenario, (a.source || {}).value || '', a.created_at || ''];
  }));
  document.body.dataset.loaded = String(Date.now());
}

document.getElementById('logout').addEventListener('click', () => {
  document.cookie = 'jwt=; path=/; max-age=0; SameSite=Strict';
  location.href = '/dashboard/login';
});
load();
