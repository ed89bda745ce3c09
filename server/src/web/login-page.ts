/**
 * `/login`: exchanges the one-time token in the link's fragment (never sent to the server in a URL)
 * for a session token, then shows the tenant's live voice state and health over the bus. A minimal
 * page until the moderator console lands; it holds no Discord secret.
 */
import type { Hono } from 'hono';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Promethean Voice Bridge</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:52rem;padding:0 1rem;color:#1d2330}
 h1{font-size:1.3rem} code{background:#eef1f6;padding:0 .3em;border-radius:3px}
 table{border-collapse:collapse;width:100%;margin-top:.5rem} td,th{border-bottom:1px solid #dde2ea;padding:.3rem .4rem;text-align:left;vertical-align:top}
 td:nth-child(n+4){white-space:nowrap}
 .bad{color:#a3241b} .ok{color:#216e39}
</style></head>
<body>
<h1>Promethean Voice Bridge</h1>
<p id="status">Signing in…</p>
<h2>Voice sessions</h2>
<table id="sessions"><thead><tr><th>session</th><th>state</th><th>speakers</th><th>loss</th><th>jitter</th><th>ping</th></tr></thead><tbody></tbody></table>
<script type="module">
const status = document.getElementById('status');
const rows = new Map();
function render(id, cells) {
  let tr = rows.get(id);
  if (!tr) { tr = document.createElement('tr'); rows.set(id, tr); document.querySelector('#sessions tbody').append(tr); }
  tr.replaceChildren(...cells.map((c) => { const td = document.createElement('td'); td.textContent = c; return td; }));
}
async function session() {
  const fromLink = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromLink) {
    history.replaceState(null, '', location.pathname);
    const res = await fetch('/api/session', { method: 'POST', headers: { authorization: 'Bearer ' + fromLink } });
    const body = await res.json();
    if (!res.ok) throw new Error(body.error?.message ?? res.statusText);
    sessionStorage.setItem('promethean.session', JSON.stringify(body));
    return body;
  }
  const saved = sessionStorage.getItem('promethean.session');
  if (saved) return JSON.parse(saved);
  throw new Error('no login token: open the link printed by promethean start');
}
try {
  const s = await session();
  status.innerHTML = 'Signed in as <b></b> of tenant <code></code>.';
  status.querySelector('b').textContent = s.role;
  status.querySelector('code').textContent = s.tenant;
  status.className = 'ok';
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/bus?token=' + encodeURIComponent(s.token));
  ws.onopen = () => {
    for (const intent of ['voice.state.connected', 'voice.health'])
      ws.send(JSON.stringify({ op: 'subscribe', pattern: 'promethean.p.*.t.' + s.tenant + '.' + intent, ref: intent }));
  };
  const state = new Map();
  ws.onmessage = (m) => {
    if (typeof m.data !== 'string') return;
    const env = JSON.parse(m.data);
    if (!env.intent) return;
    const p = env.payload;
    const cur = state.get(p.session_id) ?? {};
    if (env.intent === 'voice.state.connected') cur.speakers = Object.values(p.ssrc_map).join(', ') || '—', cur.status = p.status;
    if (env.intent === 'voice.health') Object.assign(cur, { state: p.state, loss: p.loss_pct.toFixed(1) + ' %', jitter: p.jitter_ms.toFixed(1) + ' ms', ping: p.ping_ms === null ? '—' : p.ping_ms.toFixed(0) + ' ms', speakers: cur.speakers ?? p.speakers.map((x) => x.user_id).join(', ') });
    state.set(p.session_id, cur);
    render(p.session_id, [p.session_id, (cur.status ?? '') + ' ' + (cur.state ?? ''), cur.speakers ?? '', cur.loss ?? '', cur.jitter ?? '', cur.ping ?? '']);
  };
  ws.onclose = (e) => { status.textContent = 'Disconnected from the hub (' + e.code + '). Reload to reconnect.'; status.className = 'bad'; };
} catch (e) {
  status.textContent = String(e.message ?? e);
  status.className = 'bad';
}
</script>
</body></html>`;

export function mountLoginPage(app: Hono<never>): void {
  app.get('/login', (c) => c.html(PAGE));
  app.get('/', (c) => c.redirect('/login'));
}
