/** DOM helpers for the console page: elements, group colours, and inline-SVG line charts. */
import type { HistoryPoint } from '../../protocol/admin-api.js';

export type Point = HistoryPoint;

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, children: string | (Node | string)[] = []): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (typeof children === 'string') node.textContent = children;
  else node.append(...children);
  return node;
}

/** free, root (the broadcaster's group), serving viewers, or full */
export function groupClass(group: { role: string; viewers: number; capacity: number } | null): 'free' | 'root' | 'serving' | 'full' {
  if (!group) return 'free';
  if (group.capacity > 0 && group.viewers >= group.capacity) return 'full';
  return group.role === 'root' ? 'root' : 'serving';
}

const SVG = 'http://www.w3.org/2000/svg';
const W = 280;
const H = 70;

/** A line chart of the last hour (inline SVG): x from an hour ago to now, y from 0 to the maximum. */
export function renderChart(title: string, points: Point[], value: (p: Point) => number, format: (v: number) => string): HTMLElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('width', String(W));
  svg.setAttribute('height', String(H));
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  const end = points.at(-1)?.at ?? Date.now();
  const start = end - 3600_000;
  const max = Math.max(1, ...points.map(value));
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', '#1565c0');
  line.setAttribute('stroke-width', '1.5');
  line.setAttribute('points', points.map((p) => `${(((p.at - start) / (end - start)) * W).toFixed(1)},${(H - 2 - (value(p) / max) * (H - 4)).toFixed(1)}`).join(' '));
  svg.append(line);
  const last = points.at(-1);
  if (last) {
    // the newest point as a dot: visible even while the line has a single point
    const dot = document.createElementNS(SVG, 'circle');
    dot.setAttribute('cx', String(W - 2));
    dot.setAttribute('cy', (H - 2 - (value(last) / max) * (H - 4)).toFixed(1));
    dot.setAttribute('r', '2');
    dot.setAttribute('fill', '#1565c0');
    svg.append(dot);
  }
  return el('figure', { class: 'chart' }, [svg as unknown as Node, el('figcaption', {}, `${title}: ${last ? format(value(last)) : '—'} (max ${format(max)})`)]);
}
