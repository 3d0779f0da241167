/**
 * Shapes of the CSM's admin API that another process reads, declared once: the CSM builds them
 * (csm/cluster/views.ts) and the admin console's server and page read them (admin-console/), with
 * what the console's live feed adds on top (its chart history and state).
 */

/** `GET /admin/v1/groups` — one group of a unit */
export interface GroupView {
  key: string;
  unitId: string;
  index: number;
  channelId: number;
  role: 'root' | 'member';
  parent: string | null;
  viewers: number;
  capacity: number;
}

/** `GET /admin/v1/units` — one unit */
export interface UnitView {
  id: string;
  address: string;
  state: string;
  connected: boolean;
  lastHeartbeatAt: number;
  groupsPerUnit: number;
  groupSize: number;
  usedGroups: number;
  viewers: number;
  load: { viewers: number; egressBps: number; cpu: number; rssBytes: number };
  channels: number[];
}

/** The console's chart history: one point per step. */
export interface HistoryPoint {
  /** start of the step, ms since the epoch */
  at: number;
  viewers: number;
  egressBps: number;
}

export interface HistoryDump {
  stepMs: number;
  cluster: HistoryPoint[];
  units: Record<string, HistoryPoint[]>;
}

/** What the console's live feed (`/console/v1/live`) knows of the cluster at one poll. */
export interface LiveState {
  at: number;
  csm: 'reachable' | 'unreachable';
  error: string | null;
  summary: Record<string, unknown> | null;
  /** each unit with its group grid: by index, null = free */
  units: (UnitView & { groups: (GroupView | null)[] })[];
  channels: Record<string, unknown>[];
}
