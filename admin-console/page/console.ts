/**
 * The admin console's page (README: Admin console, operators): sign-in, then the dashboard — units
 * with their group grids on the left, channels on the right, charts of the last hour, the event log,
 * and the actions (each behind a confirm, sent with the session's CSRF token). Everything shown comes
 * from the server-sent events feed (/console/v1/live: snapshot, state, events, sample); the page
 * never polls. Test hook: `window.onairAdmin`.
 */
import type { GroupView, HistoryDump, UnitView } from '../../protocol/admin-api.js';
import type { LogEvent } from '../../protocol/store/EventLog.js';
import { byId, el, groupClass, renderChart, type Point } from './render.js';

type Group = GroupView;
type Unit = UnitView & { groups: (Group | null)[] };
interface Channel { id: number; title: string; broadcaster: string; viewers: number; maxViewers: number; groups: number; units: string[]; root: { unitId: string } }
interface State { at: number; csm: string; error: string | null; units: Unit[]; channels: Channel[] }

interface AdminHook { connected: boolean; units: number; channels: number; lastUpdateAt: number }
declare global { interface Window { onairAdmin: AdminHook } }

const API = '/console/v1';
const MAX_EVENTS = 500;
const HOUR_MS = 3600_000;
const hook: AdminHook = (window.onairAdmin = { connected: false, units: 0, channels: 0, lastUpdateAt: 0 });

let csrfToken = '';
let csmUrl = '';
let feed: EventSource | null = null;
let state: State = { at: 0, csm: 'unreachable', error: null, units: [], channels: [] };
let events: LogEvent[] = [];
let history: HistoryDump = { stepMs: 5000, cluster: [], units: {} };
let selected: number | null = null;

// ── session ─────────────────────────────────────────────────────────────────────────────────────

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const response = await fetch(`${API}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body), credentials: 'same-origin' });
  const text = await response.text();
  const data = text ? (JSON.parse(text) as unknown) : {};
  if (!response.ok) {
    const error = data as { code?: string; message?: string };
    throw new Error(`${error.code ?? response.status}: ${error.message ?? response.statusText}`);
  }
  return data as T;
}

async function signedIn(session: { user: string; csrfToken: string }): Promise<void> {
  csrfToken = session.csrfToken;
  byId('who').textContent = session.user;
  byId('sign-in').hidden = true;
  byId('dashboard').hidden = false;
  byId('sign-out').hidden = false;
  csmUrl = (await call<{ csmUrl: string }>('GET', '/about')).csmUrl;
  connect();
}

function signedOut(): void {
  feed?.close();
  feed = null;
  hook.connected = false;
  csrfToken = '';
  byId('who').textContent = '';
  byId('sign-in').hidden = false;
  byId('dashboard').hidden = true;
  byId('sign-out').hidden = true;
  setStatus('signed out', '');
}

byId<HTMLFormElement>('sign-in').addEventListener('submit', (e) => {
  e.preventDefault();
  const form = new FormData(e.target as HTMLFormElement);
  byId('sign-in-error').textContent = '';
  call<{ user: string; csrfToken: string }>('POST', '/session', { user: form.get('user'), password: form.get('password') })
    .then(signedIn)
    .catch((error: Error) => (byId('sign-in-error').textContent = error.message.startsWith('ADMIN_ERR_BAD_CREDENTIALS') ? 'Wrong user or password.' : error.message));
});
byId('sign-out').addEventListener('click', () => void call('DELETE', '/session').finally(signedOut));

// ── the feed ────────────────────────────────────────────────────────────────────────────────────

function setStatus(text: string, kind: '' | 'live' | 'down'): void {
  const status = byId('status');
  status.textContent = text;
  status.className = `status ${kind}`;
}

function connect(): void {
  feed?.close();
  feed = new EventSource(`${API}/live`);
  feed.addEventListener('open', () => {
    hook.connected = true;
    setStatus('live', 'live');
  });
  feed.addEventListener('error', () => {
    hook.connected = false;
    setStatus('reconnecting…', 'down');
    // A closed stream after an expired session: the server answered 401, EventSource gives up.
    if (feed?.readyState === EventSource.CLOSED) void call('GET', '/session').then(connect, signedOut);
  });
  feed.addEventListener('snapshot', (m) => {
    const data = JSON.parse((m as MessageEvent<string>).data) as { state: State; events: LogEvent[]; history: HistoryDump };
    events = data.events;
    history = data.history;
    setState(data.state);
    renderEvents();
    renderCharts();
  });
  feed.addEventListener('state', (m) => setState(JSON.parse((m as MessageEvent<string>).data) as State));
  feed.addEventListener('events', (m) => {
    const fresh = (JSON.parse((m as MessageEvent<string>).data) as { events: LogEvent[] }).events;
    events = [...fresh, ...events].slice(0, MAX_EVENTS);
    renderEvents();
  });
  feed.addEventListener('sample', (m) => {
    const sample = JSON.parse((m as MessageEvent<string>).data) as { cluster: Point; units: Record<string, Point> };
    addPoint(history.cluster, sample.cluster);
    for (const [id, point] of Object.entries(sample.units)) addPoint((history.units[id] ??= []), point);
    renderCharts();
    hook.lastUpdateAt = Date.now();
  });
}

function addPoint(series: Point[], point: Point): void {
  if (series.at(-1)?.at === point.at) series[series.length - 1] = point;
  else series.push(point);
  while (series.length > 0 && series[0]!.at < point.at - HOUR_MS) series.shift();
}

function setState(next: State): void {
  state = next;
  if (selected !== null && !state.channels.some((c) => c.id === selected)) selected = null;
  setStatus(state.csm === 'reachable' ? 'live' : `CSM unreachable (${state.error ?? '?'})`, state.csm === 'reachable' ? 'live' : 'down');
  renderUnits();
  renderChannels();
  renderFilters();
  hook.units = state.units.length;
  hook.channels = state.channels.length;
  hook.lastUpdateAt = Date.now();
}

// ── actions ─────────────────────────────────────────────────────────────────────────────────────

const ACTIONS: Record<string, string> = {
  evacuate: 'Evacuate (fail over) unit {}: move its channels and viewers to other units, then leave it draining?',
  drain: 'Drain unit {}: no new channels or groups are placed on it?',
  resume: 'Resume unit {}: it takes new channels and groups again?',
  remove: 'Remove unit {} from the cluster?',
  capacity: 'Set the capacity of unit {} to {groups} groups of {size} viewers (new groups get the new size)?',
  expand: 'Add a group to channel {}?',
  shrink: 'Release the idle groups of channel {}?',
  close: 'Close channel {}: its broadcaster and viewers are disconnected?',
};

/** Ask for a unit's new capacity (groups per unit, viewers per new group); null when cancelled or not a whole number 1..1000. */
function askCapacity(id: string): { groupsPerUnit: number; groupSize: number } | null {
  const unit = state.units.find((u) => u.id === id);
  const ask = (question: string, current: number | undefined): number | null => {
    const answer = window.prompt(question, current === undefined ? '' : String(current));
    if (answer === null) return null;
    const n = Number(answer.trim());
    return Number.isInteger(n) && n >= 1 && n <= 1000 ? n : null;
  };
  const groupsPerUnit = ask(`Groups on unit ${id} (1..1000)`, unit?.groupsPerUnit);
  if (groupsPerUnit === null) return null;
  const groupSize = ask(`Viewers per new group on unit ${id} (1..1000)`, unit?.groupSize);
  if (groupSize === null) return null;
  return { groupsPerUnit, groupSize };
}

function act(kind: 'units' | 'channels', id: string, action: string): void {
  let body: Record<string, number> = action === 'expand' ? { groups: 1 } : {};
  let question = (ACTIONS[action] ?? action).replace('{}', id);
  if (action === 'capacity') {
    const capacity = askCapacity(id);
    if (!capacity) return;
    body = capacity;
    question = question.replace('{groups}', String(capacity.groupsPerUnit)).replace('{size}', String(capacity.groupSize));
  }
  if (!window.confirm(question)) return;
  const result = byId('action-result');
  result.textContent = `${action} ${id}…`;
  call('POST', `/${kind}/${encodeURIComponent(id)}/${action}`, body)
    .then(() => (result.textContent = `${action} ${id}: done`))
    .catch((error: Error) => (result.textContent = `${action} ${id}: refused — ${error.message}`));
}

document.addEventListener('click', (e) => {
  const button = (e.target as Element).closest<HTMLButtonElement>('button[data-action]');
  if (button) {
    e.stopPropagation();
    const { action, unit, channel } = button.dataset;
    if (unit) act('units', unit, action!);
    else if (channel) act('channels', channel, action!);
    return;
  }
  const row = (e.target as Element).closest<HTMLElement>('tr.channel');
  if (row) {
    const id = Number(row.dataset.channelId);
    selected = selected === id ? null : id;
    renderUnits();
    renderChannels();
  }
});

// ── rendering ───────────────────────────────────────────────────────────────────────────────────

const buttons = (attr: 'unit' | 'channel', id: string, actions: string[]): HTMLElement[] =>
  actions.map((action) => el('button', { class: 'act', 'data-action': action, [`data-${attr}`]: id }, action));

function renderUnits(): void {
  byId('units').replaceChildren(
    ...state.units.map((unit) => {
      const link = el('a', { href: `${csmUrl}/admin/v1/units/${encodeURIComponent(unit.id)}`, target: '_blank', rel: 'noopener' }, 'CSM');
      const cells = unit.groups.map((group, index) => {
        const cell = el('span', { class: `cell ${groupClass(group)}`, 'data-group': group?.key ?? `${unit.id}/${index}`, title: group ? `${group.key} channel ${group.channelId} ${group.role} ${group.viewers}/${group.capacity}` : `${unit.id}/${index} free` });
        if (group) cell.dataset.channelId = String(group.channelId);
        if (group && group.channelId === selected) cell.classList.add('highlight');
        return cell;
      });
      return el('div', { class: 'unit', 'data-unit-id': unit.id }, [
        el('h3', {}, [el('span', {}, unit.id), el('span', { class: 'address' }, unit.address), el('span', { class: `state state-${unit.state}` }, unit.state + (unit.connected ? '' : ' (no link)')), link]),
        el('div', { class: 'load' }, `viewers ${unit.load.viewers} · egress ${mbps(unit.load.egressBps)} · CPU ${Math.round(unit.load.cpu * 100)}% · groups ${unit.usedGroups}/${unit.groupsPerUnit} × ${unit.groupSize}`),
        el('div', { class: 'grid' }, cells),
        el('div', {}, buttons('unit', unit.id, ['evacuate', 'drain', 'resume', 'capacity', 'remove'])),
      ]);
    }),
  );
}

function renderChannels(): void {
  const rows = state.channels.map((c) =>
    el('tr', { class: `channel${c.id === selected ? ' selected' : ''}`, 'data-channel-id': String(c.id) }, [
      el('td', {}, String(c.id)), el('td', { class: 'title' }, c.title), el('td', {}, c.broadcaster), el('td', { class: 'viewers' }, String(c.viewers)),
      el('td', {}, String(c.maxViewers)), el('td', {}, String(c.groups)), el('td', { class: 'units' }, c.units.join(', ')),
      el('td', {}, buttons('channel', String(c.id), ['expand', 'shrink', 'close'])),
    ]),
  );
  byId('channels').querySelector('tbody')!.replaceChildren(...rows);
  renderTree();
}

/** The selected channel's tree: its root unit, then the units chained from it (from the groups' parents). */
function renderTree(): void {
  const tree = byId('tree');
  const channel = state.channels.find((c) => c.id === selected);
  if (!channel) return void tree.replaceChildren();
  const groups = state.units.flatMap((u) => u.groups).filter((g): g is Group => g !== null && g.channelId === channel.id);
  const unitOf = new Map(groups.map((g) => [g.key, g.unitId]));
  const children = new Map<string, Set<string>>();
  for (const g of groups) {
    const parentUnit = g.parent ? unitOf.get(g.parent) : undefined;
    if (parentUnit && parentUnit !== g.unitId) {
      const set = children.get(parentUnit) ?? new Set<string>();
      set.add(g.unitId);
      children.set(parentUnit, set);
    }
  }
  const seen = new Set<string>();
  const node = (unitId: string): HTMLElement => {
    seen.add(unitId);
    const count = groups.filter((g) => g.unitId === unitId).length;
    const kids = [...(children.get(unitId) ?? [])].filter((k) => !seen.has(k));
    return el('li', { 'data-unit-id': unitId }, [`${unitId} (${count} group${count === 1 ? '' : 's'})`, ...(kids.length ? [el('ul', {}, kids.map(node))] : [])]);
  };
  tree.replaceChildren(el('strong', {}, `Channel ${channel.id} tree`), el('ul', {}, [node(channel.root.unitId)]));
}

function renderCharts(): void {
  const charts = [
    renderChart('cluster viewers', history.cluster, (p) => p.viewers, String),
    renderChart('cluster egress', history.cluster, (p) => p.egressBps, mbps),
    ...Object.entries(history.units).flatMap(([id, points]) => [
      renderChart(`${id} viewers`, points, (p) => p.viewers, String),
      renderChart(`${id} egress`, points, (p) => p.egressBps, mbps),
    ]),
  ];
  byId('charts').replaceChildren(...charts);
}

function renderFilters(): void {
  fillSelect(byId<HTMLSelectElement>('filter-unit'), [...new Set([...state.units.map((u) => u.id), ...events.flatMap((e) => (e.unitId ? [e.unitId] : []))])].sort());
}

function fillSelect(select: HTMLSelectElement, values: string[]): void {
  const have = [...select.options].map((o) => o.value).slice(1);
  if (have.join('\n') === values.join('\n')) return;
  const current = select.value;
  select.replaceChildren(el('option', { value: '' }, 'all'), ...values.map((v) => el('option', { value: v }, v)));
  select.value = values.includes(current) ? current : '';
}

function renderEvents(): void {
  fillSelect(byId<HTMLSelectElement>('filter-kind'), [...new Set(events.map((e) => e.kind))].sort());
  renderFilters();
  const unit = byId<HTMLSelectElement>('filter-unit').value;
  const channel = byId<HTMLInputElement>('filter-channel').value.trim();
  const kind = byId<HTMLSelectElement>('filter-kind').value;
  const shown = events
    .filter((e) => (!unit || e.unitId === unit) && (!channel || String(e.channelId) === channel) && (!kind || e.kind === kind))
    .slice(0, 200)
    .map((e) =>
      el('li', { 'data-kind': e.kind, ...(e.unitId ? { 'data-unit-id': e.unitId } : {}), ...(e.channelId !== undefined ? { 'data-channel-id': String(e.channelId) } : {}) },
        `${new Date(e.at).toLocaleTimeString()} ${e.kind}${e.unitId ? ` unit=${e.unitId}` : ''}${e.channelId !== undefined ? ` channel=${e.channelId}` : ''}${e.actor ? ` by ${e.actor}` : ''} — ${e.message}`),
    );
  byId('events').replaceChildren(...shown);
}
for (const id of ['filter-unit', 'filter-kind', 'filter-channel']) byId(id).addEventListener('input', renderEvents);

const mbps = (bps: number): string => `${(bps / 1e6).toFixed(2)} Mb/s`;

// ── start: already signed in (a reload)? ────────────────────────────────────────────────────────
call<{ user: string; csrfToken: string }>('GET', '/session').then(signedIn, signedOut);
