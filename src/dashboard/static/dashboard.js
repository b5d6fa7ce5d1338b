// Rotor dashboard: plain DOM, no framework, no build step. Every piece of data
// goes into the page through textContent (never innerHTML), and the page only
// ever receives names, ids, states and dates from the API: never a value.

const api = document.querySelector('meta[name="rotor-api"]')?.getAttribute('content') ?? '/api';
const DAY = 86_400_000;
const KEY_STORAGE = 'rotor-dashboard-key';

const params = new URLSearchParams(location.hash.slice(1));
const pollMs = Math.max(500, Number(params.get('poll')) || 5000);
if (params.has('key')) {
  sessionStorage.setItem(KEY_STORAGE, params.get('key') ?? '');
  params.delete('key');
  // The key leaves the address bar (and so the history) at once.
  history.replaceState(null, '', `${location.pathname}${location.search}${params.size > 0 ? `#${params.toString()}` : ''}`);
}

const $ = (id) => document.getElementById(id);
let selected; // { vaultUrl, name }
let timer;
let lastDrawn = '';
let lastDrawnAt = 0;
let lastRotations = '';

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'className') node.className = value;
    else if (name === 'style') Object.assign(node.style, value);
    else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null) node.append(child);
  return node;
}

function utc(iso) {
  return iso === undefined ? '–' : `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function relative(iso, now) {
  if (iso === undefined) return '';
  const delta = Date.parse(iso) - now;
  const abs = Math.abs(delta);
  const span = abs < 60_000 ? `${Math.round(abs / 1000)} s` : abs < 3_600_000 ? `${Math.round(abs / 60_000)} min` : abs < 2 * DAY ? `${Math.round(abs / 3_600_000)} h` : `${Math.round(abs / DAY)} d`;
  return delta < 0 ? `${span} ago` : `in ${span}`;
}

function duration(fromIso, toIso) {
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  if (!Number.isFinite(ms) || ms < 0) return '–';
  return ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
}

function hostOf(url) {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

async function getJson(path) {
  const key = sessionStorage.getItem(KEY_STORAGE) ?? '';
  const response = await fetch(`${api}${path}`, { headers: { accept: 'application/json', 'x-functions-key': key }, cache: 'no-store' });
  if (response.status === 401 || response.status === 403) throw Object.assign(new Error('The function key was refused.'), { unauthorized: true });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    throw new Error(problem.detail ?? `The API answered ${response.status}.`);
  }
  return response.json();
}

// ---- rendering ---------------------------------------------------------------

function secretButton(secret, label = secret.name) {
  return el('button', { type: 'button', className: 'link', text: label, 'aria-label': `Show rotations of ${secret.name}`, onclick: () => void showRotations(secret, true) });
}

/** Where the focus was, said so that the same control can be found again after a redraw. */
function focusPath() {
  const active = document.activeElement;
  if (active === null || active === document.body) return undefined;
  const section = active.closest('section');
  const siblings = section === null ? [] : [...section.querySelectorAll(active.tagName)];
  return { section: section?.id, label: active.getAttribute('aria-label') ?? active.textContent, index: siblings.indexOf(active), tag: active.tagName };
}

/** Redraws without taking the focus away from a keyboard user: the same control gets it back. */
function preservingFocus(redraw) {
  const before = focusPath();
  redraw();
  if (before === undefined || before.section === undefined || document.activeElement !== document.body) return;
  const candidates = [...($(before.section)?.querySelectorAll(before.tag) ?? [])];
  const again = candidates.find((n) => (n.getAttribute('aria-label') ?? n.textContent) === before.label) ?? candidates[before.index];
  again?.focus();
}

function renderHuman(items, now) {
  const list = $('human-list');
  list.replaceChildren(
    ...(items.length === 0
      ? [el('li', { className: 'empty', text: 'Nothing needs a human.' })]
      : items.map((r) =>
          el(
            'li',
            { className: `card ${r.status === 'RolledBack' ? 'rolledback' : 'failed'}` },
            el('h3', {}, secretButton(r.secret), el('span', { className: 'badge bad', text: r.status })),
            el('p', { text: r.why }),
            el('p', { className: 'meta', text: `Rotation ${r.id}, ended ${utc(r.endedAt)} (${relative(r.endedAt, now)}), at step ${r.step}` }),
          ),
        )),
  );
}

function renderLive(items, now) {
  const body = $('live-table').tBodies[0];
  body.replaceChildren(
    ...(items.length === 0
      ? [el('tr', {}, el('td', { colspan: 4, className: 'empty', text: 'No rotation is running.' }))]
      : items.map((r) =>
          el(
            'tr',
            { 'data-rotation': r.id },
            el('th', { scope: 'row' }, secretButton(r.secret)),
            el('td', {}, el('span', { className: `badge ${r.status === 'RollingBack' ? 'warn' : 'info'}`, text: r.status }), ` ${r.step}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}`),
            el('td', { text: r.waitingFor ?? '' }),
            el('td', { text: `${utc(r.createdAt)} (${relative(r.createdAt, now)})` }),
          ),
        )),
  );
}

function timelineItems(overview, now) {
  const until = now + overview.timelineDays * DAY;
  const rows = [];
  for (const s of overview.secrets) {
    if (s.expiresOn === undefined || Date.parse(s.expiresOn) > until) continue;
    rows.push({ kind: s.managed ? 'managed' : 'unmanaged', label: s.name, where: hostOf(s.vaultUrl), expiresOn: s.expiresOn, nextDue: s.nextDue, secret: s.managed ? s : undefined, rotator: s.rotator });
  }
  for (const c of overview.applications) {
    rows.push({ kind: 'app', label: `${c.appDisplayName ?? c.appId}: ${c.displayName ?? c.keyId}`, where: c.kind === 'app-certificate' ? 'certificate' : 'client secret', expiresOn: c.expiresOn });
  }
  return rows.sort((a, b) => Date.parse(a.expiresOn) - Date.parse(b.expiresOn));
}

function renderTimeline(overview, now) {
  const days = overview.timelineDays;
  $('timeline-days').textContent = String(days);
  const span = days * DAY;
  const pct = (iso) => Math.min(100, Math.max(0, ((Date.parse(iso) - now) / span) * 100));
  const axis = el(
    'li',
    { className: 'axis', 'aria-hidden': 'true' },
    el('span', { className: 'label' }),
    el('span', { className: 'track' }, ...[0, 30, 60, 90].filter((d) => d <= days).map((d) => el('span', { className: 'tick', style: { left: `${(d / days) * 100}%` }, text: d === 0 ? 'now' : `+${d} d` }))),
  );
  const rows = timelineItems(overview, now).map((item) => {
    const overdue = Date.parse(item.expiresOn) <= now;
    const kindText = item.kind === 'managed' ? `managed by Rotor (${item.rotator ?? '?'})` : item.kind === 'unmanaged' ? 'not managed' : 'app registration credential';
    const when = overdue ? `expired ${relative(item.expiresOn, now)}` : `expires ${utc(item.expiresOn)} (${relative(item.expiresOn, now)})`;
    const due = item.nextDue === undefined ? '' : Date.parse(item.nextDue) <= now ? '; rotation due now' : `; next rotation due ${utc(item.nextDue)}`;
    const sentence = `${item.label} (${item.where}), ${kindText}, ${when}${due}`;
    const label = item.secret === undefined ? el('span', { className: 'name', text: item.label }) : secretButton(item.secret, item.label);
    return el(
      'li',
      { className: `row ${item.kind}${overdue ? ' overdue' : ''}` },
      el('span', { className: 'label' }, label, el('span', { className: 'where', text: ` ${item.where}` })),
      el(
        'span',
        { className: 'track', role: 'img', 'aria-label': sentence, title: sentence },
        el(
          'span',
          // Long bars carry their text inside, so it never runs off the track.
          { className: `bar${!overdue && pct(item.expiresOn) > 60 ? ' inside' : ''}`, style: { width: overdue ? '100%' : `${Math.max(1, pct(item.expiresOn))}%` } },
          el('span', { className: 'bar-text', text: when }),
        ),
        item.nextDue === undefined ? undefined : el('span', { className: 'due', style: { left: `${pct(item.nextDue)}%` }, text: '◆' }),
      ),
    );
  });
  $('timeline-rows').replaceChildren(axis, ...(rows.length === 0 ? [el('li', { className: 'empty', text: `Nothing expires within ${days} days.` })] : rows));
}

function renderSecrets(secrets, now) {
  const body = $('secrets-table').tBodies[0];
  body.replaceChildren(
    ...secrets.map((s) => {
      const rotor = s.companionOf !== undefined ? el('span', { className: 'badge companion', text: `Rotor's pending value of ${s.companionOf}` }) : !s.managed ? el('span', { className: 'badge muted', text: 'not managed' }) : s.policy === 'invalid' ? el('span', { className: 'badge bad', text: `invalid policy (${s.rotator ?? '?'})` }) : el('span', { className: 'badge ok', text: s.rotator ?? 'managed' });
      const last = s.active !== undefined ? `${s.active.status}: ${s.active.step}` : s.last === undefined ? 'never' : `${s.last.status} ${relative(s.last.endedAt ?? s.last.createdAt, now)}`;
      const overdue = s.expiresOn !== undefined && Date.parse(s.expiresOn) <= now;
      return el(
        'tr',
        { 'data-secret': s.name, className: overdue ? 'overdue' : undefined },
        el('th', { scope: 'row' }, s.managed ? secretButton(s) : s.name, s.enabled ? undefined : ' (disabled)'),
        el('td', { text: hostOf(s.vaultUrl) }),
        el('td', {}, rotor),
        el('td', { text: s.expiresOn === undefined ? 'no expiry' : `${utc(s.expiresOn)} (${overdue ? 'expired ' : ''}${relative(s.expiresOn, now)})` }),
        el('td', { text: s.nextDue === undefined ? '–' : Date.parse(s.nextDue) <= now ? 'now' : relative(s.nextDue, now) }),
        el('td', { className: 'last', text: last }),
      );
    }),
  );
}

function renderGaps(gaps) {
  $('gaps').hidden = gaps.length === 0;
  $('gaps-list').replaceChildren(...gaps.map((g) => el('li', { text: `${g.source}: ${g.detail}` })));
}

function outcomeClass(outcome) {
  return outcome === 'succeeded' ? 'ok' : outcome === 'failed' ? 'bad' : 'warn';
}

function renderRotation(r, now) {
  const start = Date.parse(r.createdAt);
  const end = Math.max(start + 1, Date.parse(r.endedAt ?? new Date(now).toISOString()), ...r.steps.map((s) => Date.parse(s.endedAt)));
  const at = (iso) => ((Date.parse(iso) - start) / (end - start)) * 100;
  const trigger = `${r.trigger.kind}${r.trigger.reason === undefined ? '' : `: ${r.trigger.reason}`}`;
  const statusClass = r.status === 'Completed' ? 'ok' : r.status === 'Running' ? 'info' : r.status === 'RollingBack' || r.status === 'Skipped' ? 'warn' : 'bad';
  const steps = el(
    'ol',
    { className: 'gantt', 'aria-label': `Steps of rotation ${r.id}` },
    ...r.steps.map((s) => {
      const left = at(s.startedAt);
      const width = Math.max(0.8, at(s.endedAt) - left);
      const text = `${s.step}${s.attempt > 1 ? ` #${s.attempt}` : ''}: ${s.outcome}, ${duration(s.startedAt, s.endedAt)}${s.detail === undefined ? '' : `, ${s.detail}`}${s.error === undefined ? '' : `, ${s.error.code}: ${s.error.message}`}`;
      return el(
        'li',
        { className: `step ${outcomeClass(s.outcome)}` },
        el('span', { className: 'step-name', text: `${s.step}${s.attempt > 1 ? ` #${s.attempt}` : ''}` }),
        el('span', { className: 'step-track' }, el('span', { className: 'step-bar', style: { left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }, title: text })),
        el('span', { className: 'step-text', text: `${s.outcome}, ${duration(s.startedAt, s.endedAt)}${s.error === undefined ? '' : ` (${s.error.code})`}` }),
      );
    }),
  );
  const consumers =
    r.consumers === undefined || r.consumers.length === 0
      ? undefined
      : el(
          'table',
          { className: 'consumers' },
          el('caption', { text: 'Consumer adoption' }),
          el('thead', {}, el('tr', {}, ...['Consumer', 'State', 'Version', 'When', 'Detail'].map((h) => el('th', { scope: 'col', text: h })))),
          el('tbody', {}, ...r.consumers.map((c) => el('tr', {}, el('th', { scope: 'row', text: c.name }), el('td', { text: c.state ?? '–' }), el('td', { text: c.version ?? '–' }), el('td', { text: c.at === undefined ? '–' : utc(c.at) }), el('td', { text: c.detail ?? '' })))),
        );
  return el(
    'article',
    { className: 'rotation', 'data-rotation': r.id, 'data-status': r.status },
    el('h3', {}, el('span', { className: `badge ${statusClass}`, text: r.status }), ` ${utc(r.createdAt)}, ${trigger}${r.dryRun ? ' (dry run)' : ''}`),
    el('p', { className: 'meta', text: `Rotation ${r.id} · ${r.rotator} (${r.strategy}) · ${r.endedAt === undefined ? `running for ${duration(r.createdAt, new Date(now).toISOString())}` : `took ${duration(r.createdAt, r.endedAt)}`}` }),
    r.reason === undefined ? undefined : el('p', { className: 'reason', text: `Reason: ${r.reason}` }),
    r.waitingFor === undefined ? undefined : el('p', { className: 'waiting', text: `Waiting for: ${r.waitingFor}` }),
    steps,
    consumers,
  );
}

async function showRotations(secret, focus) {
  selected = { vaultUrl: secret.vaultUrl, name: secret.name };
  const section = $('rotations');
  section.hidden = false;
  $('rotations-title').textContent = `Rotations of ${secret.name}`;
  await refreshRotations();
  if (focus) section.focus();
}

async function refreshRotations() {
  if (selected === undefined) return;
  const data = await getJson(`/dashboard-data/secrets/${encodeURIComponent(selected.name)}/rotations?vault=${encodeURIComponent(selected.vaultUrl)}`);
  const now = Date.parse(data.asOf);
  const drawn = JSON.stringify({ ...data, asOf: undefined });
  // Ended rotations do not change; a running one is redrawn each time (its span grows).
  if (drawn === lastRotations && data.rotations.every((r) => r.endedAt !== undefined)) return;
  lastRotations = drawn;
  $('rotations-list').replaceChildren(...(data.rotations.length === 0 ? [el('p', { text: 'No rotations yet.' })] : data.rotations.map((r) => renderRotation(r, now))));
}

// ---- loop ----------------------------------------------------------------------

function askForKey(message) {
  $('main').hidden = true;
  $('key-form').hidden = false;
  $('status').textContent = message;
  $('key').focus();
}

async function refresh() {
  clearTimeout(timer);
  try {
    const overview = await getJson('/dashboard-data/overview');
    const now = Date.parse(overview.asOf);
    $('key-form').hidden = true;
    $('main').hidden = false;
    // Unchanged data is not redrawn (relative times are refreshed every half minute).
    const drawn = JSON.stringify({ ...overview, asOf: undefined });
    if (drawn !== lastDrawn || now - lastDrawnAt > 30_000) {
      lastDrawn = drawn;
      lastDrawnAt = now;
      preservingFocus(() => {
        renderHuman(overview.needsHuman, now);
        renderLive(overview.live, now);
        renderTimeline(overview, now);
        renderSecrets(overview.secrets, now);
        renderGaps(overview.gaps);
      });
    }
    await refreshRotations();
    $('status').textContent = `Updated ${utc(overview.asOf).slice(11)} · ${overview.secrets.length} secrets · ${overview.live.length} running · ${overview.needsHuman.length} need a human · refreshes every ${pollMs / 1000} s`;
  } catch (error) {
    if (error.unauthorized) {
      sessionStorage.removeItem(KEY_STORAGE);
      askForKey('The function key was refused. Enter it again.');
      return;
    }
    $('status').textContent = `Could not refresh (${error.message}); retrying.`;
  }
  timer = setTimeout(() => void refresh(), pollMs);
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, $('key').value.trim());
  $('key').value = '';
  void refresh();
});

if (sessionStorage.getItem(KEY_STORAGE) === null) askForKey('Enter the function key to see the dashboard.');
else void refresh();
