/** How the pages write numbers for people: bitrates, durations, counts. */

/** 850 → "850 kbit/s", 2480 → "2.48 Mbit/s". */
export function formatKbps(kbps: number): string {
  if (!Number.isFinite(kbps) || kbps <= 0) return '0 kbit/s';
  if (kbps < 1000) return `${Math.round(kbps)} kbit/s`;
  return `${(kbps / 1000).toFixed(kbps < 10_000 ? 2 : 1)} Mbit/s`;
}

/** A running time: "0:07", "12:34", "1:02:03". Negative (a clock ahead of ours) counts as 0. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m);
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s).padStart(2, '0')}`;
}

/** 1234 → "1,234" in the reader's locale. */
export function formatCount(n: number): string {
  return Math.max(0, Math.round(n)).toLocaleString();
}
